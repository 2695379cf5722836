//! The threads adapter: not written yet.
