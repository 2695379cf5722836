//! The containers of the Instagram and Threads fakes: what each container was made with,
//! item containers (`is_carousel_item=true`) that only a carousel may hold, `CAROUSEL`
//! containers whose `children` name them, and the post a container made once published.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::http::StatusCode;
use axum::response::Response;

use super::facebook::{graph_error, mime_of};

/// An Instagram or Threads container: what step one received, and the post step two made.
#[derive(Debug, Clone)]
pub(crate) struct Container {
    pub text: String,
    pub media_type: String,
    pub image_url: Option<String>,
    pub alt: String,
    /// Made for a carousel: it is never published on its own.
    pub carousel_item: bool,
    /// A carousel's item containers, in order.
    pub children: Vec<String>,
    pub published: Option<String>,
}

/// The containers a fake holds, by id.
#[derive(Debug, Default)]
pub(crate) struct Containers {
    held: Mutex<HashMap<String, Container>>,
}

impl Container {
    /// An `IMAGE` or `TEXT` container (or a carousel item, when `carousel_item`).
    pub(crate) fn single(
        media_type: &str,
        text: String,
        image_url: Option<String>,
        alt: String,
        carousel_item: bool,
    ) -> Container {
        Container {
            text,
            media_type: media_type.to_owned(),
            image_url,
            alt,
            carousel_item,
            children: Vec::new(),
            published: None,
        }
    }
}

impl Containers {
    pub(crate) fn add(&self, id: &str, container: Container) {
        self.lock().insert(id.to_owned(), container);
    }

    pub(crate) fn get(&self, id: &str) -> Option<Container> {
        self.lock().get(id).cloned()
    }

    pub(crate) fn mark_published(&self, id: &str, media_id: &str) {
        if let Some(container) = self.lock().get_mut(id) {
            container.published = Some(media_id.to_owned());
        }
    }

    /// A `CAROUSEL` container with `text`, from `children` (comma-separated ids): as many as
    /// `allowed` says, each an item container this fake made. Else why the network refuses
    /// it (an invalid parameter, [`invalid_parameter`]).
    pub(crate) fn carousel(
        &self,
        children: Option<&String>,
        text: String,
        allowed: RangeInclusive<usize>,
    ) -> Result<Container, String> {
        let children: Vec<String> = children
            .map(|ids| ids.split(',').map(|id| id.trim().to_owned()).collect())
            .unwrap_or_default();
        if !allowed.contains(&children.len()) {
            return Err(format!(
                "children must name between {} and {} carousel items",
                allowed.start(),
                allowed.end()
            ));
        }
        let held = self.lock();
        if let Some(stranger) = children
            .iter()
            .find(|id| !held.get(*id).is_some_and(|item| item.carousel_item))
        {
            return Err(format!("{stranger} is not a carousel item container"));
        }
        Ok(Container {
            text,
            media_type: "CAROUSEL".to_owned(),
            image_url: None,
            alt: String::new(),
            carousel_item: false,
            children,
            published: None,
        })
    }

    /// The images `container` publishes, as (alt text, media type), in order.
    pub(crate) fn media(&self, container: &Container) -> Vec<(String, String)> {
        self.images(container)
            .into_iter()
            .filter_map(|image| {
                let kind = mime_of(image.image_url.as_deref()?);
                Some((image.alt, kind.to_owned()))
            })
            .collect()
    }

    /// The addresses of the images `container` publishes, in order.
    pub(crate) fn image_urls(&self, container: &Container) -> Vec<String> {
        self.images(container)
            .into_iter()
            .filter_map(|image| image.image_url)
            .collect()
    }

    /// The image containers `container` publishes: itself, or its children.
    fn images(&self, container: &Container) -> Vec<Container> {
        if container.children.is_empty() {
            return vec![container.clone()];
        }
        let held = self.lock();
        container
            .children
            .iter()
            .filter_map(|id| held.get(id).cloned())
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Container>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Meta's answer to an invalid parameter: 400, code 100, and what is wrong with it.
pub(crate) fn invalid_parameter(reason: &str) -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        100,
        &format!("Invalid parameter: {reason}"),
    )
}

/// The refusal of `media_publish` / `threads_publish` for a carousel item on its own.
pub(crate) fn item_published_alone() -> Response {
    invalid_parameter("a carousel item container is published only as part of a carousel")
}
