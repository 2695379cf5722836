//! `/api/v1/posts/{id}/media`: images with alt text on a draft (multipart upload, list,
//! remove), and each image's bytes for anyone who may see the post; plus the signed,
//! expiring `GET /media/{signed}` that Instagram and Threads fetch images from.

use crate::domain::ids::PostId;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::access::Permission;
use crate::domain::media::LARGEST_UPLOAD;
use crate::http::auth::Caller;
use crate::http::extract::ApiPath;
use crate::http::{ApiError, AppState};
use crate::services::media;
use crate::store::MediaRecord;

/// How large an upload's body may be: the largest image any network takes, plus room for
/// the alt text and the multipart framing. Only the upload route has this limit; every other
/// route keeps `http.max_body_bytes`.
pub const UPLOAD_BODY_LIMIT: usize = LARGEST_UPLOAD + 64 * 1024;

/// An image's bytes, as `GET …/media/{media_id}` answers them.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // Documents the answer; the handler sends the stored bytes.
pub struct ImageBytes(Vec<u8>);

/// The multipart form an upload sends: these two parts and no others.
// `Deserialize` only so that `deny_unknown_fields` tells utoipa the form has no other parts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"file": "(the image's bytes)", "alt": "A flat white with a fern drawn in the foam, on the café's oak counter"}))]
#[allow(dead_code)] // Documents the form; the handler reads the parts as they stream in.
pub struct MediaUpload {
    /// The image (PNG, JPEG, GIF or WebP; its type is read from its bytes).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// What the image shows, for people who cannot see it. Required, not blank; at most
    /// 1,000 characters on X, LinkedIn, Facebook, Instagram and Threads, 1,500 on Mastodon,
    /// 2,000 on Bluesky.
    #[schema(min_length = 1, max_length = 2000)]
    alt: String,
}

/// An image attached to a post.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 4, "post_id": 7, "mime": "image/jpeg", "size_bytes": 348211, "width": 1600,
    "height": 1200, "alt": "A flat white with a fern drawn in the foam, on the café's oak counter",
    "position": 0, "sha256": "9f2c1d0e4b7a8c3f5e6d7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d",
    "url": "/api/v1/posts/7/media/4"
}))]
pub struct MediaResponse {
    pub id: i64,
    pub post_id: PostId,
    /// As read from the file's bytes.
    pub mime: String,
    pub size_bytes: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub alt: String,
    pub position: i64,
    pub sha256: String,
    /// Where the image's bytes are served.
    pub url: String,
}

impl From<MediaRecord> for MediaResponse {
    fn from(media: MediaRecord) -> MediaResponse {
        MediaResponse {
            url: format!("/api/v1/posts/{}/media/{}", media.post_id, media.id),
            id: media.id,
            post_id: media.post_id,
            mime: media.mime,
            size_bytes: media.size_bytes,
            width: media.width,
            height: media.height,
            alt: media.alt,
            position: media.position,
            sha256: media.sha256,
        }
    }
}

/// Attaches an image to a draft
///
/// Uploads one image with its alt text to a draft, as `multipart/form-data`; only the post's author
/// may, while it is a draft. The image is checked against the account's network: its type (read from
/// its bytes), its size, how many images a post may carry, and how long the alt text may be.
#[utoipa::path(post, path = "/api/v1/posts/{id}/media", tag = "posts", security(("token" = ["posts:write"]), ("session" = [])), params(("id" = i64, Path)),
    request_body(content = MediaUpload, content_type = "multipart/form-data"),
    responses((status = 201, description = "Attached", body = MediaResponse), (status = 400, description = "Not a multipart form", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not the post's author", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Not a draft", body = crate::http::Problem, content_type = "application/problem+json"), (status = 413, description = "Larger than any network takes", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Not an image, not one the network takes, or no alt text", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<MediaResponse>), ApiError> {
    caller.require(Permission::WritePosts)?;
    // Decided before the body is read, so a caller who may not see the post learns nothing
    // from how the body was refused.
    media::may_attach(&state.store, &caller.user, id).await?;
    let form = form.map_err(|rejection| {
        ApiError::Rejected(
            rejection.status(),
            "send the image as multipart/form-data with a `file` part and an `alt` part".to_owned(),
        )
    })?;
    let (file, alt) = read_form(form).await?;
    let Some(file) = file else {
        return Err(ApiError::Invalid {
            field: "file",
            message: "choose an image file to attach".to_owned(),
        });
    };
    let now = state.clock.now();
    let attached = media::attach(
        &state,
        &caller.user,
        id,
        file,
        alt.as_deref().unwrap_or_default(),
        now,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(attached.into())))
}

/// Lists a post's images
///
/// The post's images in order, with their alt text and where to fetch each. Anyone who may see the
/// post may list them.
#[utoipa::path(get, path = "/api/v1/posts/{id}/media", operation_id = "list_media", tag = "posts", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The images", body = Vec<MediaResponse>), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
) -> Result<Json<Vec<MediaResponse>>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let images = media::list(&state.store, &caller.user, id).await?;
    Ok(Json(images.into_iter().map(MediaResponse::from).collect()))
}

/// Fetches one image
///
/// The image's bytes, typed as read from them when it was uploaded (PNG, JPEG, GIF or WebP). Anyone
/// who may see the post may fetch it.
#[utoipa::path(get, path = "/api/v1/posts/{id}/media/{media_id}", operation_id = "show_media", tag = "posts", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path), ("media_id" = i64, Path)),
    responses((status = 200, description = "The image, typed as read from its bytes", content((ImageBytes = "image/png"), (ImageBytes = "image/jpeg"), (ImageBytes = "image/gif"), (ImageBytes = "image/webp"))), (status = 404, description = "No such post or image", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, media_id)): ApiPath<(PostId, i64)>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let (media, bytes) =
        media::read(&state.store, &state.media, &caller.user, id, media_id).await?;
    Ok(image(&media, bytes))
}

/// Removes an image from a draft
///
/// Removes one image from a draft and deletes its file; only the post's author may, while it is a
/// draft. The post's `version` goes up.
#[utoipa::path(delete, path = "/api/v1/posts/{id}/media/{media_id}", tag = "posts", security(("token" = ["posts:write"]), ("session" = [])), params(("id" = i64, Path), ("media_id" = i64, Path)),
    responses((status = 204, description = "Removed"), (status = 403, description = "Not the post's author", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post or image", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Not a draft", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, media_id)): ApiPath<(PostId, i64)>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    media::remove(&state, &caller.user, id, media_id, now).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /media/{signed}`: the one image a signed, unexpired link names, to anyone holding
/// the link (Instagram and Threads fetch images this way). Anything else is a 404.
pub async fn signed(
    State(state): State<AppState>,
    ApiPath(signed): ApiPath<String>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let (media, bytes) = media::read_signed(&state.store, &state.media, &signed, now).await?;
    Ok(image(&media, bytes))
}

/// The image's bytes, typed as sniffed, never to be reinterpreted by the browser.
fn image(media: &MediaRecord, bytes: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    let mime = HeaderValue::from_str(&media.mime).unwrap_or(HeaderValue::from_static("image/png"));
    headers.insert(header::CONTENT_TYPE, mime);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The `file` and `alt` parts of an upload. Any other part is refused naming it, as a JSON
/// body's unknown field is, so a misspelt `alt` is not taken for a missing one.
async fn read_form(mut form: Multipart) -> Result<(Option<Vec<u8>>, Option<String>), ApiError> {
    let (mut file, mut alt) = (None, None);
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("file") => file = Some(field.bytes().await.map_err(unreadable)?.to_vec()),
            Some("alt") => alt = Some(field.text().await.map_err(unreadable)?),
            other => {
                let name = other.unwrap_or_default().to_owned();
                return Err(ApiError::InvalidBody {
                    message: format!(
                        "an upload has a `file` part and an `alt` part only, not {name:?}"
                    ),
                    field: name,
                });
            }
        }
    }
    Ok((file, alt))
}

fn unreadable(error: MultipartError) -> ApiError {
    let status = error.status();
    let detail = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!("the file is larger than any network takes (at most {LARGEST_UPLOAD} bytes)")
    } else {
        format!("the upload could not be read: {}", error.body_text())
    };
    ApiError::Rejected(status, detail)
}
