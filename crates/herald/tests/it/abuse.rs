//! Herald under abuse, as an attacker on the network would try it: connections that never
//! finish their headers (slowloris).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::spawn_app_with;

const HALF_OPEN: usize = 5_000;
const HEADER_TIMEOUT_SECONDS: u64 = 2;

#[tokio::test]
async fn five_thousand_half_open_connections_neither_stop_healthz_nor_stay_open() {
    let app = spawn_app_with(|config| {
        config.http.header_read_timeout_seconds = HEADER_TIMEOUT_SECONDS;
    })
    .await;
    let mut half_open = Vec::with_capacity(HALF_OPEN);
    let opened = Instant::now();
    for _ in 0..HALF_OPEN / 100 {
        let mut batch = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let addr = app.addr;
            batch.spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                // Headers begun and never finished.
                stream
                    .write_all(b"GET /healthz HTTP/1.1\r\nHost: herald.example\r\nX-Slow: ")
                    .await
                    .expect("write");
                stream
            });
        }
        while let Some(stream) = batch.join_next().await {
            half_open.push(stream.expect("task"));
        }
    }

    // A fresh client is answered at once, while all of them hang on.
    let mut latencies = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let answer = reqwest::Client::new()
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("healthz answers");
        assert_eq!(answer.status(), reqwest::StatusCode::OK);
        latencies.push(started.elapsed());
    }
    latencies.sort();
    assert!(
        latencies[2] < Duration::from_millis(100),
        "median /healthz took {:?} with {HALF_OPEN} half-open connections",
        latencies[2]
    );

    // Every half-open connection is closed by the server within the header timeout (counted
    // from when it was opened, with a second's margin for a busy machine).
    let deadline = opened + Duration::from_secs(HEADER_TIMEOUT_SECONDS + 1) + opened.elapsed();
    let mut closed = 0;
    for mut stream in half_open {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut byte = [0u8; 1];
        match tokio::time::timeout(left.max(Duration::from_millis(1)), stream.read(&mut byte)).await
        {
            // End of stream, a reset, or an answer (a 408) and then the end.
            Ok(Ok(0) | Err(_)) => closed += 1,
            Ok(Ok(_)) => {
                let mut rest = Vec::new();
                if stream.read_to_end(&mut rest).await.is_ok() {
                    closed += 1;
                }
            }
            Err(_) => {}
        }
    }
    assert_eq!(closed, HALF_OPEN, "connections the server left open");
}
