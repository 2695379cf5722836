//! The hardened client against listeners on this machine: a strict client never connects to
//! them, whether the URL names the address or a name that resolves to it; an answer over the
//! size cap is refused without being read to its end; a redirect is not followed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use networks::mastodon::Mastodon;
use networks::outbound::REFUSED_ADDRESS;
use networks::{Endpoint, NetworkError, Outbound};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What a [`Listener`] answers every connection with.
#[derive(Clone, Copy)]
enum Reply {
    /// These bytes, then it closes the connection.
    Bytes(&'static str),
    /// A 200 whose chunked body never ends (up to [`ENDLESS`] bytes).
    Endless,
}

/// How much an endless answer offers at most.
const ENDLESS: usize = 256 * 1024 * 1024;

/// A listener on 127.0.0.1 that counts the connections it is given and the body bytes it
/// managed to write.
struct Listener {
    port: u16,
    connections: Arc<AtomicUsize>,
    written: Arc<AtomicUsize>,
}

async fn listen(reply: Reply) -> Listener {
    let socket = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let port = socket.local_addr().expect("address").port();
    let connections = Arc::new(AtomicUsize::new(0));
    let written = Arc::new(AtomicUsize::new(0));
    let (count, bytes) = (connections.clone(), written.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = socket.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let bytes = bytes.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 8192];
                let _ = stream.read(&mut request).await;
                match reply {
                    Reply::Bytes(text) => {
                        let _ = stream.write_all(text.as_bytes()).await;
                    }
                    Reply::Endless => {
                        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                                    transfer-encoding: chunked\r\n\r\n";
                        if stream.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
                        while bytes.load(Ordering::SeqCst) < ENDLESS {
                            if stream.write_all(chunk.as_bytes()).await.is_err() {
                                return;
                            }
                            bytes.fetch_add(0x10000, Ordering::SeqCst);
                        }
                    }
                }
            });
        }
    });
    Listener {
        port,
        connections,
        written,
    }
}

fn mastodon_at(url: &str, outbound: Outbound) -> Mastodon {
    Mastodon::new(Endpoint::new(url, outbound, None))
}

fn strict() -> Outbound {
    Outbound::new(Duration::from_secs(5))
}

fn refused() -> NetworkError {
    NetworkError::Rejected(REFUSED_ADDRESS.to_owned())
}

#[tokio::test]
async fn a_strict_client_never_connects_to_this_machine_however_it_is_named() {
    let listener = listen(Reply::Bytes(
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}",
    ))
    .await;
    let port = listener.port;
    for url in [
        format!("http://127.0.0.1:{port}"),
        format!("http://127.1:{port}"),
        format!("http://2130706433:{port}"),
        format!("http://[::ffff:127.0.0.1]:{port}"),
        // A name is resolved once, by Herald, and its loopback answer refused: the name
        // could as well be a public one whose DNS answers 127.0.0.1 the second time.
        format!("http://localhost:{port}"),
        format!("https://localhost:{port}"),
    ] {
        let answer = mastodon_at(&url, strict())
            .register_app("Herald", "https://herald.example/oauth/callback")
            .await;
        assert_eq!(answer.err(), Some(refused()), "{url}");
    }
    assert_eq!(
        listener.connections.load(Ordering::SeqCst),
        0,
        "nothing reached the listener"
    );
    // The same listener is reached when private addresses are allowed.
    let allowed = crate::local(Duration::from_secs(5));
    let answer = mastodon_at(&format!("http://localhost:{port}"), allowed)
        .register_app("Herald", "https://herald.example/oauth/callback")
        .await;
    assert!(answer.is_err(), "an empty object is not an application");
    assert_eq!(listener.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_answer_over_the_size_cap_is_refused_without_being_read_to_its_end() {
    let listener = listen(Reply::Endless).await;
    let url = format!("http://127.0.0.1:{}", listener.port);
    let outbound = crate::local(Duration::from_secs(20));
    let started = std::time::Instant::now();
    let answer = mastodon_at(&url, outbound)
        .register_app("Herald", "https://herald.example/oauth/callback")
        .await;
    assert_eq!(
        answer.err(),
        Some(NetworkError::Unknown(
            "the answer was larger than Herald reads".to_owned()
        ))
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let written = listener.written.load(Ordering::SeqCst);
    assert!(
        written < networks::outbound::MAX_BODY_BYTES + 32 * 1024 * 1024,
        "the server wrote {written} bytes: Herald kept reading past its cap"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    // A length announced over the cap is refused before any of the body is read.
    let announced = listen(Reply::Bytes(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000000000\r\n\r\n{",
    ))
    .await;
    let url = format!("http://127.0.0.1:{}", announced.port);
    let answer = mastodon_at(&url, crate::local(Duration::from_secs(5)))
        .register_app("Herald", "https://herald.example/oauth/callback")
        .await;
    assert_eq!(
        answer.err(),
        Some(NetworkError::Unknown(
            "the answer was larger than Herald reads".to_owned()
        ))
    );
}

#[tokio::test]
async fn a_smaller_cap_is_kept_too() {
    let listener = listen(Reply::Bytes(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n\
         400\r\n",
    ))
    .await;
    let url = format!("http://127.0.0.1:{}", listener.port);
    let outbound = Outbound {
        max_body_bytes: 16,
        ..crate::local(Duration::from_secs(5))
    };
    let answer = mastodon_at(&url, outbound)
        .register_app("Herald", "https://herald.example/oauth/callback")
        .await;
    assert!(answer.is_err());
}

#[tokio::test]
async fn a_redirect_to_another_address_is_not_followed() {
    let target = listen(Reply::Bytes(
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}",
    ))
    .await;
    let location: &'static str = Box::leak(
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:{}/api/v1/apps\r\n\
             content-length: 0\r\n\r\n",
            target.port
        )
        .into_boxed_str(),
    );
    let redirecting = listen(Reply::Bytes(location)).await;
    let url = format!("http://127.0.0.1:{}", redirecting.port);
    let answer = mastodon_at(&url, crate::local(Duration::from_secs(5)))
        .register_app("Herald", "https://herald.example/oauth/callback")
        .await;
    assert!(
        matches!(answer, Err(NetworkError::Rejected(_))),
        "{answer:?}"
    );
    assert_eq!(redirecting.connections.load(Ordering::SeqCst), 1);
    assert_eq!(
        target.connections.load(Ordering::SeqCst),
        0,
        "the redirect was not followed"
    );
}

#[tokio::test]
async fn a_client_that_follows_redirects_checks_every_hop() {
    let target = listen(Reply::Bytes(
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}",
    ))
    .await;
    let redirect = |location: String| -> &'static str {
        Box::leak(
            format!("HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n")
                .into_boxed_str(),
        )
    };
    let port = target.port;
    let allowed = crate::local(Duration::from_secs(5));

    // A hop the check refuses (here: a password in it) is not taken.
    let refused_hop = listen(Reply::Bytes(redirect(format!(
        "http://user:pw@127.0.0.1:{port}/"
    ))))
    .await;
    let error = allowed
        .client_following(3)
        .get(format!("http://127.0.0.1:{}/", refused_hop.port))
        .send()
        .await
        .expect_err("the hop is refused");
    assert!(networks::outbound::is_refused(&error), "{error:?}");
    assert_eq!(target.connections.load(Ordering::SeqCst), 0);

    // A hop that passes is taken.
    let fine_hop = listen(Reply::Bytes(redirect(format!("http://127.0.0.1:{port}/")))).await;
    let answer = allowed
        .client_following(3)
        .get(format!("http://127.0.0.1:{}/", fine_hop.port))
        .send()
        .await
        .expect("followed");
    assert_eq!(answer.status(), 200);
    assert_eq!(target.connections.load(Ordering::SeqCst), 1);
}
