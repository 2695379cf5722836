//! The x adapter against its fake: not written yet.
