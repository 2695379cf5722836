//! The linkedin adapter against its fake: not written yet.
