//! Images on posts, as rules: what a file really is (sniffed from its first bytes, never from
//! its name or the browser's Content-Type), its size in pixels where the header says so
//! cheaply, and what each network accepts — how many images, how large, which types, and how
//! long the alt text may be. Alt text is always required: every image Herald publishes is
//! described for people who cannot see it.

use super::accounts::Network;

/// The largest file Herald accepts at all: the most any network here takes (Mastodon's usual
/// 16 MiB). Each network's own limit is in [`Limits::largest_bytes`].
pub const LARGEST_UPLOAD: usize = 16 * 1024 * 1024;

/// The image types Herald recognizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageType {
    Png,
    Jpeg,
    Gif,
    Webp,
}

/// What the bytes of a file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub kind: ImageType,
    /// From the header, when it can be read without decoding the image.
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// What one network accepts. The limits are the networks' documented ones, or Herald's own
/// where a network documents none (how many photos a Facebook post may attach).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub most_images: usize,
    pub largest_bytes: usize,
    pub types: &'static [ImageType],
    /// In characters (Unicode scalar values).
    pub longest_alt: usize,
    /// Instagram publishes nothing without an image.
    pub image_required: bool,
    /// The network fetches images from a public address rather than taking an upload
    /// (Instagram, Threads), so Herald must be reachable at `public_url`.
    pub fetches_by_url: bool,
}

/// Why an image, or a post's set of images, is refused. Each message names the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaProblem {
    #[error("the file is not an image (PNG, JPEG, GIF or WebP)")]
    NotAnImage,
    #[error(
        "the file starts like a {kind} image, but its header is damaged or cut short; save or export the image again"
    )]
    Damaged { kind: &'static str },
    #[error("the file is empty")]
    Empty,
    #[error("{network} takes {accepted} images, not {kind}")]
    WrongType {
        network: &'static str,
        kind: &'static str,
        accepted: String,
    },
    #[error("{network} takes images of at most {limit} bytes; this one has {size}")]
    TooLarge {
        network: &'static str,
        limit: String,
        size: String,
    },
    #[error("Herald cannot attach images to {network} posts yet")]
    NoImages { network: &'static str },
    #[error("{network} takes at most {limit} {noun} on a post", noun = images(*limit))]
    TooMany { network: &'static str, limit: usize },
    #[error("describe the image in its alt text, for people who cannot see it")]
    AltMissing,
    #[error("{network} takes alt text of at most {limit} characters; this one has {used}")]
    AltTooLong {
        network: &'static str,
        limit: usize,
        used: usize,
    },
    #[error("{network} posts need an image; attach one (JPEG) before submitting")]
    ImageRequired { network: &'static str },
    #[error(
        "{network} fetches images from Herald's public address: set public_url so the network can reach Herald, or remove the image"
    )]
    NeedsPublicUrl { network: &'static str },
}

/// One image already on a post, as the post-wide check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached<'a> {
    pub kind: ImageType,
    pub size: usize,
    pub alt: &'a str,
}

const ALL: &[ImageType] = &[
    ImageType::Png,
    ImageType::Jpeg,
    ImageType::Gif,
    ImageType::Webp,
];

impl ImageType {
    pub fn mime(self) -> &'static str {
        match self {
            ImageType::Png => "image/png",
            ImageType::Jpeg => "image/jpeg",
            ImageType::Gif => "image/gif",
            ImageType::Webp => "image/webp",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ImageType::Png => "PNG",
            ImageType::Jpeg => "JPEG",
            ImageType::Gif => "GIF",
            ImageType::Webp => "WebP",
        }
    }

    pub fn from_mime(mime: &str) -> Option<ImageType> {
        ALL.iter().copied().find(|kind| kind.mime() == mime)
    }
}

/// Says what the bytes are, by their magic numbers alone.
pub fn sniff(bytes: &[u8]) -> Result<Sniffed, MediaProblem> {
    if bytes.is_empty() {
        return Err(MediaProblem::Empty);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        // The IHDR chunk comes first: width and height, big-endian, at bytes 16 and 20.
        let (width, height) = match (be32(bytes, 16), be32(bytes, 20), bytes.get(12..16)) {
            (Some(width), Some(height), Some(b"IHDR")) => (Some(width), Some(height)),
            _ => (None, None),
        };
        return sniffed(ImageType::Png, width, height);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        let (width, height) = jpeg_size(bytes).unzip();
        return sniffed(ImageType::Jpeg, width, height);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        let width = le16(bytes, 6).map(u32::from);
        let height = le16(bytes, 8).map(u32::from);
        return sniffed(ImageType::Gif, width, height);
    }
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        let (width, height) = webp_size(bytes).unzip();
        return sniffed(ImageType::Webp, width, height);
    }
    Err(MediaProblem::NotAnImage)
}

/// What `network` accepts.
///
/// Sources, read when this was written:
/// - X: images up to 5 MB (<https://docs.x.com/x-api/media>), up to 4 photos a post
///   (<https://docs.x.com/x-api/media/quickstart/best-practices>), alt text of at most 1,000
///   characters (<https://docs.x.com/x-api/media/create-media-metadata>, and the v1.1
///   `media/metadata/create` reference: "Must be <= 1000 chars"); JPEG, PNG, GIF and WebP.
/// - Bluesky: `app.bsky.embed.images` holds at most 4 images, each a blob of `image/*` of at
///   most 1,000,000 bytes (the lexicon, `lexicons/app/bsky/embed/images.json`); the lexicon
///   sets no alt length, the official app stops at 2,000 characters (`MAX_ALT_TEXT` in
///   bluesky-social/social-app `src/lib/constants.ts`).
/// - Mastodon: per instance; mastodon.social's `GET /api/v2/instance` answers
///   `image_size_limit: 16777216` and `max_media_attachments: 4`
///   (<https://docs.joinmastodon.org/methods/instance/>), and Mastodon refuses media
///   descriptions over 1,500 characters (<https://docs.joinmastodon.org/methods/media/>; see
///   also elk-zone/elk#1854).
/// - LinkedIn: one image, or a multi-image post of 2 to 20
///   (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/multiimage-post-api>),
///   each uploaded through the Images API, JPG, PNG or GIF
///   (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/images-api>,
///   which limits pixels, 36,152,320, rather than bytes; Herald keeps 8 MB); no alt-text
///   length is documented, so 1,000 as for X.
/// - Facebook Pages: one photo, or several uploaded unpublished and attached to one post
///   (<https://developers.facebook.com/docs/graph-api/photo-uploads>, `attached_media` in
///   <https://developers.facebook.com/docs/graph-api/reference/page/feed>). Meta documents no
///   maximum for `attached_media`, so Herald keeps 10, as many as an Instagram carousel. The
///   Graph API reference (<https://developers.facebook.com/docs/graph-api/reference/page/photos>)
///   gives no size; Herald keeps 4 MB, the limit Facebook's help pages give for photo uploads.
///   Meta documents no alt-text length, so Herald keeps X's 1,000.
/// - Instagram: a feed post is one image or a carousel of 2 to 10, JPEG only, at most 8 MB,
///   fetched by Instagram from a public URL
///   (<https://developers.facebook.com/docs/instagram-platform/content-publishing/>: "JPEG is
///   the only image format supported", and carousels are limited to 10 images or videos);
///   `alt_text` has no documented length, so 1,000.
/// - Threads: JPEG or PNG, at most 8 MB, fetched from a public URL (the Threads API's image
///   specifications, <https://developers.facebook.com/docs/threads/overview>); one image or a
///   carousel of 2 to 20 (<https://developers.facebook.com/documentation/threads/posts>); no
///   alt-text length is documented, so 1,000 as for X.
pub fn limits(network: Network) -> Limits {
    const MB: usize = 1_000_000;
    let base = Limits {
        most_images: 4,
        largest_bytes: 5 * MB,
        types: ALL,
        longest_alt: 1000,
        image_required: false,
        fetches_by_url: false,
    };
    match network {
        Network::X => base,
        Network::Bluesky => Limits {
            largest_bytes: MB,
            longest_alt: 2000,
            ..base
        },
        Network::Mastodon => Limits {
            largest_bytes: LARGEST_UPLOAD,
            longest_alt: 1500,
            ..base
        },
        Network::Linkedin => Limits {
            most_images: 20,
            largest_bytes: 8 * MB,
            types: &[ImageType::Jpeg, ImageType::Png, ImageType::Gif],
            ..base
        },
        Network::Facebook => Limits {
            most_images: 10,
            largest_bytes: 4 * MB,
            ..base
        },
        Network::Instagram => Limits {
            most_images: 10,
            largest_bytes: 8 * MB,
            types: &[ImageType::Jpeg],
            image_required: true,
            fetches_by_url: true,
            ..base
        },
        Network::Threads => Limits {
            most_images: 20,
            largest_bytes: 8 * MB,
            types: &[ImageType::Jpeg, ImageType::Png],
            fetches_by_url: true,
            ..base
        },
    }
}

/// One image about to be attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewImage<'a> {
    pub kind: ImageType,
    pub size: usize,
    pub alt: &'a str,
    /// How many images the post has already.
    pub already: usize,
    /// Whether Herald has a public address networks can fetch images from.
    pub public_url_set: bool,
}

/// Checks one new image for `network`: its type, size and alt text, that the post has room
/// for it, and that a network which fetches images can reach Herald. Returns the alt text,
/// trimmed.
pub fn check_new(network: Network, image: NewImage<'_>) -> Result<&str, MediaProblem> {
    let NewImage {
        kind,
        size,
        alt,
        already,
        public_url_set,
    } = image;
    let limits = limits(network);
    let name = network.label();
    if limits.most_images == 0 {
        return Err(MediaProblem::NoImages { network: name });
    }
    if limits.fetches_by_url && !public_url_set {
        return Err(MediaProblem::NeedsPublicUrl { network: name });
    }
    if already >= limits.most_images {
        return Err(MediaProblem::TooMany {
            network: name,
            limit: limits.most_images,
        });
    }
    check_image(network, kind, size)?;
    check_alt(network, alt)
}

/// Checks a post's images as a whole for `network`, before it is submitted. On a problem,
/// says which image (1-based position; 0 for the post itself). Whether the network can
/// fetch them was checked when each was attached.
pub fn check_post(network: Network, images: &[Attached<'_>]) -> Result<(), (usize, MediaProblem)> {
    let limits = limits(network);
    let name = network.label();
    if images.is_empty() {
        if limits.image_required {
            return Err((0, MediaProblem::ImageRequired { network: name }));
        }
        return Ok(());
    }
    if limits.most_images == 0 {
        return Err((0, MediaProblem::NoImages { network: name }));
    }
    if images.len() > limits.most_images {
        return Err((
            0,
            MediaProblem::TooMany {
                network: name,
                limit: limits.most_images,
            },
        ));
    }
    for (index, image) in images.iter().enumerate() {
        check_image(network, image.kind, image.size).map_err(|problem| (index + 1, problem))?;
        check_alt(network, image.alt).map_err(|problem| (index + 1, problem))?;
    }
    Ok(())
}

fn check_image(network: Network, kind: ImageType, size: usize) -> Result<(), MediaProblem> {
    let limits = limits(network);
    if !limits.types.contains(&kind) {
        let accepted: Vec<&str> = limits.types.iter().map(|kind| kind.label()).collect();
        return Err(MediaProblem::WrongType {
            network: network.label(),
            kind: kind.label(),
            accepted: or_list(&accepted),
        });
    }
    if size > limits.largest_bytes {
        return Err(MediaProblem::TooLarge {
            network: network.label(),
            limit: thousands(limits.largest_bytes),
            size: thousands(size),
        });
    }
    Ok(())
}

fn check_alt(network: Network, alt: &str) -> Result<&str, MediaProblem> {
    let alt = alt.trim();
    if alt.is_empty() {
        return Err(MediaProblem::AltMissing);
    }
    let limit = limits(network).longest_alt;
    let used = alt.chars().count();
    if used > limit {
        return Err(MediaProblem::AltTooLong {
            network: network.label(),
            limit,
            used,
        });
    }
    Ok(alt)
}

/// What was sniffed, once its header gave a real size: the magic number alone, followed by
/// anything at all, is not an image.
fn sniffed(
    kind: ImageType,
    width: Option<u32>,
    height: Option<u32>,
) -> Result<Sniffed, MediaProblem> {
    match (width, height) {
        (Some(width), Some(height)) if width > 0 && height > 0 => Ok(Sniffed {
            kind,
            width: Some(width),
            height: Some(height),
        }),
        _ => Err(MediaProblem::Damaged { kind: kind.label() }),
    }
}

/// Walks the JPEG's segments to the first start-of-frame marker, which holds the size.
fn jpeg_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    // Only the headers are walked; a marker this far in means a broken file.
    while at + 4 <= bytes.len() && at < 1 << 20 {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        if marker == 0xFF {
            at += 1; // Fill byte.
            continue;
        }
        let length = usize::from(be16(bytes, at + 2)?);
        // SOF0–SOF15, except DHT (C4), JPG (C8) and DAC (CC), carry the frame's size.
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let height = be16(bytes, at + 5)?;
            let width = be16(bytes, at + 7)?;
            return Some((u32::from(width), u32::from(height)));
        }
        at += 2 + length;
    }
    None
}

/// The canvas size of a WebP: lossy (`VP8 `), lossless (`VP8L`) or extended (`VP8X`).
fn webp_size(bytes: &[u8]) -> Option<(u32, u32)> {
    match bytes.get(12..16)? {
        b"VP8 " => {
            let width = u32::from(le16(bytes, 26)? & 0x3FFF);
            let height = u32::from(le16(bytes, 28)? & 0x3FFF);
            Some((width, height))
        }
        b"VP8L" => {
            let bits = le32(bytes, 21)?;
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => {
            let width = le24(bytes, 24)? + 1;
            let height = le24(bytes, 27)? + 1;
            Some((width, height))
        }
        _ => None,
    }
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn le24(bytes: &[u8], at: usize) -> Option<u32> {
    let part = bytes.get(at..at + 3)?;
    Some(u32::from(part[0]) | u32::from(part[1]) << 8 | u32::from(part[2]) << 16)
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn images(count: usize) -> &'static str {
    if count == 1 { "image" } else { "images" }
}

/// `1000000` as `1,000,000`, so limits read at a glance.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        bytes.extend(width.to_be_bytes());
        bytes.extend(height.to_be_bytes());
        bytes.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
        bytes
    }

    #[test]
    fn a_png_is_known_by_its_signature_and_its_size_read_from_the_header() {
        let sniffed = sniff(&png(640, 480)).expect("a PNG");
        assert_eq!(sniffed.kind, ImageType::Png);
        assert_eq!((sniffed.width, sniffed.height), (Some(640), Some(480)));
    }

    #[test]
    fn a_jpeg_size_comes_from_its_start_of_frame_after_other_segments() {
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46];
        bytes.extend([0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01, 0xE0, 0x02, 0x80, 0x03]);
        let sniffed = sniff(&bytes).expect("a JPEG");
        assert_eq!(sniffed.kind, ImageType::Jpeg);
        assert_eq!((sniffed.width, sniffed.height), (Some(640), Some(480)));
    }

    #[test]
    fn gif_and_webp_are_recognized_with_their_sizes() {
        let gif = [b"GIF89a".as_slice(), &[0x20, 0x00, 0x10, 0x00]].concat();
        let sniffed = sniff(&gif).expect("a GIF");
        assert_eq!(
            (sniffed.kind, sniffed.width, sniffed.height),
            (ImageType::Gif, Some(32), Some(16))
        );
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        webp.extend([0x7F, 0x02, 0x00, 0xDF, 0x01, 0x00]);
        let sniffed = sniff(&webp).expect("a WebP");
        assert_eq!(
            (sniffed.kind, sniffed.width, sniffed.height),
            (ImageType::Webp, Some(640), Some(480))
        );
    }

    #[test]
    fn html_or_an_svg_is_not_an_image_whatever_it_is_called() {
        for bytes in [
            b"<!doctype html><script>alert(1)</script>".as_slice(),
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            b"RIFF\0\0\0\0WAVEfmt ",
        ] {
            assert_eq!(sniff(bytes), Err(MediaProblem::NotAnImage));
        }
        assert_eq!(sniff(b""), Err(MediaProblem::Empty));
    }

    #[test]
    fn a_magic_number_followed_by_anything_but_a_header_is_not_an_image() {
        let damaged = |kind| Err(MediaProblem::Damaged { kind });
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n"), damaged("PNG"));
        let mut random_after_png = b"\x89PNG\r\n\x1a\n".to_vec();
        random_after_png.extend((0u32..4096).map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8));
        assert_eq!(sniff(&random_after_png), damaged("PNG"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0xFF]), damaged("JPEG"));
        assert_eq!(sniff(&png(0, 480)), damaged("PNG"), "a zero width");
    }

    fn new(kind: ImageType, size: usize, alt: &str, already: usize) -> NewImage<'_> {
        NewImage {
            kind,
            size,
            alt,
            already,
            public_url_set: true,
        }
    }

    #[test]
    fn bluesky_refuses_an_image_over_a_million_bytes_naming_the_limit() {
        let problem = check_new(Network::Bluesky, new(ImageType::Png, 2_000_000, "Soup", 0))
            .expect_err("too large");
        assert_eq!(
            problem.to_string(),
            "Bluesky takes images of at most 1,000,000 bytes; this one has 2,000,000"
        );
        assert!(check_new(Network::Bluesky, new(ImageType::Png, 1_000_000, "Soup", 0)).is_ok());
    }

    #[test]
    fn instagram_takes_jpeg_only_and_needs_an_image() {
        let problem =
            check_new(Network::Instagram, new(ImageType::Png, 10, "Soup", 0)).expect_err("a PNG");
        assert_eq!(problem.to_string(), "Instagram takes JPEG images, not PNG");
        assert_eq!(
            check_post(Network::Instagram, &[]),
            Err((
                0,
                MediaProblem::ImageRequired {
                    network: "Instagram"
                }
            ))
        );
        let jpeg = Attached {
            kind: ImageType::Jpeg,
            size: 10,
            alt: "Soup",
        };
        assert_eq!(check_post(Network::Instagram, &[jpeg]), Ok(()));
        let unreachable = NewImage {
            public_url_set: false,
            ..new(ImageType::Jpeg, 10, "Soup", 0)
        };
        assert_eq!(
            check_new(Network::Instagram, unreachable),
            Err(MediaProblem::NeedsPublicUrl {
                network: "Instagram"
            })
        );
    }

    #[test]
    fn alt_text_is_required_and_held_to_the_network_limit() {
        assert_eq!(
            check_new(Network::X, new(ImageType::Png, 10, "  ", 0)),
            Err(MediaProblem::AltMissing)
        );
        let long = "a".repeat(1001);
        assert_eq!(
            check_new(Network::X, new(ImageType::Png, 10, &long, 0)),
            Err(MediaProblem::AltTooLong {
                network: "X",
                limit: 1000,
                used: 1001
            })
        );
        assert!(check_new(Network::Mastodon, new(ImageType::Png, 10, &long, 0)).is_ok());
        assert_eq!(
            check_new(Network::X, new(ImageType::Png, 10, " Soup ", 0)),
            Ok("Soup")
        );
    }

    #[test]
    fn a_fifth_image_is_refused_and_linkedin_takes_twenty_but_no_webp() {
        assert_eq!(
            check_new(Network::Mastodon, new(ImageType::Png, 10, "Soup", 4)),
            Err(MediaProblem::TooMany {
                network: "Mastodon",
                limit: 4
            })
        );
        assert_eq!(
            check_new(Network::Linkedin, new(ImageType::Png, 10, "Soup", 19)),
            Ok("Soup")
        );
        assert_eq!(
            check_new(Network::Linkedin, new(ImageType::Png, 10, "Soup", 20)),
            Err(MediaProblem::TooMany {
                network: "LinkedIn",
                limit: 20
            })
        );
        assert!(check_new(Network::Linkedin, new(ImageType::Webp, 10, "Soup", 0)).is_err());
    }

    #[test]
    fn metas_networks_take_as_many_images_as_their_carousels_hold() {
        for (network, most) in [
            (Network::Facebook, 10),
            (Network::Instagram, 10),
            (Network::Threads, 20),
        ] {
            let jpeg = new(ImageType::Jpeg, 10, "Soup", most - 1);
            assert_eq!(check_new(network, jpeg), Ok("Soup"), "{network:?}");
            let one_more = new(ImageType::Jpeg, 10, "Soup", most);
            assert_eq!(
                check_new(network, one_more),
                Err(MediaProblem::TooMany {
                    network: network.label(),
                    limit: most
                })
            );
        }
    }

    #[test]
    fn the_post_check_names_which_image_breaks_the_rule() {
        let png = Attached {
            kind: ImageType::Png,
            size: 10,
            alt: "Soup",
        };
        let gif = Attached {
            kind: ImageType::Gif,
            alt: "Bread",
            ..png.clone()
        };
        let too_many = vec![png.clone(); 21];
        let (which, problem) = check_post(Network::Threads, &too_many).expect_err("21");
        assert_eq!(which, 0);
        assert_eq!(
            problem.to_string(),
            "Threads takes at most 20 images on a post"
        );
        assert_eq!(check_post(Network::Threads, &too_many[1..]), Ok(()));
        let (which, problem) = check_post(Network::Threads, &[png, gif]).expect_err("a GIF");
        assert_eq!(which, 2);
        assert_eq!(
            problem.to_string(),
            "Threads takes JPEG or PNG images, not GIF"
        );
    }

    #[test]
    fn limits_read_with_thousands_separators() {
        assert_eq!(thousands(16_777_216), "16,777,216");
        assert_eq!(thousands(999), "999");
        assert_eq!(or_list(&["PNG", "JPEG", "GIF"]), "PNG, JPEG or GIF");
    }
}
