//! The composer and a post's page: write a post for one account (its identity shown above
//! the text, counted live the way its network counts, checked live against the policy, and
//! previewed as the network will show it), save or submit it; see a post's state, history and
//! publishing attempts, tailor a draft's text, copy it to another account, approve or send it
//! back, and give it its time (a date and time in the account's zone, or the account's next
//! free queue slot). Images on a draft are `media.rs`.

mod compose_form;
pub mod list;
mod preview;

use crate::domain::ids::{AccountId, PostId};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::people::FieldError;
use super::{Layout, PageError, render};
use crate::domain::access::{AccountAction, Permission, check_account};
use crate::domain::accounts::{AccountLevel, Network};
use crate::domain::posts::PostState;
use crate::domain::schedule::Zone;
use crate::http::auth::{Caller, CsrfForm};
use crate::http::{ApiError, AppState, assets};
use crate::services::AppError;
use crate::services::accounts;
use crate::services::posts::{self, PostView};
use crate::services::schedule::{self, When};
use crate::store::{AccountRecord, MediaRecord};

pub use preview::Preview;

#[derive(Template)]
#[template(path = "compose.html")]
struct ComposePage {
    layout: Layout,
    csrf: String,
    /// The accounts the caller may write for.
    accounts: Vec<Identity>,
    chosen: Option<AccountId>,
    /// The further accounts ticked (kept when the form comes back).
    also: Vec<AccountId>,
    /// The texts adjusted for further accounts, kept when the form comes back.
    tailored: Vec<(AccountId, String)>,
    /// The chosen account (the first one when none is chosen yet), shown above the text.
    identity: Option<Identity>,
    preview: Option<Preview>,
    text: String,
    /// The wished time as typed, `2026-12-24T09:30` in the account's zone.
    at: String,
    error: Option<String>,
    /// The member must pass the staff course before posting: the page says so, with a link.
    course_outstanding: bool,
    script: String,
}

impl ComposePage {
    /// Whether `id` is ticked under "Also post to".
    fn is_chosen(&self, id: &AccountId) -> bool {
        self.chosen.as_ref() == Some(id)
    }

    fn is_also(&self, id: &AccountId) -> bool {
        self.also.contains(id)
    }

    /// The text adjusted for account `id`, or nothing (the main text goes out there).
    fn tailored_text(&self, id: &AccountId) -> &str {
        self.tailored
            .iter()
            .find(|(account, _)| account == id)
            .map_or("", |(_, text)| text.as_str())
    }
}

/// Who a post goes out as: what the identity card, the preview's header and each `<option>`
/// of the composer's account list show.
#[derive(Debug, Clone)]
pub struct Identity {
    pub id: AccountId,
    pub name: String,
    pub network: Network,
    pub handle: String,
    pub colour: String,
    pub zone: String,
}

impl Identity {
    fn of(account: AccountRecord) -> Identity {
        Identity {
            id: account.id,
            network: account.network,
            name: account.display_name,
            handle: account.handle,
            colour: account.avatar_colour,
            zone: account.time_zone,
        }
    }
}

/// What the post page's forms had typed in them when an action was refused, kept so nothing
/// typed is lost.
#[derive(Debug, Default)]
pub struct Typed {
    /// The schedule form's date and time.
    pub at: Option<String>,
    /// The edit form's text.
    pub text: Option<String>,
    /// The upload form's alt text.
    pub alt: Option<String>,
}

impl Typed {
    pub fn at(at: String) -> Typed {
        Typed {
            at: Some(at),
            ..Typed::default()
        }
    }
}

/// One policy finding as the post page shows it.
#[derive(Debug)]
struct FindingRow {
    title: &'static str,
    message: String,
    excerpt: String,
    /// "Blocks posting", "Needs approval" or "Warning".
    action: &'static str,
    blocks: bool,
}

/// One step of the post's history, in words: when, who, what.
#[derive(Debug)]
struct HistoryRow {
    at: ShownTime,
    who: String,
    what: String,
}

#[derive(Template)]
#[template(path = "post.html")]
struct PostPage {
    layout: Layout,
    csrf: String,
    view: PostView,
    /// What the policy finds in the text now: shown to the author and to whoever reviews it.
    findings: Vec<FindingRow>,
    /// An owner's own draft that the policy blocks: the override form with its reason.
    may_override: bool,
    history: Vec<HistoryRow>,
    /// The account is not connected: a warning beside the time form, since nothing can go out.
    not_connected: bool,
    account_name: String,
    network: &'static str,
    handle: String,
    colour: String,
    identity: Identity,
    preview: Preview,
    is_author: bool,
    /// The author, while the post is a draft: the text can be edited and images attached.
    editable: bool,
    /// The edit form's text: as typed, or the post's own.
    text_value: String,
    /// Other accounts the caller may draft for: "Also post to …".
    also: Vec<Identity>,
    images: Vec<MediaRecord>,
    /// The upload form's alt text, kept when an upload was refused.
    alt_value: String,
    /// What the network takes: "PNG, JPEG, GIF or WebP, at most 5 MB, up to 4 images".
    image_rule: String,
    /// How many images the network takes on one post (none on LinkedIn yet).
    most_images: usize,
    /// The upload field's `accept`: the types the network takes.
    accept: String,
    may_review: bool,
    /// The post is unconfirmed and the caller may settle it by hand.
    may_settle: bool,
    /// The account's time zone, in which the form's date and time are read.
    zone: String,
    scheduled: Option<ShownTime>,
    published: Option<ShownTime>,
    attempts: Vec<AttemptRow>,
    /// What the caller may do with the post's time.
    offer: TimeOffer,
    /// "Publish to @sunny@mastodon.social on Mastodon", for accounts that ask every time.
    confirm: Option<String>,
    /// The date and time in the form: as typed, or the post's own.
    at_value: String,
    /// The earliest time the form accepts (now, in the account's zone).
    at_min: String,
    /// A message for the whole page; `field_error` goes beside its field.
    error: Option<String>,
    field_error: Option<FieldError>,
    /// A text too long for the account "also post to" chose: where to shorten it.
    shorten_link: Option<String>,
    draft_script: String,
}

/// A moment as the page writes it: RFC 3339 in UTC for `<time datetime>` (layout.js shows it
/// in the viewer's zone), and in words in the account's zone for readers without scripts.
#[derive(Debug)]
pub struct ShownTime {
    pub iso: String,
    pub local: String,
}

#[derive(Debug)]
struct AttemptRow {
    started: ShownTime,
    outcome: String,
    detail: String,
}

/// Which time form the post page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeOffer {
    /// None: the caller may not change the post's time, or it is past changing.
    Nothing,
    /// A draft or submitted post: the time is a wish, used once it is approved.
    Wish,
    /// An approved (expired, failed) post: schedule it, at a time or in the queue.
    Schedule,
    /// A scheduled post: move it, or take it off the schedule.
    Reschedule,
}

#[derive(Debug, Default, Deserialize)]
pub struct ComposeForm {
    /// The main account (its identity, count and preview lead the composer).
    #[serde(default)]
    account_id: String,
    #[serde(default)]
    text: String,
    /// "save" keeps it a draft; "submit" also submits it.
    #[serde(default)]
    intent: String,
    /// The wished time, `2026-12-24T09:30` in the account's zone; empty: none yet.
    #[serde(default)]
    at: String,
    /// The other fields: `also_3=on` for each further account ticked (and the CSRF token).
    /// Every value is text, so a flattened map reads them all.
    #[serde(flatten)]
    rest: std::collections::BTreeMap<String, String>,
}

/// The accounts the composer writes for, and the texts adjusted for some of them.
#[derive(Debug, Default)]
struct Chosen {
    main: Option<AccountId>,
    also: Vec<AccountId>,
    tailored: Vec<(AccountId, String)>,
}

impl ComposeForm {
    /// The text for `account`: its own (`text_3`, adjusted under "Also post to") when one was
    /// written for a further account, else the main text.
    fn text_for(&self, account: AccountId) -> &str {
        if self.account_id.trim().parse::<AccountId>() == Ok(account) {
            return &self.text;
        }
        self.rest
            .get(&format!("text_{account}"))
            .filter(|own| !own.trim().is_empty())
            .unwrap_or(&self.text)
    }

    /// The texts adjusted for further accounts, kept when the form comes back.
    fn tailored(&self) -> Vec<(AccountId, String)> {
        self.rest
            .iter()
            .filter_map(|(key, text)| {
                let id = key.strip_prefix("text_")?.parse::<AccountId>().ok()?;
                (!text.trim().is_empty()).then(|| (id, text.clone()))
            })
            .collect()
    }

    /// What the composer had chosen, to show again.
    fn chosen(&self) -> Chosen {
        let accounts = self.accounts();
        Chosen {
            main: accounts.first().copied(),
            also: accounts.iter().skip(1).copied().collect(),
            tailored: self.tailored(),
        }
    }

    /// The accounts to write for: the main one first, then each one ticked, once each.
    fn accounts(&self) -> Vec<AccountId> {
        let main = self.account_id.trim().parse::<AccountId>().ok();
        let ticked = self
            .rest
            .keys()
            .filter_map(|key| key.strip_prefix("also_")?.parse::<AccountId>().ok());
        let mut ids: Vec<AccountId> = Vec::new();
        for id in main.into_iter().chain(ticked) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }
}

/// `/compose?account=3&from=12`: the account to write for, and a post whose text to start from.
#[derive(Debug, Default, Deserialize)]
pub struct ComposeQuery {
    account: Option<AccountId>,
    from: Option<PostId>,
}

#[derive(Debug, Deserialize)]
pub struct EditForm {
    #[serde(default)]
    text: String,
}

#[derive(Debug, Deserialize)]
pub struct CopyForm {
    #[serde(default)]
    account_id: Option<AccountId>,
}

#[derive(Debug, Deserialize)]
pub struct ScheduleForm {
    /// `2026-12-24T09:30` from the `datetime-local` field, in the account's zone.
    #[serde(default)]
    at: String,
    /// "queue" takes the account's next free slot; anything else uses `at`.
    #[serde(default)]
    intent: String,
    /// "yes" when the "publish to …" box was ticked.
    #[serde(default)]
    confirm: String,
}

#[derive(Debug, Deserialize)]
pub struct SettleForm {
    /// `yes` when the post is on the network, `no` when it is not.
    on_network: String,
}

#[derive(Debug, Deserialize)]
pub struct StepForm {
    #[serde(default)]
    note: String,
    #[serde(default)]
    override_reason: String,
    /// The version of the text the page showed (a hidden field): submit and approve act only
    /// on that text.
    #[serde(default)]
    version: Option<i64>,
}

impl StepForm {
    /// The post and the version of its text the page showed; a form without one (an old page)
    /// is asked to read the post again.
    fn seen(&self, id: PostId) -> Result<posts::Seen, AppError> {
        let version = self.version.ok_or_else(|| {
            AppError::Conflict("the post changed since you read it: read it again".to_owned())
        })?;
        Ok(posts::Seen { id, version })
    }
}

pub async fn compose(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ComposeQuery>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    // Starting from another post's text (a copy too long for its new network) needs only that
    // the caller may see that post.
    let text = match query.from {
        Some(id) => {
            posts::view(&state.store, &caller.user, id)
                .await
                .map_err(ApiError::from)?
                .post
                .text
        }
        None => String::new(),
    };
    let chosen = query.account;
    let chosen = Chosen {
        main: chosen,
        ..Chosen::default()
    };
    compose_view(&state, &caller, chosen, text, String::new(), None).await
}

pub async fn compose_submit(
    State(state): State<AppState>,
    caller: Caller,
    request: axum::extract::Request,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let sent = compose_form::read(&state, &caller, request).await?;
    let (form, image) = (sent.form, sent.image);
    let now = state.clock.now();
    // An image that could not be read, or has no description: nothing is written yet.
    let image_problem = sent.unreadable.or_else(|| {
        image
            .as_ref()
            .filter(|image| image.alt.trim().is_empty())
            .map(|_| {
                "Describe the image for people who cannot see it, then choose it again.".to_owned()
            })
    });
    if let Some(shown) = image_problem {
        let chosen = form.chosen();
        return compose_view(&state, &caller, chosen, form.text, form.at, Some(shown)).await;
    }
    let chosen = form.accounts();
    // Before anything is saved: the text must fit every network chosen, so that either every
    // post is written or none is, and the text comes back in the composer to shorten.
    let writable = draftable(&state, &caller).await?;
    for id in &chosen {
        let Some(account) = writable.iter().find(|account| account.id == *id) else {
            continue;
        };
        let length = crate::domain::post_text::length(account.network, form.text_for(*id), None);
        if !length.fits() {
            let shown = Some(format!(
                "Too long for {} on {}: {} of {} {}. Shorten the text, or untick that account and tailor a copy later.",
                account.name,
                account.network.label(),
                length.used,
                length.limit,
                length.unit
            ));
            let chosen = form.chosen();
            return compose_view(&state, &caller, chosen, form.text, form.at, shown).await;
        }
    }
    let mut written = Vec::new();
    for id in &chosen {
        let created = posts::create(&state.store, &caller.user, *id, form.text_for(*id), now).await;
        match created {
            Ok(view) => written.push(view.post),
            // Nothing was written yet (the first account): the text comes back in the composer.
            Err(error) if written.is_empty() => {
                let shown = Some(super::message(error));
                let chosen = form.chosen();
                return compose_view(&state, &caller, chosen, form.text, form.at, shown).await;
            }
            Err(error) => {
                let mut error = FieldError::from(error);
                error.message = format!(
                    "The draft for this account is saved; the one for account {id} was not: {}",
                    error.message
                );
                return post_view(
                    &state,
                    &caller,
                    written[0].id,
                    Some(error),
                    Typed::default(),
                )
                .await;
            }
        }
    }
    if let Some(image) = &image {
        for post in &mut written {
            let attached = crate::services::media::attach(
                &state,
                &caller.user,
                post.id,
                image.bytes.clone(),
                &image.alt,
                now,
            )
            .await;
            match attached {
                // Attaching raised the draft's version: submit names the one with the image.
                Ok(_) => {
                    if let Some(fresh) = state.store.post(post.id).await? {
                        post.version = fresh.version;
                    }
                }
                Err(error) => {
                    let mut error = FieldError::from(error);
                    error.message =
                        format!("The draft is saved without its image: {}", error.message);
                    return post_view(&state, &caller, post.id, Some(error), Typed::default())
                        .await;
                }
            }
        }
    }
    for post in &written {
        let id = post.id;
        // The wished time is kept before submitting, so that an approval on submission (the
        // account's gatekeeper needs none) schedules the post at once.
        if !form.at.trim().is_empty() {
            let when = When::At(form.at.clone());
            let unconfirmed = false;
            let wished =
                schedule::schedule(&state, &caller.user, id, &when, unconfirmed, now).await;
            if let Err(error) = wished {
                let typed = Typed::at(form.at);
                return post_view(&state, &caller, id, Some(error.into()), typed).await;
            }
        }
        let seen = posts::Seen {
            id,
            version: post.version,
        };
        if form.intent == "submit"
            && let Err(error) = posts::submit(&state, &caller.user, seen, None, now).await
        {
            let mut error = FieldError::from(error);
            error.status = StatusCode::UNPROCESSABLE_ENTITY;
            return post_view(&state, &caller, id, Some(error), Typed::default()).await;
        }
    }
    match written.as_slice() {
        [one] => Ok(Redirect::to(&format!("/posts/{}", one.id)).into_response()),
        // Several: the list of the author's posts, the new ones first, each to tailor or follow.
        _ => Ok(Redirect::to(&format!("/posts?author={}", caller.user.id)).into_response()),
    }
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<PostId>,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewAccounts)?;
    post_view(&state, &caller, id, None, Typed::default()).await
}

/// Tailors a draft's text (its author only); a refusal keeps the typed text beside the field.
pub async fn edit(
    State(state): State<AppState>,
    Path(id): Path<PostId>,
    CsrfForm { caller, form }: CsrfForm<EditForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let result = posts::edit(
        &state.store,
        &caller.user,
        id,
        &form.text,
        state.clock.now(),
    )
    .await;
    let typed = Typed {
        text: Some(form.text),
        ..Typed::default()
    };
    after_step(&state, &caller, id, result, typed).await
}

/// "Also post to …": a new draft with this post's text for another account, through the same
/// service as the composer; then the new draft's page, where the text can be tailored. A text
/// too long for that network makes no draft: the message goes beside the form, with a link to
/// the composer to shorten it there, and this post is untouched.
pub async fn copy(
    State(state): State<AppState>,
    Path(id): Path<PostId>,
    CsrfForm { caller, form }: CsrfForm<CopyForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let source = posts::view(&state.store, &caller.user, id)
        .await
        .map_err(ApiError::from)?;
    let now = state.clock.now();
    let Some(account_id) = form.account_id else {
        let error = FieldError::from(AppError::Invalid {
            field: "also",
            message: "choose the account to copy it to".to_owned(),
        });
        return post_view(&state, &caller, id, Some(error), Typed::default()).await;
    };
    let created = posts::create(
        &state.store,
        &caller.user,
        account_id,
        &source.post.text,
        now,
    )
    .await;
    match created {
        Ok(copy) => Ok(Redirect::to(&format!("/posts/{}", copy.post.id)).into_response()),
        Err(error) => {
            let too_long = matches!(error, AppError::Invalid { field: "text", .. });
            let mut error = FieldError::from(error);
            error.field = "also";
            let shorten = too_long.then(|| format!("/compose?account={account_id}&from={id}"));
            post_page(&state, &caller, id, Some(error), Typed::default(), shorten).await
        }
    }
}

pub async fn submit(
    State(state): State<AppState>,
    Path(id): Path<PostId>,
    CsrfForm { caller, form }: CsrfForm<StepForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let reason = Some(form.override_reason.as_str()).filter(|reason| !reason.trim().is_empty());
    let result = match form.seen(id) {
        Ok(seen) => posts::submit(&state, &caller.user, seen, reason, state.clock.now()).await,
        Err(error) => Err(error),
    };
    after_step(&state, &caller, id, result, Typed::default()).await
}

pub async fn approve(
    State(state): State<AppState>,
    Path(id): Path<PostId>,
    CsrfForm { caller, form }: CsrfForm<StepForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let max_attempts = state.config.jobs.max_attempts;
    let result = match form.seen(id) {
        Ok(seen) => {
            let now = state.clock.now();
            posts::approve(&state.store, &caller.user, seen, max_attempts, now).await
        }
        Err(error) => Err(error),
    };
    after_step(&state, &caller, id, result, Typed::default()).await
}

pub async fn send_back(
    State(state): State<AppState>,
    Path(id): Path<PostId>,
    CsrfForm { caller, form }: CsrfForm<StepForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let result = posts::send_back(
        &state.store,
        &caller.user,
        id,
        &form.note,
        state.clock.now(),
    )
    .await;
    after_step(&state, &caller, id, result, Typed::default()).await
}

/// The schedule form: a date and time in the account's zone, or the next free queue slot.
/// The same service as `POST /api/v1/posts/{id}/schedule`; a refusal shows the page again
/// with the message beside the field and the typed time kept.
pub async fn schedule(
    State(state): State<AppState>,
    Path(id): Path<PostId>,
    CsrfForm { caller, form }: CsrfForm<ScheduleForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let typed = Typed::at(form.at.clone());
    let when = match (form.intent.as_str(), form.at.trim()) {
        ("queue", _) => When::Queue,
        (_, "") => {
            let error = AppError::Invalid {
                field: "at",
                message: "choose a date and time, or add the post to the queue".to_owned(),
            };
            return post_view(&state, &caller, id, Some(error.into()), Typed::at(form.at)).await;
        }
        (_, at) => When::At(at.to_owned()),
    };
    let result = schedule::schedule(
        &state,
        &caller.user,
        id,
        &when,
        form.confirm == "yes",
        state.clock.now(),
    )
    .await;
    after_step(&state, &caller, id, result, typed).await
}

/// Takes a scheduled post off the schedule; it stays approved.
pub async fn unschedule(
    State(state): State<AppState>,
    Path(id): Path<PostId>,
    CsrfForm { caller, .. }: CsrfForm<StepForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let result = schedule::unschedule(&state.store, &caller.user, id, state.clock.now()).await;
    after_step(&state, &caller, id, result, Typed::default()).await
}

/// Settles an unconfirmed post by hand: it is on the network, or it is not.
pub async fn settle(
    State(state): State<AppState>,
    Path(id): Path<PostId>,
    CsrfForm { caller, form }: CsrfForm<SettleForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let on_network = form.on_network == "yes";
    let result = posts::settle_unconfirmed(
        &state.store,
        &caller.user,
        id,
        on_network,
        state.clock.now(),
    )
    .await;
    after_step(&state, &caller, id, result, Typed::default()).await
}

async fn after_step(
    state: &AppState,
    caller: &Caller,
    id: PostId,
    result: Result<PostView, AppError>,
    typed: Typed,
) -> Result<Response, PageError> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/posts/{id}")).into_response()),
        Err(error @ AppError::NotFound { .. }) => Err(error.into()),
        Err(error) => post_view(state, caller, id, Some(error.into()), typed).await,
    }
}

async fn compose_view(
    state: &AppState,
    caller: &Caller,
    chosen: Chosen,
    text: String,
    at: String,
    error: Option<String>,
) -> Result<Response, PageError> {
    let writable = draftable(state, caller).await?;
    let identity = writable
        .iter()
        .find(|account| Some(account.id) == chosen.main)
        .or(writable.first())
        .cloned();
    let preview = identity
        .as_ref()
        .map(|identity| preview::preview(identity.network, &text));
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ComposePage {
        layout: Layout::signed_in("Write a post · Herald", "/compose", caller),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        chosen: identity
            .as_ref()
            .map(|identity| identity.id)
            .or(chosen.main),
        also: chosen.also,
        tailored: chosen.tailored,
        accounts: writable,
        identity,
        preview,
        text,
        at,
        error,
        course_outstanding: crate::services::training::outstanding(&state.store, &caller.user)
            .await?,
        script: assets::url("draft.js"),
    };
    Ok(render(status, &page))
}

/// The accounts the caller may write drafts for.
async fn draftable(state: &AppState, caller: &Caller) -> Result<Vec<Identity>, PageError> {
    Ok(accounts::visible(&state.store, &caller.user)
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .filter(|visible| {
            check_account(caller.user.role, visible.level, AccountAction::Draft).is_ok()
        })
        .map(|visible| Identity::of(visible.account))
        .collect())
}

/// The post's page. `error` (with its status) is what the last action ran into; `typed` is
/// what the forms had, kept so nothing typed is lost.
pub(super) async fn post_view(
    state: &AppState,
    caller: &Caller,
    id: PostId,
    error: Option<FieldError>,
    typed: Typed,
) -> Result<Response, PageError> {
    post_page(state, caller, id, error, typed, None).await
}

async fn post_page(
    state: &AppState,
    caller: &Caller,
    id: PostId,
    error: Option<FieldError>,
    typed: Typed,
    shorten_link: Option<String>,
) -> Result<Response, PageError> {
    let view = posts::view(&state.store, &caller.user, id)
        .await
        .map_err(ApiError::from)?;
    let visible = accounts::open(
        &state.store,
        &caller.user,
        view.post.account_id,
        AccountAction::View,
    )
    .await
    .map_err(ApiError::from)?;
    let zone = schedule::zone_of(&visible.account).map_err(ApiError::from)?;
    let is_author = view.post.author_id == caller.user.id;
    let editable = is_author && view.post.state == PostState::Draft;
    let may = |action| check_account(caller.user.role, visible.level, action).is_ok();
    let offer = time_offer(
        view.post.state,
        may(AccountAction::Draft),
        may(AccountAction::Publish),
    );
    let also: Vec<Identity> = draftable(state, caller)
        .await?
        .into_iter()
        .filter(|account| account.id != view.post.account_id)
        .collect();
    let images = crate::services::media::list(&state.store, &caller.user, id)
        .await
        .map_err(ApiError::from)?;
    let status = error.as_ref().map_or(StatusCode::OK, |error| error.status);
    // A message goes beside its field when the form is on the page; everything else at the
    // top of the page.
    let beside_field = |error: &FieldError| match error.field {
        "at" | "confirm" => offer != TimeOffer::Nothing,
        "text" | "file" | "alt" => editable,
        "also" => !also.is_empty(),
        _ => false,
    };
    let (field_error, error) = match error {
        Some(error) if beside_field(&error) => (Some(error), None),
        other => (None, other.map(|error| error.message)),
    };
    let now = state.clock.now();
    let shown = |at: jiff::Timestamp| shown_time(&zone, at);
    let (found, strictest) =
        crate::services::policy::scan(&state.store, &state.policy, &view.post.text, now).await?;
    let findings: Vec<FindingRow> = found
        .into_iter()
        .map(|finding| FindingRow {
            title: finding.rule.title(),
            message: finding.message,
            excerpt: finding.excerpt,
            action: action_words(finding.action),
            blocks: finding.action == guard::Action::Block,
        })
        .collect();
    let users = state.store.list_users().await?;
    let history = view
        .history
        .iter()
        .map(|event| HistoryRow {
            at: shown(event.at),
            who: event
                .actor_id
                .map_or_else(|| "Herald".to_owned(), |id| super::member_name(&users, id)),
            what: history_words(event),
        })
        .collect();
    let account = visible.account;
    let network = account.network;
    let limits = crate::domain::media::limits(network);
    let page = PostPage {
        layout: Layout::signed_in("Post · Herald", "/posts", caller),
        findings,
        may_override: editable
            && caller.user.role == crate::domain::people::Role::Owner
            && strictest == Some(guard::Action::Block),
        history,
        not_connected: account.connection != "connected",
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        zone: zone.name().to_owned(),
        scheduled: view.post.scheduled_at.map(shown),
        published: view.post.published_at.map(shown),
        attempts: view
            .attempts
            .iter()
            .map(|attempt| AttemptRow {
                started: shown(attempt.started_at),
                outcome: attempt
                    .outcome
                    .clone()
                    .unwrap_or_else(|| "under way".to_owned()),
                detail: attempt.detail.clone(),
            })
            .collect(),
        offer,
        confirm: account.confirm_before_publish.then(|| {
            format!(
                "Publish to {} on {}",
                account.handle,
                account.network.label()
            )
        }),
        at_value: typed.at.unwrap_or_else(|| {
            view.post
                .scheduled_at
                .map(|at| local_input(&zone, at))
                .unwrap_or_default()
        }),
        at_min: local_input(&zone, now),
        preview: Preview {
            images: images
                .iter()
                .map(|image| preview::PreviewImage {
                    src: format!("/api/v1/posts/{id}/media/{}", image.id),
                    alt: image.alt.clone(),
                })
                .collect(),
            ..preview::preview(network, &view.post.text)
        },
        text_value: typed.text.unwrap_or_else(|| view.post.text.clone()),
        alt_value: typed.alt.unwrap_or_default(),
        image_rule: super::media::rule(network, &limits),
        most_images: limits.most_images,
        accept: limits
            .types
            .iter()
            .map(|kind| kind.mime())
            .collect::<Vec<_>>()
            .join(","),
        images,
        also,
        identity: Identity::of(account.clone()),
        account_name: account.display_name,
        network: network.label(),
        handle: account.handle,
        colour: account.avatar_colour,
        is_author,
        editable,
        may_review: !is_author && visible.level >= Some(AccountLevel::Publisher),
        may_settle: view.post.state == PostState::Unconfirmed && may(AccountAction::Publish),
        view,
        error,
        field_error,
        shorten_link,
        draft_script: assets::url("draft.js"),
    };
    Ok(render(status, &page))
}

/// What the caller may do with the time of a post in `state`.
fn time_offer(state: PostState, may_draft: bool, may_publish: bool) -> TimeOffer {
    match state {
        PostState::Draft | PostState::Submitted if may_draft => TimeOffer::Wish,
        PostState::Approved | PostState::ExpiredApproval | PostState::Failed if may_publish => {
            TimeOffer::Schedule
        }
        PostState::Scheduled if may_publish => TimeOffer::Reschedule,
        _ => TimeOffer::Nothing,
    }
}

/// A finding's action as its badge says it.
fn action_words(action: guard::Action) -> &'static str {
    match action {
        guard::Action::Block => "Blocks posting",
        guard::Action::RequireApproval => "Needs approval",
        guard::Action::Warn => "Warning",
    }
}

/// What a step of the history did, in words; the note (a reviewer's words, or what the
/// publisher saw) follows.
fn history_words(event: &crate::store::PostEventRecord) -> String {
    let to = PostState::parse(&event.to_state);
    let from = event.from_state.as_deref().and_then(PostState::parse);
    let what = match (from, to) {
        (None, Some(PostState::Draft)) => "wrote it",
        (Some(PostState::Draft), Some(PostState::Draft)) => "changed the text",
        (Some(PostState::Submitted), Some(PostState::Draft)) => "sent it back",
        (_, Some(PostState::Submitted)) => "submitted it for approval",
        (Some(PostState::Submitted), Some(PostState::Approved)) => "approved it",
        (_, Some(PostState::Approved)) => "made it ready to schedule",
        (_, Some(PostState::Scheduled)) => "scheduled it",
        (_, Some(PostState::Publishing)) => "started publishing it",
        (_, Some(PostState::Published)) => "published it",
        (_, Some(PostState::Failed)) => "could not publish it",
        (_, Some(PostState::Unconfirmed)) => "could not confirm it went out",
        (_, Some(PostState::ExpiredApproval)) => "let the approval expire",
        _ => "changed it",
    };
    // Herald's own one-word notes ("submitted", "drafted") only repeat the step.
    let note = event.note.trim();
    if note.is_empty() || !note.contains(char::is_whitespace) {
        what.to_owned()
    } else {
        format!("{what}: {note}")
    }
}

/// `at` for `<time>`: UTC for the attribute, the account's zone in words.
pub fn shown_time(zone: &Zone, at: jiff::Timestamp) -> ShownTime {
    ShownTime {
        iso: at.to_string(),
        local: zone.show(at),
    }
}

/// `at` as a `datetime-local` field holds it: `2026-12-24T09:30`, in `zone`.
fn local_input(zone: &Zone, at: jiff::Timestamp) -> String {
    zone.local(at).strftime("%Y-%m-%dT%H:%M").to_string()
}
