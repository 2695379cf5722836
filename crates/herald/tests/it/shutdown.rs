//! SIGTERM stops `herald serve` gracefully: a request already in flight is still answered,
//! then the process exits cleanly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::helpers::herald;

/// Starts `herald serve` on a free port and returns it with its address and its log lines.
#[allow(clippy::zombie_processes)] // Each test waits for the child with `wait_for_exit`.
fn start_server(dir: &TempDir) -> (Child, String, mpsc::Receiver<String>) {
    let mut child = herald()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .expect("herald starts");
    let stderr = child.stderr.take().expect("stderr piped");
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let Ok(line) = lines.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if let Some(addr) = event["addr"].as_str() {
            return (child, addr.to_owned(), lines);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("herald serve did not report its address");
}

fn signal(child: &Child, name: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

fn wait_for_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("herald did not exit within {within:?}");
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_then_exits_cleanly() {
    let dir = TempDir::new().expect("temporary directory");
    let (mut child, addr, lines) = start_server(&dir);

    let body = serde_json::json!({ "csp-report": { "violated-directive": "img-src" } }).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(&addr).expect("connect");
    write!(
        stream,
        "POST /csp-report HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/csp-report\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    )
    .expect("send the first half");
    // Time for the server to read the headers, so the request is in flight (on a loaded
    // machine 300 ms was sometimes not enough, and an idle connection is simply closed).
    std::thread::sleep(Duration::from_millis(1500));

    signal(&child, "TERM");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "herald waits for the request in flight"
    );

    stream.write_all(rest.as_bytes()).expect("send the rest");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the answer");
    assert!(response.starts_with("HTTP/1.1 204"), "{response}");

    let status = wait_for_exit(&mut child, Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
    let logged: Vec<String> = lines.try_iter().collect();
    assert!(
        logged.iter().any(|line| line.contains("shutdown complete")),
        "{logged:?}"
    );
}

#[test]
fn sigint_stops_an_idle_server_promptly() {
    let dir = TempDir::new().expect("temporary directory");
    let (mut child, _, _) = start_server(&dir);
    signal(&child, "INT");
    let status = wait_for_exit(&mut child, Duration::from_secs(5));
    assert!(status.success(), "exit status {status}");
}
