//! The fake facebook: not written yet.
