//! A fake social network on loopback for Herald's load scripts (`bench/publish.py`): serves
//! one network's fake API and prints its base URL on standard output, then runs until killed.
//! `GET /_fake/stats` tells how many posts it holds and how many write requests it saw.
//!
//! Usage: `herald-fake-network NETWORK TOKEN [PORT]`, NETWORK one of mastodon, x, bluesky,
//! linkedin, facebook, instagram, threads.

use std::sync::Arc;

use axum::Json;
use axum::routing::get;
use networks::fake::{self, FakeServer, FakeState};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(network), Some(token)) = (args.first(), args.get(1)) else {
        return Err(std::io::Error::other(
            "usage: herald-fake-network NETWORK TOKEN [PORT]",
        ));
    };
    let port: u16 = args.get(2).and_then(|port| port.parse().ok()).unwrap_or(0);
    let state = FakeState::new(token, 1);
    let router = match network.as_str() {
        "mastodon" => fake::mastodon::router(state.clone()),
        "x" => fake::x::router(state.clone()),
        "bluesky" => fake::bluesky::router(state.clone()),
        "linkedin" => fake::linkedin::router(state.clone()),
        "facebook" => fake::facebook::router(state.clone()),
        "instagram" => fake::instagram::router(state.clone()),
        "threads" => fake::threads::router(state.clone()),
        other => {
            return Err(std::io::Error::other(format!("unknown network {other:?}")));
        }
    };
    let stats_state = state.clone();
    let router = router.route("/_fake/stats", get(move || stats(stats_state.clone())));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let server = FakeServer::serve(listener, router, state)?;
    #[allow(clippy::print_stdout)] // The load script reads the address from here.
    {
        println!("{}", server.url());
    }
    tokio::signal::ctrl_c().await?;
    drop(server);
    Ok(())
}

async fn stats(state: Arc<FakeState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "posts": state.post_count(),
        "requests": state.requests(),
    }))
}
