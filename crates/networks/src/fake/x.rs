//! The fake x: not written yet.
