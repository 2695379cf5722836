//! The instagram adapter against its fake: not written yet.
