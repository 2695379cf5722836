//! The fake threads: not written yet.
