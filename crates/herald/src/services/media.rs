//! Images on posts as the composer, the API and the publisher use them: attach one to a
//! draft (its type sniffed from the bytes, checked against the account's network, alt text
//! required), list and remove them, read them back for anyone who may see the post, check a
//! post's images before it is submitted, and hand them to the publisher.
//!
//! Files live under `<data_dir>/media/` with random names, mode 0600, written to a temporary
//! file and renamed so a half-written image is never seen. The database row holds what the
//! file is and its SHA-256, checked whenever the file is read. The database also names a file
//! as pending before it is written and while it is being deleted, so the daily sweep can
//! finish what a crash interrupted without ever touching a file the database does not know
//! of. Networks that fetch images themselves (Instagram, Threads) get a signed link that
//! expires (`GET /media/{signed}`).

use crate::domain::ids::PostId;
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::config::Config;
use crate::data_dir::MasterKey;
use crate::domain::access::AccountAction;
use crate::domain::accounts::Network;
use crate::domain::media::{self, Attached, ImageType, MediaProblem, NewImage};
use crate::domain::posts::PostState;
use crate::services::audit::record_for_post;
use crate::services::posts;
use crate::services::{AppError, Entity, Services};
use crate::store::{
    MediaAttached, MediaRecord, NewMedia, PostRecord, Store, StoreError, UserRecord,
};

/// How long a signed link to an image works: long enough for a network to fetch it while
/// Herald publishes, short enough that a leaked link soon stops working.
pub const SIGNED_LINK_LIFETIME: SignedDuration = SignedDuration::from_hours(1);

/// How long a file stays pending before the sweep deletes it. Attaching writes the file a
/// moment before its row, so a younger pending file may be one on its way in.
pub const ORPHAN_AGE: SignedDuration = SignedDuration::from_hours(1);

/// The length of Herald's image file names, in hex digits (128 random bits).
const NAME_HEX: usize = 32;

/// Where images are kept, and the key that signs links to them. Cheap to clone.
#[derive(Clone)]
pub struct Library {
    dir: PathBuf,
    public_url: Option<String>,
    link_key: Arc<Zeroizing<[u8; 32]>>,
}

impl fmt::Debug for Library {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Library")
            .field("dir", &self.dir)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl Library {
    pub fn new(config: &Config, master: &MasterKey) -> Library {
        Library {
            dir: config.data_dir.join("media"),
            public_url: config.public_url.clone(),
            link_key: Arc::new(master.derive("media link signing")),
        }
    }

    /// A link anyone can fetch image `id` from until `now` + [`SIGNED_LINK_LIFETIME`], or
    /// `None` when Herald has no public address.
    pub fn signed_url(&self, id: i64, now: Timestamp) -> Option<String> {
        let base = self.public_url.as_deref()?.trim_end_matches('/');
        let expires = now.as_second() + SIGNED_LINK_LIFETIME.as_secs();
        let signature = URL_SAFE_NO_PAD.encode(self.mac(id, expires)?.finalize().into_bytes());
        Some(format!("{base}/media/{id}.{expires}.{signature}"))
    }

    /// The image id a signed link names, if its signature holds and it has not expired.
    pub fn verify(&self, signed: &str, now: Timestamp) -> Option<i64> {
        let mut parts = signed.splitn(3, '.');
        let id: i64 = parts.next()?.parse().ok()?;
        let expires: i64 = parts.next()?.parse().ok()?;
        let signature = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
        self.mac(id, expires)?.verify_slice(&signature).ok()?;
        (now.as_second() < expires).then_some(id)
    }

    /// HMAC-SHA256 over the id and expiry (HMAC takes keys of any length, so this is
    /// always `Some`).
    fn mac(&self, id: i64, expires: i64) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.link_key.as_slice()).ok()?;
        mac.update(format!("herald media link\0{id}\0{expires}").as_bytes());
        Some(mac)
    }

    async fn write(&self, name: String, bytes: Arc<Vec<u8>>) -> io::Result<()> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || write_file(&dir, &name, &bytes))
            .await
            .map_err(io::Error::other)?
    }

    /// Deletes the image files the database still has pending after [`ORPHAN_AGE`]: files
    /// left by a crash between writing an image and saving its row, by a delete that failed,
    /// and their half-written `.partial` forms. Files the database does not name are never
    /// touched. Returns how many pending files were settled. A file that cannot be deleted is
    /// logged and stays pending.
    pub async fn sweep(&self, store: &Store, now: Timestamp) -> Result<usize, StoreError> {
        let before = now.saturating_sub(ORPHAN_AGE).unwrap_or(now);
        let mut swept = 0;
        for name in store.media_files_pending_since(before).await? {
            // Claimed first: an attach whose row was not yet saved now fails instead of
            // saving a row for a file about to go; a name a row holds is only settled.
            if !store.claim_pending_media_file(&name, before).await? {
                continue;
            }
            let Ok(path) = self.path(&name) else {
                tracing::warn!(file = %name, "a pending image file name Herald never writes; forgotten");
                continue;
            };
            if delete_file(&path).await && delete_file(&partial_path(&self.dir, &name)).await {
                swept += 1;
            } else {
                store.media_file_pending(&name, now).await?;
            }
        }
        Ok(swept)
    }

    async fn read(&self, media: &MediaRecord) -> Result<Vec<u8>, AppError> {
        let path = self.path(&media.file_name)?;
        let bytes = tokio::fs::read(&path).await.map_err(|error| {
            AppError::Internal(format!("cannot read image {}: {error}", media.id))
        })?;
        if hex::encode(Sha256::digest(&bytes)) != media.sha256 {
            return Err(AppError::Internal(format!(
                "image {}'s file does not match its checksum",
                media.id
            )));
        }
        Ok(bytes)
    }

    /// Deletes a file Herald no longer holds. Whatever fails here (the delete, or recording
    /// that it is done) leaves the file pending, and the sweep finishes the job later.
    async fn discard(&self, store: &Store, file_name: &str) {
        let Ok(path) = self.path(file_name) else {
            return;
        };
        if delete_file(&path).await
            && let Err(error) = store.media_file_settled(file_name).await
        {
            tracing::warn!(%error, file = file_name, "an image file stays pending for the sweep");
        }
    }

    /// The file's path; names are Herald's own random hex, so anything else is refused.
    fn path(&self, file_name: &str) -> Result<PathBuf, AppError> {
        if file_name.len() != NAME_HEX
            || !file_name
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(AppError::Internal(format!(
                "an image has an unexpected file name {file_name:?}"
            )));
        }
        Ok(self.dir.join(file_name))
    }
}

/// Attaches an image to a draft (its author only). The type comes from the bytes; the
/// account's network must accept it, and the alt text is required.
pub async fn attach(
    services: &Services,
    actor: &UserRecord,
    post_id: PostId,
    bytes: Vec<u8>,
    alt: &str,
    now: Timestamp,
) -> Result<MediaRecord, AppError> {
    let Services { store, .. } = services;
    let library = &services.media;
    let (post, visible) = open_draft(store, actor, post_id).await?;
    let network = visible.account.network;
    let sniffed = media::sniff(&bytes).map_err(invalid)?;
    let already = store.post_media(post.id).await?.len();
    let image = NewImage {
        kind: sniffed.kind,
        size: bytes.len(),
        alt,
        already,
        public_url_set: library.public_url.is_some(),
    };
    let alt = media::check_new(network, image).map_err(invalid)?;
    let size = bytes.len();
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let file_name = new_file_name();
    store.media_file_pending(&file_name, now).await?;
    if let Err(error) = library.write(file_name.clone(), Arc::new(bytes)).await {
        library.discard(store, &file_name).await;
        return Err(AppError::Internal(format!(
            "cannot store the image: {error}"
        )));
    }
    let new = NewMedia {
        post_id: post.id,
        file_name: &file_name,
        sha256: &sha256,
        mime: sniffed.kind.mime(),
        size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
        width: sniffed.width.map(i64::from),
        height: sniffed.height.map(i64::from),
        alt,
    };
    let most = media::limits(network).most_images;
    let work = store.write().await?;
    let attached = match work.attach_media(&new, most, now).await {
        Ok(MediaAttached::Done(record)) => record,
        // The sweep took the file first (it was pending for over an hour).
        Ok(MediaAttached::Swept) => {
            return Err(AppError::Conflict(
                "the upload took too long and was discarded; attach the image again".to_owned(),
            ));
        }
        // The row may have been saved all the same (an answer lost after the commit): the
        // file stays pending, and the sweep deletes it only if no row holds it.
        Err(error) => return Err(error.into()),
        Ok(refused) => {
            drop(work);
            library.discard(store, &file_name).await;
            return Err(match refused {
                MediaAttached::Full => invalid(MediaProblem::TooMany {
                    network: network.label(),
                    limit: most,
                }),
                _ => not_a_draft(),
            });
        }
    };
    let details = serde_json::json!({ "media": attached.id, "mime": attached.mime, "size": size });
    record_for_post(&work, now, actor, "post.media_attached", post.id, details).await?;
    work.commit().await?;
    Ok(attached)
}

/// Whether `actor` may attach images to post `post_id` now: its author, while a draft.
pub async fn may_attach(
    store: &Store,
    actor: &UserRecord,
    post_id: PostId,
) -> Result<(), AppError> {
    open_draft(store, actor, post_id).await.map(|_| ())
}

/// A post's images, for anyone who may see the post.
pub async fn list(
    store: &Store,
    actor: &UserRecord,
    post_id: PostId,
) -> Result<Vec<MediaRecord>, AppError> {
    posts::open(store, actor, post_id, AccountAction::View).await?;
    Ok(store.post_media(post_id).await?)
}

/// One image and its bytes, for anyone who may see the post.
pub async fn read(
    store: &Store,
    library: &Library,
    actor: &UserRecord,
    post_id: PostId,
    media_id: i64,
) -> Result<(MediaRecord, Vec<u8>), AppError> {
    posts::open(store, actor, post_id, AccountAction::View).await?;
    let media = store
        .media(media_id)
        .await?
        .filter(|media| media.post_id == post_id)
        .ok_or_else(|| no_image(media_id))?;
    let bytes = library.read(&media).await?;
    Ok((media, bytes))
}

/// The image a signed link names, if the link holds. Anything else is simply not there.
pub async fn read_signed(
    store: &Store,
    library: &Library,
    signed: &str,
    now: Timestamp,
) -> Result<(MediaRecord, Vec<u8>), AppError> {
    let gone = || AppError::not_found(Entity::Image, "there is no such image");
    let id = library.verify(signed, now).ok_or_else(gone)?;
    let media = store.media(id).await?.ok_or_else(gone)?;
    let bytes = library.read(&media).await?;
    Ok((media, bytes))
}

/// Removes an image from a draft (its author only).
pub async fn remove(
    services: &Services,
    actor: &UserRecord,
    post_id: PostId,
    media_id: i64,
    now: Timestamp,
) -> Result<(), AppError> {
    let Services { store, .. } = services;
    let library = &services.media;
    let (post, _) = open_draft(store, actor, post_id).await?;
    let work = store.write().await?;
    let removed = match work.remove_media(post.id, media_id, now).await? {
        None => return Err(no_image(media_id)),
        Some(None) => return Err(not_a_draft()),
        Some(Some(removed)) => removed,
    };
    let details = serde_json::json!({ "media": media_id });
    record_for_post(&work, now, actor, "post.media_removed", post.id, details).await?;
    work.commit().await?;
    // The file goes once no row holds it any more.
    library.discard(store, &removed.file_name).await;
    Ok(())
}

/// Refuses a post whose images `network` would not take (none where one is needed, or a
/// type, size, count or alt text over its limits), naming the image and the limit.
pub async fn check_post(store: &Store, network: Network, post_id: PostId) -> Result<(), AppError> {
    let records = store.post_media(post_id).await?;
    let images: Vec<Attached<'_>> = records
        .iter()
        .map(|record| Attached {
            kind: ImageType::from_mime(&record.mime).unwrap_or(ImageType::Png),
            size: usize::try_from(record.size_bytes).unwrap_or(usize::MAX),
            alt: &record.alt,
        })
        .collect();
    media::check_post(network, &images).map_err(|(which, problem)| {
        let message = match records.get(which.wrapping_sub(1)) {
            Some(record) => format!("image {which} ({}): {problem}", short(&record.alt)),
            None => problem.to_string(),
        };
        AppError::Invalid {
            field: "media",
            message,
        }
    })
}

/// The post's images as the network adapter takes them, in order. Instagram and Threads get
/// a signed link when Herald has a public address. The error is a reason for the post's
/// history.
pub async fn for_publishing(
    services: &Services,
    post: &PostRecord,
    network: Network,
    now: Timestamp,
) -> Result<Vec<networks::Media>, String> {
    let records = services
        .store
        .post_media(post.id)
        .await
        .map_err(|error| format!("Herald could not read the post's images: {error}"))?;
    let library = &services.media;
    let by_url = media::limits(network).fetches_by_url;
    let mut out = Vec::with_capacity(records.len());
    for (index, record) in records.into_iter().enumerate() {
        let bytes = library
            .read(&record)
            .await
            .map_err(|error| format!("image {} could not be read: {error}", index + 1))?;
        let public_url = match by_url {
            true => library.signed_url(record.id, now),
            false => None,
        };
        out.push(networks::Media {
            bytes,
            mime: record.mime,
            alt: record.alt,
            public_url,
        });
    }
    Ok(out)
}

/// The draft and its account, if `actor` wrote it.
async fn open_draft(
    store: &Store,
    actor: &UserRecord,
    post_id: PostId,
) -> Result<(PostRecord, crate::services::accounts::Visible), AppError> {
    let (post, visible) = posts::open(store, actor, post_id, AccountAction::Draft).await?;
    if post.author_id != actor.id {
        return Err(AppError::Denied(
            "only the post's author can add or remove its images".to_owned(),
        ));
    }
    if post.state != PostState::Draft {
        return Err(not_a_draft());
    }
    Ok((post, visible))
}

/// Deletes the file at `path`; true once it is gone, whether now or before.
async fn delete_file(path: &Path) -> bool {
    match tokio::fs::remove_file(path).await {
        Ok(()) => true,
        Err(error) if error.kind() == io::ErrorKind::NotFound => true,
        Err(error) => {
            tracing::warn!(%error, file = %path.display(), "could not delete an image file");
            false
        }
    }
}

/// Where image `name` is written before it is complete.
fn partial_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(".{name}.partial"))
}

/// A new random file name: [`NAME_HEX`] lowercase hex digits.
fn new_file_name() -> String {
    let mut raw = [0u8; NAME_HEX / 2];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    hex::encode(raw)
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let partial = partial_path(dir, name);
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&partial)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&partial, dir.join(name))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&partial);
    }
    written
}

fn invalid(problem: MediaProblem) -> AppError {
    let field = match problem {
        MediaProblem::AltMissing | MediaProblem::AltTooLong { .. } => "alt",
        _ => "file",
    };
    AppError::Invalid {
        field,
        message: problem.to_string(),
    }
}

fn not_a_draft() -> AppError {
    AppError::Conflict("images can be added or removed only while the post is a draft".to_owned())
}

fn no_image(media_id: i64) -> AppError {
    AppError::not_found(
        Entity::Image,
        format!("there is no image {media_id} on this post"),
    )
}

/// The start of an alt text, to name an image by.
fn short(alt: &str) -> String {
    let mut words: String = alt.chars().take(40).collect();
    if alt.chars().count() > 40 {
        words.push('…');
    }
    format!("“{words}”")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library(public_url: Option<&str>) -> Library {
        Library {
            dir: PathBuf::from("/nonexistent"),
            public_url: public_url.map(str::to_owned),
            link_key: Arc::new(Zeroizing::new([7; 32])),
        }
    }

    #[test]
    fn a_signed_link_opens_its_own_image_until_it_expires() {
        let library = library(Some("https://herald.example/"));
        let now = Timestamp::from_second(1_800_000_000).expect("time");
        let url = library.signed_url(42, now).expect("a public address");
        let signed = url
            .strip_prefix("https://herald.example/media/")
            .expect("under /media/");
        assert_eq!(library.verify(signed, now), Some(42));
        let later = now.checked_add(SIGNED_LINK_LIFETIME).expect("time");
        assert_eq!(library.verify(signed, later), None, "expired");
    }

    #[test]
    fn a_changed_id_expiry_or_key_breaks_the_signature() {
        let library = library(Some("https://herald.example"));
        let now = Timestamp::from_second(1_800_000_000).expect("time");
        let url = library.signed_url(42, now).expect("url");
        let signed = url.rsplit('/').next().expect("token");
        let (_, rest) = signed.split_once('.').expect("id");
        assert_eq!(library.verify(&format!("43.{rest}"), now), None);
        let (id_and_expiry, signature) = signed.rsplit_once('.').expect("signature");
        let (id, expiry) = id_and_expiry.split_once('.').expect("expiry");
        let longer: i64 = expiry.parse::<i64>().expect("number") + 3600;
        assert_eq!(
            library.verify(&format!("{id}.{longer}.{signature}"), now),
            None
        );
        let other = Library {
            link_key: Arc::new(Zeroizing::new([8; 32])),
            ..library.clone()
        };
        assert_eq!(other.verify(signed, now), None);
        assert_eq!(library.verify("not a link", now), None);
    }

    #[test]
    fn without_a_public_address_there_are_no_signed_links() {
        let now = Timestamp::from_second(1_800_000_000).expect("time");
        assert_eq!(library(None).signed_url(1, now), None);
    }

    #[test]
    fn file_names_other_than_herald_s_own_are_refused() {
        let library = library(None);
        assert!(library.path("../../etc/passwd").is_err());
        assert!(library.path("").is_err());
        assert!(library.path("0123abcd").is_err(), "too short");
        assert!(
            library.path("0123456789ABCDEF0123456789ABCDEF").is_err(),
            "upper case"
        );
        assert!(library.path(&new_file_name()).is_ok());
    }

    #[test]
    fn an_image_is_written_readable_by_its_owner_only_under_a_random_name() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::TempDir::new().expect("temporary directory");
        let media = dir.path().join("media");
        let (first, second) = (new_file_name(), new_file_name());
        assert_ne!(first, second);
        assert_eq!(first.len(), NAME_HEX);
        write_file(&media, &first, b"one").expect("written");
        write_file(&media, &second, b"two").expect("written");
        let mode = fs::metadata(media.join(&first))
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(fs::read(media.join(&second)).expect("read"), b"two");
        let leftovers = fs::read_dir(&media)
            .expect("dir")
            .filter(|entry| {
                entry
                    .as_ref()
                    .is_ok_and(|entry| entry.file_name().to_string_lossy().ends_with(".partial"))
            })
            .count();
        assert_eq!(leftovers, 0, "no temporary file is left behind");
    }
}
