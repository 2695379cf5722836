//! The bluesky adapter against its fake: not written yet.
