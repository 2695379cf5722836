//! The facebook adapter against its fake: not written yet.
