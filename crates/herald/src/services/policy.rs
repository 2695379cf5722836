//! The company's policy rules as Herald uses them: the guard's TOML, saved in versions by
//! owners, compiled once per version and shared by every scan. `herald scan` and
//! `POST /api/v1/scan` both end up in [`guard::Scanner::scan`].

use crate::domain::ids::UserId;
use std::sync::{Arc, RwLock};

use guard::{Action, Finding, Policy, Scanner};
use jiff::{SignedDuration, Timestamp};

use crate::domain::audit::Actor;
use crate::domain::people::Role;
use crate::services::AppError;
use crate::services::audit::record;
use crate::services::links::{LinkSafety, Reach};
use crate::store::{Store, StoreError, UserRecord};

/// The compiled rules in force, rebuilt when another version is saved (by this process or
/// another one on the same database).
#[derive(Debug, Default)]
pub struct PolicyGuard {
    compiled: RwLock<Option<Compiled>>,
    /// Link safety, whose findings join the scanner's; `None` checks no links beyond the
    /// scanner's own rules.
    links: Option<Arc<LinkSafety>>,
}

#[derive(Debug)]
struct Compiled {
    version: Option<i64>,
    scanner: Arc<Scanner>,
    /// When the database last confirmed `version` is the newest.
    checked_at: Timestamp,
}

/// How long a compiled policy is used without asking the database for a newer version. Saves
/// in this process apply at once; saves by another process on the same database within this.
const RECHECK: SignedDuration = SignedDuration::from_secs(1);

/// The rules in force as TOML, with their version (`None`: the built-in defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub version: Option<i64>,
    pub source: String,
}

impl PolicyGuard {
    /// A guard whose scans also judge links with `links`.
    pub fn with_links(links: Arc<LinkSafety>) -> PolicyGuard {
        PolicyGuard {
            compiled: RwLock::default(),
            links: Some(links),
        }
    }

    /// Link safety, when this guard has it.
    pub fn links(&self) -> Option<&Arc<LinkSafety>> {
        self.links.as_ref()
    }

    /// The scanner for the rules in force.
    pub async fn scanner(&self, store: &Store, now: Timestamp) -> Result<Arc<Scanner>, StoreError> {
        if let Some(scanner) = self.recently_checked(now) {
            return Ok(scanner);
        }
        let version = store.policy_version().await?;
        if let Some(scanner) = self.cached(version, now) {
            return Ok(scanner);
        }
        let scanner = match store.policy_rules().await? {
            Some((_, source)) => compile(&source),
            None => Scanner::default(),
        };
        let scanner = Arc::new(scanner);
        if let Ok(mut compiled) = self.compiled.write() {
            *compiled = Some(Compiled {
                version,
                scanner: scanner.clone(),
                checked_at: now,
            });
        }
        Ok(scanner)
    }

    /// Drops the compiled rules, so the next scan compiles the newest ones.
    pub fn forget(&self) {
        if let Ok(mut compiled) = self.compiled.write() {
            *compiled = None;
        }
    }

    fn recently_checked(&self, now: Timestamp) -> Option<Arc<Scanner>> {
        let compiled = self.compiled.read().ok()?;
        compiled
            .as_ref()
            .filter(|compiled| compiled.checked_at.duration_until(now) < RECHECK)
            .map(|compiled| compiled.scanner.clone())
    }

    /// The compiled rules if they are `version`, noting that the database just confirmed it.
    fn cached(&self, version: Option<i64>, now: Timestamp) -> Option<Arc<Scanner>> {
        let mut compiled = self.compiled.write().ok()?;
        let compiled = compiled
            .as_mut()
            .filter(|compiled| compiled.version == version)?;
        compiled.checked_at = now;
        Some(compiled.scanner.clone())
    }
}

/// Scans a draft with the rules in force, links judged offline (feeds, look-alikes, short
/// links already followed): the findings, and the strictest action among them.
pub async fn scan(
    store: &Store,
    guard: &PolicyGuard,
    text: &str,
    now: Timestamp,
) -> Result<(Vec<Finding>, Option<Action>), StoreError> {
    scan_reaching(store, guard, text, now, Reach::Offline).await
}

/// The same, with links followed as far as `reach`.
pub async fn scan_reaching(
    store: &Store,
    guard: &PolicyGuard,
    text: &str,
    now: Timestamp,
    reach: Reach,
) -> Result<(Vec<Finding>, Option<Action>), StoreError> {
    let mut findings = guard.scanner(store, now).await?.scan(text);
    if let Some(links) = &guard.links {
        findings.extend(links.findings(store, text, now, reach).await?);
        findings.sort_by_key(|finding| (finding.span.start, finding.span.end));
    }
    let strictest = findings.iter().map(|finding| finding.action).max();
    Ok((findings, strictest))
}

/// The rules in force, as TOML for export or editing.
pub async fn rules(store: &Store) -> Result<Rules, AppError> {
    match store.policy_rules().await? {
        Some((version, source)) => Ok(Rules {
            version: Some(version),
            source,
        }),
        None => Ok(Rules {
            version: None,
            source: Policy::default()
                .to_toml()
                .map_err(|error| AppError::Internal(error.to_string()))?,
        }),
    }
}

/// The rules in force as one member may read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesRead {
    pub version: Option<i64>,
    /// The TOML, for owners and admins only: it names the confidential terms, the company's
    /// contact details and custom rules' patterns.
    pub toml: Option<String>,
    /// Every rule in force: its id, action and message (what everyone may know).
    pub rules: Vec<guard::RuleSummary>,
}

/// The rules in force for `actor`: their names and messages for every member, and the TOML
/// too for owners and admins.
pub async fn rules_for(
    store: &Store,
    guard: &PolicyGuard,
    actor: &UserRecord,
    now: Timestamp,
) -> Result<RulesRead, AppError> {
    let in_force = rules(store).await?;
    let scanner = guard.scanner(store, now).await?;
    Ok(RulesRead {
        version: in_force.version,
        toml: (actor.role >= Role::Admin).then_some(in_force.source),
        rules: scanner.rules(),
    })
}

/// Saves new rules (owners). A file with a syntax error, an unknown key or an invalid rule is
/// refused whole, naming the line and column, and the rules in force stay as they were.
pub async fn save(
    store: &Store,
    guard: &PolicyGuard,
    actor: &UserRecord,
    source: &str,
    now: Timestamp,
) -> Result<i64, AppError> {
    let invalid = |message: String| AppError::Invalid {
        field: "toml",
        message,
    };
    let policy = Policy::from_toml(source).map_err(|error| invalid(error.to_string()))?;
    Scanner::new(&policy).map_err(|error| invalid(error.to_string()))?;
    let work = store.write().await?;
    let version = work.save_policy_rules(source, actor.id, now).await?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "policy.rules_saved",
        Some(format!("policy:{version}")),
        None,
        serde_json::json!({ "version": version, "rules": policy.rules.len() }),
    )
    .await?;
    work.commit().await?;
    guard.forget();
    Ok(version)
}

/// Compiles saved rules. They were checked when saved, but a rule that a newer Herald no
/// longer accepts is skipped (and logged) rather than stopping every other rule.
fn compile(source: &str) -> Scanner {
    match Policy::from_toml_lenient(source) {
        Ok((policy, problems)) => {
            let (scanner, more) = Scanner::build(&policy);
            for problem in problems.iter().chain(&more) {
                tracing::warn!(%problem, "a policy rule is skipped");
            }
            scanner
        }
        Err(error) => {
            tracing::error!(%error, "the saved policy cannot be read; the built-in rules apply");
            Scanner::default()
        }
    }
}

/// The policy's words as a member sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub version: i64,
    pub markdown: String,
    pub published_at: Timestamp,
    /// When the caller acknowledged this version, if they did.
    pub acknowledged_at: Option<Timestamp>,
    /// This version asks every member to list their own social media profiles.
    pub asks_for_staff_profiles: bool,
}

/// One member's acknowledgement of the current version, for owners and admins.
#[derive(Debug, Clone, PartialEq)]
pub struct Acknowledgement {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub acknowledged_at: Option<Timestamp>,
}

/// Longest policy text accepted (about 30 printed pages).
const LONGEST_DOCUMENT: usize = 100_000;

/// The current policy document, or `None` while none was published.
pub async fn document(store: &Store, user: &UserRecord) -> Result<Option<Document>, AppError> {
    let Some(record) = store.policy_document().await? else {
        return Ok(None);
    };
    let acknowledged_at = store
        .policy_acknowledgements(record.version)
        .await?
        .into_iter()
        .find(|(user_id, _)| *user_id == user.id)
        .map(|(_, at)| at);
    Ok(Some(Document {
        version: record.version,
        markdown: record.markdown,
        published_at: record.created_at,
        acknowledged_at,
        asks_for_staff_profiles: record.asks_for_staff_profiles,
    }))
}

/// Publishes a new version (owners). Every active member is asked to acknowledge it, and,
/// when it `asks_for_staff_profiles`, to list their own social media profiles (or say they
/// have none).
pub async fn publish(
    store: &Store,
    actor: &UserRecord,
    markdown: &str,
    asks_for_staff_profiles: bool,
    now: Timestamp,
) -> Result<i64, AppError> {
    if markdown.trim().is_empty() || markdown.chars().count() > LONGEST_DOCUMENT {
        return Err(AppError::Invalid {
            field: "markdown",
            message: format!("write the policy in 1 to {LONGEST_DOCUMENT} characters"),
        });
    }
    let work = store.write().await?;
    let store: &Store = &work;
    let version = store
        .publish_policy_document(markdown, actor.id, now)
        .await?;
    if asks_for_staff_profiles {
        store.ask_for_staff_profiles(version).await?;
    }
    // The author has read what they wrote.
    store.acknowledge_policy(actor.id, version, now).await?;
    let body = if asks_for_staff_profiles {
        "The company's social media policy has changed. Read it and confirm you accept it before you next post. It also asks you to list your own social media profiles under \"Your own networks\" (or to say there that you have none)."
    } else {
        "The company's social media policy has changed. Read it and confirm you accept it before you next post."
    };
    for user in store.list_users().await? {
        if user.active && user.id != actor.id {
            store
                .add_notification(
                    user.id,
                    crate::domain::notifications::NotificationKind::Policy,
                    &format!("Please read the social media policy (version {version})"),
                    body,
                    Some("/policy"),
                    now,
                )
                .await?;
        }
    }
    record(
        store,
        now,
        Actor::User(actor.id),
        "policy.document_published",
        Some(format!("policy_document:{version}")),
        None,
        serde_json::json!({ "version": version, "asks_for_staff_profiles": asks_for_staff_profiles }),
    )
    .await?;
    work.commit().await?;
    Ok(version)
}

/// Records that `actor` read and accepts `version`, which must be the current one.
pub async fn acknowledge(
    store: &Store,
    actor: &UserRecord,
    version: i64,
    now: Timestamp,
) -> Result<(), AppError> {
    let current = store.policy_document().await?.map(|record| record.version);
    if current != Some(version) {
        return Err(AppError::Conflict(match current {
            Some(current) => format!(
                "version {version} is not the current policy; read version {current} and acknowledge that"
            ),
            None => "no policy has been published yet".to_owned(),
        }));
    }
    let work = store.write().await?;
    let store: &Store = &work;
    store.acknowledge_policy(actor.id, version, now).await?;
    record(
        store,
        now,
        Actor::User(actor.id),
        "policy.acknowledged",
        Some(format!("policy_document:{version}")),
        None,
        serde_json::json!({ "version": version }),
    )
    .await?;
    Ok(work.commit().await?)
}

/// Who has acknowledged the current version: every active member, acknowledged or not.
pub async fn acknowledgements(store: &Store) -> Result<Vec<Acknowledgement>, AppError> {
    let acknowledged = match store.policy_document().await? {
        Some(record) => store.policy_acknowledgements(record.version).await?,
        None => Vec::new(),
    };
    Ok(store
        .list_users()
        .await?
        .into_iter()
        .filter(|user| user.active)
        .map(|user| Acknowledgement {
            acknowledged_at: acknowledged
                .iter()
                .find(|(user_id, _)| *user_id == user.id)
                .map(|(_, at)| *at),
            user_id: user.id,
            name: user.name,
            email: user.email,
        })
        .collect())
}
