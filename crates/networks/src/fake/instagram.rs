//! The fake instagram: not written yet.
