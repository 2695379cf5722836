//! The threads adapter against its fake: not written yet.
