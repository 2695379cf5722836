//! Link safety against local servers: a short-link server on loopback redirecting through
//! several hops, loops, silent and endless servers, and the addresses that are never asked.

mod expand;
mod safe_browsing;

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the server answers a request with.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A redirect with this status to this `Location`.
    Redirect(u16, String),
    /// 200 with a short body.
    Page,
    /// 405, as some servers answer HEAD.
    MethodNotAllowed,
    /// Reads the request and never answers.
    Silent,
    /// A 200 whose chunked body never ends.
    Endless,
}

/// A server on 127.0.0.1 answering each (method, path) as `route` says, remembering every
/// request it was sent.
#[derive(Debug)]
pub struct Server {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("requests").clone()
    }
}

pub async fn serve(route: impl Fn(&str, &str) -> Reply + Send + Sync + 'static) -> Server {
    let socket = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let port = socket.local_addr().expect("address").port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    let route = Arc::new(route);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = socket.accept().await {
            let seen = seen.clone();
            let route = route.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 8192];
                let Ok(read) = stream.read(&mut buffer).await else {
                    return;
                };
                let request = String::from_utf8_lossy(&buffer[..read]).into_owned();
                let mut words = request.split_whitespace();
                let method = words.next().unwrap_or_default().to_owned();
                let path = words.next().unwrap_or_default().to_owned();
                seen.lock()
                    .expect("requests")
                    .push(format!("{method} {path}"));
                let answer = match route(&method, &path) {
                    Reply::Redirect(status, location) => format!(
                        "HTTP/1.1 {status} Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    ),
                    Reply::Page => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                        .to_owned(),
                    Reply::MethodNotAllowed => {
                        "HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                            .to_owned()
                    }
                    Reply::Silent => {
                        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                        return;
                    }
                    Reply::Endless => {
                        let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
                        if stream.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
                        // Up to 1 GiB, for as long as the client keeps reading.
                        for _ in 0..16 * 1024 {
                            if stream.write_all(chunk.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                        return;
                    }
                };
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    Server { port, requests }
}
