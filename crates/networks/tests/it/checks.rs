//! Checks that hold alike for the adapters of networks without an idempotency key: a post the
//! network cannot take is refused before any request, and an answer lost on the way back is
//! reconciled. The fakes draw a fault for each write from a seeded generator, so a test can
//! find the seed that loses the answer to one write and to none before it.

use std::time::Duration;

use networks::fake::{FakePost, FakeServer, FakeState, Fault, Faults};
use networks::{Adapter, Media, NetworkError, Outgoing, Tokens};

/// A seed whose first draws, under `faults`, are `wanted`.
pub fn seed_drawing(faults: Faults, wanted: &[Fault]) -> u64 {
    (0..10_000)
        .find(|seed| {
            let state = FakeState::new("any-token", *seed);
            state.set_faults(faults);
            wanted.iter().all(|fault| state.draw() == *fault)
        })
        .expect("some seed draws that sequence")
}

/// Faults that lose the answer to write number `n` (from one) and to none before it, and the
/// seed that draws them so.
pub fn losing_write(n: usize) -> (u64, Faults) {
    let faults = Faults {
        lost_after: 0.5,
        hang: Duration::from_secs(2),
        ..Faults::default()
    };
    let mut wanted = vec![Fault::None; n - 1];
    wanted.push(Fault::LostAfter);
    (seed_drawing(faults, &wanted), faults)
}

/// Each of `posts` is refused (`Rejected`) before the adapter sends the fake any write.
pub async fn refused_before_any_request(
    adapter: &dyn Adapter,
    server: &FakeServer,
    tokens: &Tokens,
    posts: &[Outgoing],
) {
    for post in posts {
        let error = adapter.publish(tokens, post).await.expect_err("refused");
        assert!(matches!(error, NetworkError::Rejected(_)), "{error:?}");
    }
    assert_eq!(server.state.requests(), 0);
    assert!(server.state.posts().is_empty());
}

/// Publishes `post` to a fake whose faults lose the last write's answer: the outcome is
/// unknown, and once the faults are gone `find` finds the one post the fake made.
pub async fn found_after_a_lost_answer(
    adapter: &dyn Adapter,
    server: &FakeServer,
    tokens: &Tokens,
    post: &Outgoing,
) {
    let error = adapter.publish(tokens, post).await.expect_err("lost");
    assert!(matches!(error, NetworkError::Unknown(_)), "{error:?}");
    server.state.set_faults(Faults::default());
    let found = adapter
        .find(tokens, post)
        .await
        .expect("find")
        .expect("the post was made");
    let posts = server.state.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(found.remote_id, posts[0].id);
}

/// `count` images of type `mime`, "Loaf number 1" and on, each at a public address, as
/// Instagram and Threads fetch them.
pub fn loaves(count: usize, mime: &str) -> Vec<Media> {
    let extension = mime.strip_prefix("image/").unwrap_or("bin");
    (1..=count)
        .map(|n| Media {
            bytes: vec![0xFF, 0xD8, 0xFF, 1, 2, 3],
            mime: mime.to_owned(),
            alt: format!("Loaf number {n}"),
            public_url: Some(format!("https://herald.example/media/{n}.{extension}")),
        })
        .collect()
}

/// Publishes `post`, which holds three [`loaves`], to Instagram or Threads: the one post the
/// fake then holds is a `CAROUSEL` of three children with the loaves' alt texts in order,
/// made in five writes (three item containers, the carousel, the publish).
pub async fn published_as_a_carousel_of_three(
    adapter: &dyn Adapter,
    server: &FakeServer,
    tokens: &Tokens,
    post: &Outgoing,
) -> FakePost {
    let published = adapter.publish(tokens, post).await.expect("published");
    let held = server.state.posts();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].id, published.remote_id);
    assert_eq!(held[0].text, post.text);
    assert_eq!(held[0].extra["media_type"], "CAROUSEL");
    assert_eq!(held[0].extra["children"].as_array().map(Vec::len), Some(3));
    let alts: Vec<&str> = held[0].media.iter().map(|(alt, _)| alt.as_str()).collect();
    assert_eq!(alts, ["Loaf number 1", "Loaf number 2", "Loaf number 3"]);
    assert_eq!(
        server.state.requests(),
        5,
        "three items, the carousel, the publish"
    );
    held[0].clone()
}
