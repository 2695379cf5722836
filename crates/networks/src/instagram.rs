//! The instagram adapter: not written yet.
