//! The security review (the security page and `GET /api/v1/security`): the practices of the
//! brief, each with Herald's measured state and the page that fixes it; a score per account
//! and for the company, with its daily history. Owners and admins see the company; every
//! member sees their own part. The rules and weights are in `domain/security.rs`.

use jiff::{SignedDuration, Timestamp};

use super::Services;
use super::credentials;
use super::error::AppError;
use crate::domain::accounts::Network;
use crate::domain::ids::AccountId;
use crate::domain::security::{
    AccountFacts, CompanyFacts, Finding, Standing, account_findings, company_findings,
    company_score, days_ago, score,
};
use crate::store::{AccountRecord, Store, UserRecord};

/// Days of history the chart shows.
pub const HISTORY_DAYS: i64 = 90;

/// A practice, how well it is followed, and where to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Practice {
    /// Stable name, e.g. `network_2fa`.
    pub key: &'static str,
    pub title: &'static str,
    pub standing: Standing,
    /// What Herald measured, in a sentence.
    pub measured: String,
    /// The page that fixes it, and what the link says.
    pub action: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountReview {
    pub id: AccountId,
    pub name: String,
    pub network: Network,
    pub handle: String,
    pub score: u8,
    pub findings: Vec<Finding>,
}

/// What owners and admins see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyReview {
    pub score: u8,
    pub practices: Vec<Practice>,
    pub accounts: Vec<AccountReview>,
    /// (UTC day, score), oldest first: the daily readings, then today's as it stands.
    pub history: Vec<(String, u8)>,
}

/// What every member sees: their own practices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub company: Option<CompanyReview>,
    pub own: Vec<Practice>,
}

/// The review: `actor`'s own part, and the company's when `with_company` (the caller may see
/// the members: owners and admins).
pub async fn review(
    services: &Services,
    actor: &UserRecord,
    with_company: bool,
) -> Result<Review, AppError> {
    let now = services.now();
    let store = &services.store;
    let company = if with_company {
        let mut company = company_review(services, now).await?;
        let from = day_of(
            now.saturating_sub(SignedDuration::from_hours(24 * HISTORY_DAYS))
                .unwrap_or(now),
        );
        let mut history = store.security_scores(&from).await?;
        let today = day_of(now);
        history.retain(|(day, _)| *day != today);
        history.push((today, company.score));
        company.history = history;
        Some(company)
    } else {
        None
    };
    Ok(Review {
        company,
        own: own_part(store, actor).await?,
    })
}

/// Records today's company score (the daily job). Returns the review it was read from.
pub async fn record_today(services: &Services, now: Timestamp) -> Result<CompanyReview, AppError> {
    let review = company_review(services, now).await?;
    services
        .store
        .record_security_score(&day_of(now), review.score, now)
        .await?;
    Ok(review)
}

async fn company_review(services: &Services, now: Timestamp) -> Result<CompanyReview, AppError> {
    let store = &services.store;
    let accounts = store.all_accounts().await?;
    let users: Vec<UserRecord> = store
        .list_users()
        .await?
        .into_iter()
        .filter(|user| user.active)
        .collect();
    let incidents = store.incidents().await?;
    let mut reviews = Vec::new();
    let mut all_facts = Vec::new();
    for account in &accounts {
        let facts = account_facts(store, account, &incidents, now).await?;
        let findings = account_findings(&facts);
        reviews.push(AccountReview {
            id: account.id,
            name: account.display_name.clone(),
            network: account.network,
            handle: account.handle.clone(),
            score: score(&findings),
            findings,
        });
        all_facts.push((account, facts));
    }
    // The published document's version (what members accept), not the rules' version.
    let version = store
        .policy_document()
        .await?
        .map(|document| document.version);
    let accepted: Vec<_> = match version {
        Some(version) => store.policy_acknowledgements(version).await?,
        None => Vec::new(),
    };
    let mut without_passkey = 0;
    for user in &users {
        if store.passkeys_of(user.id).await?.is_empty() {
            without_passkey += 1;
        }
    }
    let last_drill = incidents
        .iter()
        .filter(|incident| incident.drill)
        .map(|incident| incident.opened_at)
        .max();
    let week_ago = now
        .saturating_sub(SignedDuration::from_hours(24 * 7))
        .unwrap_or(now);
    let company = CompanyFacts {
        members: users.len(),
        members_without_current_policy: match version {
            Some(_) => users
                .iter()
                .filter(|user| !accepted.iter().any(|(id, _)| *id == user.id))
                .count(),
            None => 0,
        },
        members_without_passkey: without_passkey,
        days_since_drill: last_drill.map(|at| days_between(at, now)),
        dangerous_inbox_this_week: store.dangerous_inbox_since(week_ago).await?,
        members_without_course: match store.training_course().await? {
            None => None,
            Some(_) => Some(
                super::training::standing(store)
                    .await?
                    .iter()
                    .filter(|member| !member.complete)
                    .count(),
            ),
        },
        members_without_own_profiles: if super::staff::profiles_asked(store).await? {
            Some(
                super::staff::everyones_profiles(store)
                    .await?
                    .iter()
                    .filter(|member| member.outstanding)
                    .count(),
            )
        } else {
            None
        },
        mail_configured: super::mail::configured(services),
        webhooks_turned_off: store.disabled_webhook_endpoints().await?,
    };
    let practices_score = score(&company_findings(&company));
    let account_scores: Vec<u8> = reviews.iter().map(|review| review.score).collect();
    reviews.sort_by_key(|review| (review.score, review.id));
    Ok(CompanyReview {
        score: company_score(&account_scores, practices_score),
        practices: practices(&all_facts, &company, version.is_some()),
        accounts: reviews,
        history: Vec::new(),
    })
}

async fn account_facts(
    store: &Store,
    account: &AccountRecord,
    incidents: &[crate::store::IncidentRecord],
    now: Timestamp,
) -> Result<AccountFacts, AppError> {
    let posture = credentials::account_posture(store, account, now).await?;
    Ok(AccountFacts {
        gatekeeper_active: posture.gatekeeper_active,
        password_stored: posture.password.is_some(),
        password_strength: posture.password.as_ref().and_then(|p| p.strength),
        password_age_days: posture.password.as_ref().map_or(0, |p| p.age_days),
        password_reused: posture.password.as_ref().is_some_and(|p| p.reused),
        password_breached: posture.password.as_ref().is_some_and(|p| p.breached),
        network_2fa_recorded: posture.network_2fa_recorded,
        rotate_now_days: posture.rotate_now_since.map(|at| days_between(at, now)),
        connected: account.connection == "connected",
        open_incident: incidents
            .iter()
            .any(|incident| incident.account_id == account.id && incident.closed_at.is_none()),
    })
}

/// The brief's practices for the company, measured, in the order the page shows them.
fn practices(
    accounts: &[(&AccountRecord, AccountFacts)],
    company: &CompanyFacts,
    has_policy: bool,
) -> Vec<Practice> {
    let first = |wrong: &dyn Fn(&AccountFacts) -> bool, anchor: &str, label: &str| {
        accounts
            .iter()
            .find(|(_, facts)| wrong(facts))
            .map(|(account, _)| {
                (
                    format!("/accounts/{}{anchor}", account.id),
                    format!("{label} ({})", account.display_name),
                )
            })
    };
    let count = |wrong: &dyn Fn(&AccountFacts) -> bool| {
        accounts.iter().filter(|(_, facts)| wrong(facts)).count()
    };
    let of = |n: usize| format!("{n} of {}", accounts.len());
    let mut list = Vec::new();

    let keeperless = |facts: &AccountFacts| !facts.gatekeeper_active;
    list.push(Practice {
        key: "gatekeeper",
        title: "Every account has a gatekeeper who is still here",
        standing: standing(count(&keeperless), Standing::Risk),
        measured: match count(&keeperless) {
            0 => "Every account's gatekeeper is an active member.".to_owned(),
            n => format!("{} accounts have lost their gatekeeper.", of(n)),
        },
        action: first(&keeperless, "#access", "Name a new gatekeeper"),
    });

    let breached = |facts: &AccountFacts| facts.password_breached || facts.password_reused;
    let weak = |facts: &AccountFacts| {
        facts.password_stored
            && (facts.password_strength.is_some_and(|s| s < 3)
                || facts.password_age_days > crate::domain::security::OLD_PASSWORD_DAYS)
    };
    let unstored = |facts: &AccountFacts| !facts.password_stored;
    let password_trouble = |facts: &AccountFacts| breached(facts) || weak(facts) || unstored(facts);
    list.push(Practice {
        key: "passwords",
        title: "Network passwords are strong, unique, unbreached and kept in the vault",
        standing: if count(&breached) > 0 {
            Standing::Risk
        } else {
            standing(count(&weak) + count(&unstored), Standing::Attention)
        },
        measured: if count(&password_trouble) == 0 {
            "Every account's password is in the vault, strong and used nowhere else.".to_owned()
        } else {
            format!(
                "Breached or reused: {}. Weak or over a year old: {}. Not in the vault: {}.",
                count(&breached),
                count(&weak),
                count(&unstored)
            )
        },
        action: first(&password_trouble, "#credentials", "Change the password"),
    });

    let no_2fa = |facts: &AccountFacts| !facts.network_2fa_recorded;
    list.push(Practice {
        key: "network_2fa",
        title: "Two-step sign-in is on at every network",
        standing: standing(count(&no_2fa), Standing::Attention),
        measured: match count(&no_2fa) {
            0 => "Every account's two-step sign-in is recorded in the vault.".to_owned(),
            n => format!("{} accounts have no two-step sign-in recorded.", of(n)),
        },
        action: first(&no_2fa, "#credentials", "Record its two-step sign-in"),
    });

    let rotate = |facts: &AccountFacts| facts.rotate_now_days.is_some();
    let oldest = accounts
        .iter()
        .filter_map(|(_, facts)| facts.rotate_now_days)
        .max();
    list.push(Practice {
        key: "rotate_now",
        title: "Passwords are changed as soon as Herald asks",
        standing: standing(count(&rotate), Standing::Risk),
        measured: match oldest {
            None => "No password is waiting to be changed.".to_owned(),
            Some(days) => format!(
                "{} accounts wait for a new password, the oldest since {}.",
                count(&rotate),
                days_ago(days)
            ),
        },
        action: first(&rotate, "#credentials", "Change the password"),
    });

    let unconnected = |facts: &AccountFacts| !facts.connected;
    list.push(Practice {
        key: "connected",
        title: "Every account is connected, so Herald can publish and watch it",
        standing: standing(count(&unconnected), Standing::Attention),
        measured: match count(&unconnected) {
            0 => "Every account is connected.".to_owned(),
            n => format!("{} accounts are not connected.", of(n)),
        },
        action: first(&unconnected, "#connection", "Connect it"),
    });

    let incident = |facts: &AccountFacts| facts.open_incident;
    list.push(Practice {
        key: "incidents",
        title: "No hacked-account incident is left open",
        standing: standing(count(&incident), Standing::Risk),
        measured: match count(&incident) {
            0 => "No incident is open.".to_owned(),
            n => format!("{n} incidents are open."),
        },
        action: (count(&incident) > 0)
            .then(|| ("/incidents".to_owned(), "Finish the recovery".to_owned())),
    });

    list.push(Practice {
        key: "drill",
        title: "The hacked-account plan is practised twice a year",
        standing: match company.days_since_drill {
            Some(days) if days <= crate::domain::security::DRILL_EVERY_DAYS => Standing::Good,
            _ => Standing::Attention,
        },
        measured: match company.days_since_drill {
            None => "The plan has never been practised.".to_owned(),
            Some(days) => format!("Last practised {}.", days_ago(days)),
        },
        action: accounts.first().map(|(account, _)| {
            (
                format!("/accounts/{}/incident", account.id),
                "Practise the plan (a drill changes nothing real)".to_owned(),
            )
        }),
    });

    list.push(Practice {
        key: "policy",
        title: "Everyone has accepted the current social media policy",
        standing: if has_policy {
            standing(company.members_without_current_policy, Standing::Attention)
        } else {
            Standing::Attention
        },
        measured: if !has_policy {
            "No policy document is published yet.".to_owned()
        } else if company.members_without_current_policy == 0 {
            "Every member has accepted the current policy.".to_owned()
        } else {
            format!(
                "{} of {} members have not accepted it yet.",
                company.members_without_current_policy, company.members
            )
        },
        action: Some(("/policy".to_owned(), "Open the policy".to_owned())),
    });

    list.push(Practice {
        key: "passkeys",
        title: "Everyone signs in with a passkey",
        standing: standing(company.members_without_passkey, Standing::Attention),
        measured: match company.members_without_passkey {
            0 => "Every member has a passkey.".to_owned(),
            n => format!("{n} of {} members have no passkey yet.", company.members),
        },
        action: Some(("/members".to_owned(), "See the members".to_owned())),
    });

    list.push(Practice {
        key: "training",
        title: "Everyone has passed the staff course",
        standing: match company.members_without_course {
            Some(0) => Standing::Good,
            _ => Standing::Attention,
        },
        measured: match company.members_without_course {
            None => "The staff course is not published yet.".to_owned(),
            Some(0) => "Every member has passed the course for the policy in force.".to_owned(),
            Some(missing) => format!(
                "{missing} of {} members have not passed it yet.",
                company.members
            ),
        },
        action: Some(("/training".to_owned(), "Open the staff course".to_owned())),
    });

    list.push(Practice {
        key: "staff_profiles",
        title: "Everyone's own social media profiles are listed",
        standing: match company.members_without_own_profiles {
            Some(0) => Standing::Good,
            _ => Standing::Attention,
        },
        measured: match company.members_without_own_profiles {
            None => "The policy does not ask members to list their own profiles, so nobody knows who may seem to speak for the company.".to_owned(),
            Some(0) => "Every member has listed their own profiles, or said they have none.".to_owned(),
            Some(missing) => format!(
                "{missing} of {} members have not listed their own profiles yet.",
                company.members
            ),
        },
        action: Some(match company.members_without_own_profiles {
            None => ("/policy".to_owned(), "Ask for them in the policy".to_owned()),
            Some(_) => ("/staff/profiles".to_owned(), "See everyone's profiles".to_owned()),
        }),
    });

    list.push(Practice {
        key: "mail",
        title: "Warnings reach people by e-mail",
        standing: if company.mail_configured {
            Standing::Good
        } else {
            Standing::Attention
        },
        measured: if company.mail_configured {
            "E-mail is set up: alerts, invitations and summaries are sent.".to_owned()
        } else {
            "E-mail is not set up: warnings wait in Herald until someone looks.".to_owned()
        },
        action: (!company.mail_configured)
            .then(|| ("/settings/mail".to_owned(), "Set up e-mail".to_owned())),
    });

    if company.webhooks_turned_off > 0 {
        list.push(Practice {
            key: "webhooks",
            title: "Webhooks deliver",
            standing: Standing::Attention,
            measured: format!(
                "{} endpoints were turned off after failing again and again.",
                company.webhooks_turned_off
            ),
            action: Some((
                "/settings/webhooks".to_owned(),
                "See the endpoints".to_owned(),
            )),
        });
    }

    list.push(Practice {
        key: "inbox",
        title: "Dangerous messages are caught before anyone clicks",
        standing: if company.dangerous_inbox_this_week > 0 {
            Standing::Attention
        } else {
            Standing::Good
        },
        measured: match company.dangerous_inbox_this_week {
            0 => "No dangerous message arrived this week.".to_owned(),
            n => format!("{n} dangerous messages arrived this week; Herald held their links."),
        },
        action: (company.dangerous_inbox_this_week > 0)
            .then(|| ("/inbox?verdict=dangerous".to_owned(), "See them".to_owned())),
    });
    list
}

/// A member's own practices.
async fn own_part(store: &Store, actor: &UserRecord) -> Result<Vec<Practice>, AppError> {
    let version = store
        .policy_document()
        .await?
        .map(|document| document.version);
    let accepted = match version {
        Some(version) => store
            .policy_acknowledgements(version)
            .await?
            .iter()
            .any(|(id, _)| *id == actor.id),
        None => true,
    };
    let passkeys = store.passkeys_of(actor.id).await?.len();
    let course_due = super::training::outstanding(store, actor).await?;
    let mut own = vec![
        Practice {
            key: "own_policy",
            title: "You have accepted the current social media policy",
            standing: if accepted {
                Standing::Good
            } else {
                Standing::Attention
            },
            measured: if accepted {
                "You have accepted it.".to_owned()
            } else {
                "You have not accepted the current version yet.".to_owned()
            },
            action: (!accepted).then(|| ("/policy".to_owned(), "Read and accept it".to_owned())),
        },
        Practice {
            key: "own_passkey",
            title: "You sign in with a passkey",
            standing: if passkeys > 0 {
                Standing::Good
            } else {
                Standing::Attention
            },
            measured: match passkeys {
                0 => "You sign in with a password and a code; a passkey cannot be phished."
                    .to_owned(),
                n => format!("You have {n} passkey(s)."),
            },
            action: (passkeys == 0).then(|| {
                (
                    "/account#passkeys-heading".to_owned(),
                    "Add a passkey".to_owned(),
                )
            }),
        },
    ];
    if course_due {
        own.push(Practice {
            key: "own_training",
            title: "You have passed the staff course",
            standing: Standing::Attention,
            measured: "You have not passed it for the policy in force; you post once you have."
                .to_owned(),
            action: Some(("/training".to_owned(), "Take the course".to_owned())),
        });
    }
    Ok(own)
}

fn standing(wrong: usize, when_wrong: Standing) -> Standing {
    if wrong == 0 {
        Standing::Good
    } else {
        when_wrong
    }
}

fn days_between(from: Timestamp, to: Timestamp) -> i64 {
    from.duration_until(to).as_hours() / 24
}

/// The UTC date of `at`, as YYYY-MM-DD.
pub fn day_of(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d").to_string()
}

/// The owners' weekly summary by e-mail (when mail is set up): the score and how it moved in a
/// week, what needs doing, the weakest accounts, and a link to the security page. One message
/// per owner and ISO week; a second run in the same week adds nothing. Returns how many were
/// put in the outbox.
pub async fn weekly_summary(
    services: &Services,
    review: &CompanyReview,
    base: &str,
    now: Timestamp,
) -> Result<usize, AppError> {
    if !super::mail::configured(services) {
        return Ok(0);
    }
    let store = &services.store;
    let week_ago = day_of(
        now.saturating_sub(SignedDuration::from_hours(24 * 7))
            .unwrap_or(now),
    );
    let before = store
        .security_scores(&week_ago)
        .await?
        .first()
        .map(|(_, score)| *score);
    let organisation = super::mail::organisation(services).await?;
    let subject = format!(
        "{organisation}: security score {}/100 this week",
        review.score
    );
    let mut paragraphs = vec![match before {
        Some(before) if before != review.score => format!(
            "The company's security score is {}/100; it was {before} a week ago.",
            review.score
        ),
        _ => format!("The company's security score is {}/100.", review.score),
    }];
    let to_do: Vec<String> = review
        .practices
        .iter()
        .filter(|practice| practice.standing != Standing::Good)
        .map(|practice| format!("- {}: {}", practice.title, practice.measured))
        .collect();
    paragraphs.push(if to_do.is_empty() {
        "Every practice Herald measures is followed. Well done.".to_owned()
    } else {
        format!("What needs doing:\n{}", to_do.join("\n"))
    });
    let weakest: Vec<String> = review
        .accounts
        .iter()
        .filter(|account| account.score < 100)
        .take(3)
        .map(|account| {
            format!(
                "- {} ({}): {}/100",
                account.name,
                account.network.label(),
                account.score
            )
        })
        .collect();
    if !weakest.is_empty() {
        paragraphs.push(format!(
            "The accounts that need it most:\n{}",
            weakest.join("\n")
        ));
    }
    let parts = super::mail::compose::Letter {
        organisation,
        subject: subject.clone(),
        paragraphs,
        action: Some((
            "Open the security page".to_owned(),
            format!("{base}/security"),
        )),
        footer: "Sent every Monday to the organisation's owners.".to_owned(),
    }
    .parts();
    let week = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%G-W%V")
        .to_string();
    let owners: Vec<UserRecord> = store
        .list_users()
        .await?
        .into_iter()
        .filter(|user| user.active && user.role == crate::domain::people::Role::Owner)
        .collect();
    let work = store.write().await?;
    let mut sent = 0;
    for owner in &owners {
        let key = format!("security-summary:{}:{week}", owner.id);
        let added = super::mail::enqueue(
            &work,
            &services.keys,
            &key,
            &owner.email,
            &subject,
            &parts,
            now,
        )
        .await?;
        if added.is_some() {
            sent += 1;
        }
    }
    work.commit().await?;
    Ok(sent)
}
