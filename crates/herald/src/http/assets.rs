//! The stylesheet and icon, compiled into the binary so Herald needs no CDN and no files
//! beside it. URLs carry a content hash, so browsers may cache them for a long time.

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "herald.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../assets/herald.css"),
    },
    Asset {
        name: "password.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/password.js"),
    },
    Asset {
        name: "passkeys.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/passkeys.js"),
    },
    Asset {
        name: "layout.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/layout.js"),
    },
    Asset {
        name: "draft.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/draft.js"),
    },
    Asset {
        name: "calendar.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/calendar.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_str!("../../assets/favicon.svg"),
    },
];

/// The URL of an asset, with a hash of its content so that a new release is fetched afresh.
pub fn url(name: &str) -> String {
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => format!("/assets/{name}?v={}", etag(asset.body)),
        None => format!("/assets/{name}"),
    }
}

pub async fn serve(Path(file): Path<String>, request_headers: HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == file) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let tag = format!("\"{}\"", etag(asset.body));
    let cache = [
        (header::CACHE_CONTROL, "public, max-age=604800".to_owned()),
        (header::ETAG, tag.clone()),
    ];
    let unchanged = request_headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|given| given.as_bytes() == tag.as_bytes());
    if unchanged {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [(header::CONTENT_TYPE, asset.content_type)],
        asset.body,
    )
        .into_response()
}

/// FNV-1a of the content, in hex: not a security measure, only a cache key.
fn etag(body: &str) -> String {
    let hash = body.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}
