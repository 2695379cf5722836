//! The linkedin adapter: not written yet.
