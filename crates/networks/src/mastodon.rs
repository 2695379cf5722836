//! The mastodon adapter: not written yet.
