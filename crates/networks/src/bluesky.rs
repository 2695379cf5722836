//! The bluesky adapter: not written yet.
