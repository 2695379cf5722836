//! The fake mastodon: not written yet.
