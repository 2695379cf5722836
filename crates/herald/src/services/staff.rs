//! Staff and their own networks: each member lists their own profiles and says what each is
//! for; a handle that looks like one of the company's accounts is flagged to the owners (the
//! inbox's impostor check, [`Screen::imitated_by`], decides). Members share the company's
//! published posts to those profiles through each network's own share link, counted per post
//! and member; Herald never holds a member's own credentials.
//!
//! Published posts are public on their networks, so every member may see them here to share
//! them, whichever accounts they have access to in Herald: that is the point of staff sharing.

use jiff::Timestamp;

use crate::domain::accounts::{Handle, Network};
use crate::domain::audit::Actor;
use crate::domain::ids::{PostId, UserId};
use crate::domain::people::Role;
use crate::domain::posts::PostState;
use crate::domain::staff::{self, Purpose};
use crate::services::audit::record;
use crate::services::inbox::screen::Screen;
use crate::services::{AppError, Entity, Services, notify, policy};
use crate::store::{NewStaffProfile, PostRecord, StaffProfileRecord, Store, UserRecord};

/// One of a member's own profiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub id: i64,
    pub user_id: UserId,
    pub network: Network,
    pub handle: String,
    pub link: String,
    pub purpose: Purpose,
    /// Which of the company's accounts or names the handle imitates, in words.
    pub lookalike: Option<String>,
}

/// A profile as the member describes it.
#[derive(Debug, Clone, Copy)]
pub struct NewProfile<'a> {
    pub network: &'a str,
    pub handle: &'a str,
    /// Where the profile is seen; empty: the network's usual address for the handle.
    pub link: &'a str,
    pub purpose: &'a str,
}

/// The longest profile link accepted.
const LONGEST_LINK: usize = 500;

/// How many profiles one member may list.
const MOST_PROFILES: usize = 20;

/// Adds one of the actor's own profiles. A handle that imitates the company's accounts or names
/// is kept, marked, and the owners are told in the same unit of work.
pub async fn add_profile(
    services: &Services,
    actor: &UserRecord,
    new: NewProfile<'_>,
    now: Timestamp,
) -> Result<Profile, AppError> {
    let network =
        Network::parse(new.network.trim()).map_err(|error| AppError::invalid("network", error))?;
    let handle =
        Handle::parse(network, new.handle).map_err(|error| AppError::invalid("handle", error))?;
    let purpose =
        Purpose::parse(new.purpose.trim()).map_err(|error| AppError::invalid("purpose", error))?;
    let link = match new.link.trim() {
        "" => staff::profile_link(network, handle.as_str()),
        link => checked_link(link)?,
    };
    let store = &services.store;
    if store.staff_profiles_of(actor.id).await?.len() >= MOST_PROFILES {
        return Err(AppError::Conflict(format!(
            "you can list at most {MOST_PROFILES} profiles; remove one first"
        )));
    }
    let screen = Screen::prepare(store, &services.policy, now).await?;
    let lookalike = screen.imitated_by(handle.as_str());
    let work = store.write().await?;
    let id = work
        .add_staff_profile(
            &NewStaffProfile {
                user_id: actor.id,
                network: network.as_str(),
                handle: handle.as_str(),
                link: &link,
                purpose: purpose.as_str(),
                lookalike: lookalike.as_deref(),
            },
            now,
        )
        .await?;
    work.set_no_staff_profiles(actor.id, None).await?;
    if let Some(imitated) = &lookalike {
        notify::all_owners(
            &work,
            crate::domain::notifications::NotificationKind::General,
            &format!("{}'s own profile looks like the company's", actor.name),
            &format!(
                "{} listed their {} profile {}, which imitates {imitated}. Customers may take it for the company: ask them to rename it, or note why it is fine.",
                actor.name,
                network.label(),
                handle.as_str()
            ),
            Some("/staff/profiles"),
            now,
        )
        .await?;
    }
    record(
        &work,
        now,
        Actor::User(actor.id),
        "staff.profile_added",
        Some(format!("staff_profile:{id}")),
        None,
        serde_json::json!({
            "network": network.as_str(),
            "purpose": purpose.as_str(),
            "lookalike": lookalike.is_some(),
        }),
    )
    .await?;
    work.commit().await?;
    Ok(Profile {
        id,
        user_id: actor.id,
        network,
        handle: handle.as_str().to_owned(),
        link,
        purpose,
        lookalike,
    })
}

/// The actor's own profiles.
pub async fn my_profiles(store: &Store, actor: &UserRecord) -> Result<Vec<Profile>, AppError> {
    Ok(store
        .staff_profiles_of(actor.id)
        .await?
        .into_iter()
        .filter_map(profile)
        .collect())
}

/// Removes one of the actor's own profiles; someone else's does not exist for them.
pub async fn remove_profile(
    store: &Store,
    actor: &UserRecord,
    id: i64,
    now: Timestamp,
) -> Result<(), AppError> {
    let work = store.write().await?;
    if !work.remove_staff_profile(id, actor.id).await? {
        return Err(AppError::not_found(
            Entity::StaffProfile,
            format!("you have no profile {id}"),
        ));
    }
    record(
        &work,
        now,
        Actor::User(actor.id),
        "staff.profile_removed",
        Some(format!("staff_profile:{id}")),
        None,
        serde_json::json!({}),
    )
    .await?;
    Ok(work.commit().await?)
}

/// A member with their profiles, for the owners' list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberProfiles {
    pub user_id: UserId,
    pub name: String,
    pub profiles: Vec<Profile>,
    /// When they said they have no social media profiles of their own, if they did.
    pub said_none_at: Option<Timestamp>,
    /// The policy in force asks for their profiles, and they have neither listed one nor said
    /// they have none.
    pub outstanding: bool,
}

/// Every active member's profiles, look-alikes marked (the caller checks the owners' permission).
pub async fn everyones_profiles(store: &Store) -> Result<Vec<MemberProfiles>, AppError> {
    let profiles = store.all_staff_profiles().await?;
    let said_none = store.members_without_own_profiles().await?;
    let asked = profiles_asked(store).await?;
    Ok(store
        .list_users()
        .await?
        .into_iter()
        .filter(|user| user.active)
        .map(|user| {
            let listed: Vec<Profile> = profiles
                .iter()
                .filter(|profile| profile.user_id == user.id)
                .cloned()
                .filter_map(profile)
                .collect();
            let said_none_at = said_none
                .iter()
                .find(|(id, _)| *id == user.id)
                .map(|(_, at)| *at);
            MemberProfiles {
                outstanding: asked && listed.is_empty() && said_none_at.is_none(),
                profiles: listed,
                said_none_at,
                user_id: user.id,
                name: user.name,
            }
        })
        .collect())
}

/// Whether the policy in force asks every member to list their own social media profiles.
pub async fn profiles_asked(store: &Store) -> Result<bool, AppError> {
    Ok(store
        .policy_document()
        .await?
        .is_some_and(|document| document.asks_for_staff_profiles))
}

/// What the policy asks of the actor about their own profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnProfilesStanding {
    /// The policy in force asks every member to list their own profiles.
    pub asked: bool,
    /// When the actor said they have none, if they did.
    pub said_none_at: Option<Timestamp>,
}

/// Whether the policy asks for the actor's own profiles, and whether they said they have none.
pub async fn own_profiles_standing(
    store: &Store,
    actor: &UserRecord,
) -> Result<OwnProfilesStanding, AppError> {
    Ok(OwnProfilesStanding {
        asked: profiles_asked(store).await?,
        said_none_at: store
            .members_without_own_profiles()
            .await?
            .into_iter()
            .find(|(id, _)| *id == actor.id)
            .map(|(_, at)| at),
    })
}

/// The actor says they have no social media profiles of their own (what the policy asks of
/// someone with none). Refused while they have profiles listed.
pub async fn say_no_profiles(
    store: &Store,
    actor: &UserRecord,
    now: Timestamp,
) -> Result<(), AppError> {
    let listed = store.staff_profiles_of(actor.id).await?.len();
    if listed > 0 {
        return Err(AppError::Conflict(format!(
            "you have {listed} profile(s) listed; remove them first if you really have none"
        )));
    }
    let work = store.write().await?;
    work.set_no_staff_profiles(actor.id, Some(now)).await?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "staff.no_profiles_declared",
        Some(format!("user:{}", actor.id)),
        None,
        serde_json::json!({}),
    )
    .await?;
    Ok(work.commit().await?)
}

/// A published company post offered for sharing, with a share link per profile of the
/// member's that shares company posts.
#[derive(Debug, Clone, PartialEq)]
pub struct Shareable {
    pub post: PostRecord,
    /// The account it was published on: its network and handle.
    pub network: Network,
    pub account_handle: String,
    /// The author's suggested words, else the post's own text.
    pub text: String,
    pub suggested: bool,
    pub links: Vec<ShareLink>,
}

/// One share button: the member's profile, and Herald's route that counts the click and
/// leads on to the network's share page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLink {
    pub profile_id: i64,
    pub network: Network,
    pub handle: String,
    /// `/share/{post}/{profile}`.
    pub href: String,
    /// The network's own share page it leads to.
    pub intent_url: String,
}

/// How many recently published posts the share page lists.
const RECENT_POSTS: i64 = 20;

/// The company's recently published posts, newest first, with the actor's share links.
pub async fn shareable(store: &Store, actor: &UserRecord) -> Result<Vec<Shareable>, AppError> {
    let profiles = my_profiles(store, actor).await?;
    let suggested = store.share_texts().await?;
    let accounts = store.all_accounts().await?;
    let mut shareable = Vec::new();
    for post in store
        .posts_in_state(PostState::Published, RECENT_POSTS)
        .await?
    {
        let Some(account) = accounts
            .iter()
            .find(|account| account.id == post.account_id)
        else {
            continue;
        };
        let suggestion = suggested
            .iter()
            .find(|(id, _)| *id == post.id)
            .map(|(_, text)| text.clone());
        let text = suggestion.clone().unwrap_or_else(|| post.text.clone());
        let links = profiles
            .iter()
            .filter(|profile| profile.purpose.shares_company_posts())
            .filter_map(|profile| {
                let intent_url = intent_for(profile, &text, post.remote_url.as_deref())?;
                Some(ShareLink {
                    profile_id: profile.id,
                    network: profile.network,
                    handle: profile.handle.clone(),
                    href: format!("/share/{}/{}", post.id, profile.id),
                    intent_url,
                })
            })
            .collect();
        shareable.push(Shareable {
            network: account.network,
            account_handle: account.handle.clone(),
            suggested: suggestion.is_some(),
            text,
            links,
            post,
        });
    }
    Ok(shareable)
}

/// Records that the actor shared `post_id` to their profile `profile_id`, and answers the
/// network's share page to send them to: only ever one of the networks' share hosts, or the
/// Mastodon server of the actor's own profile.
pub async fn share(
    store: &Store,
    actor: &UserRecord,
    post_id: PostId,
    profile_id: i64,
    now: Timestamp,
) -> Result<String, AppError> {
    let profile = my_profiles(store, actor)
        .await?
        .into_iter()
        .find(|profile| profile.id == profile_id)
        .ok_or_else(|| {
            AppError::not_found(
                Entity::StaffProfile,
                format!("you have no profile {profile_id}"),
            )
        })?;
    if !profile.purpose.shares_company_posts() {
        return Err(AppError::Denied(format!(
            "your {} profile {} is for personal things only; change what it is for to share company posts there",
            profile.network.label(),
            profile.handle
        )));
    }
    let post = store
        .post(post_id)
        .await?
        .filter(|post| post.state == PostState::Published)
        .ok_or_else(|| {
            AppError::not_found(
                Entity::Post,
                format!("there is no published post {post_id}"),
            )
        })?;
    let suggested = store
        .share_texts()
        .await?
        .into_iter()
        .find(|(id, _)| *id == post_id)
        .map(|(_, text)| text);
    let text = suggested.unwrap_or_else(|| post.text.clone());
    let intent_url = intent_for(&profile, &text, post.remote_url.as_deref()).ok_or_else(|| {
        AppError::Conflict(match profile.network {
            Network::Instagram => {
                "Instagram has no share link for the web: share the post from the Instagram app"
                    .to_owned()
            }
            network => format!(
                "{} shares a link only, and this post has no public link yet",
                network.label()
            ),
        })
    })?;
    let server = staff::mastodon_server(&profile.handle);
    if !staff::is_intent_location(&intent_url, server) {
        return Err(AppError::Internal(
            "a share link led outside the networks' share pages".to_owned(),
        ));
    }
    let work = store.write().await?;
    work.record_share(post_id, actor.id, profile.network.as_str(), now)
        .await?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "staff.post_shared",
        Some(format!("post:{post_id}")),
        None,
        serde_json::json!({ "network": profile.network.as_str(), "profile": profile.id }),
    )
    .await?;
    work.commit().await?;
    Ok(intent_url)
}

/// The longest suggested text, in characters (room for a link within X's 280).
pub const LONGEST_SUGGESTION: usize = 250;

/// Sets the author's suggested words for staff sharing a published post, or clears them with
/// an empty text. Only the post's author (or an owner) writes them; the policy guard checks
/// them first, and anything it would block or send for approval is refused, since staff post
/// these words without anyone's approval.
pub async fn suggest_text(
    services: &Services,
    actor: &UserRecord,
    post_id: PostId,
    text: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let store = &services.store;
    let not_found = || AppError::not_found(Entity::Post, format!("there is no post {post_id}"));
    let post = store.post(post_id).await?.ok_or_else(not_found)?;
    if post.author_id != actor.id && actor.role != Role::Owner {
        return Err(AppError::Denied(
            "only the post's author (or an owner) suggests words for sharing it".to_owned(),
        ));
    }
    let text = text.trim();
    if text.chars().count() > LONGEST_SUGGESTION {
        return Err(AppError::invalid(
            "text",
            format!("keep the suggestion to {LONGEST_SUGGESTION} characters"),
        ));
    }
    if !text.is_empty() {
        let (findings, strictest) = policy::scan(store, &services.policy, text, now).await?;
        if strictest >= Some(guard::Action::RequireApproval) {
            let reasons: Vec<String> = findings
                .iter()
                .filter(|finding| finding.action >= guard::Action::RequireApproval)
                .map(|finding| finding.message.clone())
                .collect();
            return Err(AppError::Conflict(format!(
                "staff would post these words without approval, and the policy does not allow them: {}",
                reasons.join(" ")
            )));
        }
    }
    let work = store.write().await?;
    work.set_share_text(post_id, (!text.is_empty()).then_some(text), actor.id, now)
        .await?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "staff.share_text_set",
        Some(format!("post:{post_id}")),
        None,
        serde_json::json!({ "cleared": text.is_empty() }),
    )
    .await?;
    Ok(work.commit().await?)
}

/// How often one member shared one post, for the owners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareTally {
    pub post_id: PostId,
    pub post_excerpt: String,
    pub member: String,
    pub network: Network,
    pub count: i64,
}

/// Every member's shares per post and network (the caller checks the owners' permission).
pub async fn tallies(store: &Store) -> Result<Vec<ShareTally>, AppError> {
    let users = store.list_users().await?;
    let mut tallies = Vec::new();
    for count in store.share_counts().await? {
        let Ok(network) = Network::parse(&count.network) else {
            continue;
        };
        let excerpt = store
            .post(count.post_id)
            .await?
            .map(|post| post.text.chars().take(80).collect())
            .unwrap_or_default();
        tallies.push(ShareTally {
            post_id: count.post_id,
            post_excerpt: excerpt,
            member: users
                .iter()
                .find(|user| user.id == count.user_id)
                .map(|user| user.name.clone())
                .unwrap_or_default(),
            network,
            count: count.count,
        });
    }
    Ok(tallies)
}

fn intent_for(profile: &Profile, text: &str, url: Option<&str>) -> Option<String> {
    let server = staff::mastodon_server(&profile.handle);
    staff::intent_url(profile.network, text, url, server)
}

/// A profile link: https, at most [`LONGEST_LINK`] characters, no spaces.
fn checked_link(link: &str) -> Result<String, AppError> {
    let host = link
        .strip_prefix("https://")
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default())
        .unwrap_or_default();
    if host.is_empty()
        || link.chars().count() > LONGEST_LINK
        || link.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AppError::invalid(
            "link",
            format!(
                "give the profile's web address, starting https:// (at most {LONGEST_LINK} characters), or leave it empty"
            ),
        ));
    }
    Ok(link.to_owned())
}

fn profile(record: StaffProfileRecord) -> Option<Profile> {
    Some(Profile {
        id: record.id,
        user_id: record.user_id,
        network: Network::parse(&record.network).ok()?,
        purpose: Purpose::parse(&record.purpose).ok()?,
        handle: record.handle,
        link: record.link,
        lookalike: record.lookalike,
    })
}
