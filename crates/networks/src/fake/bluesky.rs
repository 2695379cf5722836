//! The fake bluesky: not written yet.
