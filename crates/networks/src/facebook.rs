//! The facebook adapter: not written yet.
