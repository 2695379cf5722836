//! The mastodon adapter against its fake: not written yet.
