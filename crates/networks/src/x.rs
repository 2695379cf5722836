//! The x adapter: not written yet.
