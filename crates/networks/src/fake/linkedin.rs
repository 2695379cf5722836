//! The fake linkedin: not written yet.
