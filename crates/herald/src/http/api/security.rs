//! `GET /api/v1/security`: the security review the security page shows.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::access::Permission;
use crate::domain::accounts::Network;
use crate::domain::ids::AccountId;
use crate::domain::security::Standing;
use crate::http::auth::Caller;
use crate::http::{ApiError, AppState};
use crate::services::security::{self, Practice};

/// One practice: how well it is followed, what Herald measured, and the page that fixes it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "key": "network_2fa", "title": "Two-step sign-in is on at every network",
    "standing": "attention", "measured": "1 of 2 accounts have no two-step sign-in recorded.",
    "fix": "/accounts/2", "fix_label": "Record its two-step sign-in (Sunny Café)"
}))]
pub struct PracticeView {
    /// A stable name for the practice.
    pub key: &'static str,
    pub title: &'static str,
    pub standing: Standing,
    pub measured: String,
    /// The page of the web app that fixes it, when something needs doing.
    pub fix: Option<String>,
    pub fix_label: Option<String>,
}

/// One account's score and what lowers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountScoreView {
    pub id: AccountId,
    pub name: String,
    pub network: Network,
    pub handle: String,
    /// 0–100.
    pub score: u8,
    /// What lowers the score, most serious first.
    pub findings: Vec<ScoreFindingView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreFindingView {
    pub standing: Standing,
    pub text: String,
    /// Points this costs the account's score.
    pub cost: u8,
}

/// One day's company score.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreDayView {
    /// The UTC date, YYYY-MM-DD.
    #[schema(example = "2026-12-05")]
    pub day: String,
    pub score: u8,
}

/// The company's part: for owners and admins.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyView {
    /// 0–100: the accounts' average weighed three to one against the company's own practices.
    pub score: u8,
    pub practices: Vec<PracticeView>,
    /// Lowest score first.
    pub accounts: Vec<AccountScoreView>,
    /// The last 90 days' readings, oldest first; the last is today's as it stands.
    pub history: Vec<ScoreDayView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityView {
    /// Null unless the caller may see the members (owners and admins; a token needs
    /// `members:read`).
    pub company: Option<CompanyView>,
    /// The caller's own practices.
    pub you: Vec<PracticeView>,
}

/// Reads the security review
///
/// The practices of a safe social media presence, each with Herald's measured state and the
/// page that fixes it, and a score per account and for the company with its history. Owners and
/// admins see the company; every member sees their own part. Nothing secret.
#[utoipa::path(get, path = "/api/v1/security", tag = "security", security(("token" = ["me:read"]), ("session" = [])),
    responses((status = 200, description = "The review", body = SecurityView), (status = 403, description = "A token without `me:read`", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SecurityView>, ApiError> {
    caller.require(Permission::ViewOwnAccount)?;
    let with_company = caller.require(Permission::ViewMembers).is_ok();
    let review = security::review(&state, &caller.user, with_company).await?;
    Ok(Json(SecurityView {
        company: review.company.map(|company| CompanyView {
            score: company.score,
            practices: company.practices.into_iter().map(practice_view).collect(),
            accounts: company
                .accounts
                .into_iter()
                .map(|account| AccountScoreView {
                    id: account.id,
                    name: account.name,
                    network: account.network,
                    handle: account.handle,
                    score: account.score,
                    findings: account
                        .findings
                        .into_iter()
                        .map(|finding| ScoreFindingView {
                            standing: finding.standing,
                            text: finding.text,
                            cost: finding.cost,
                        })
                        .collect(),
                })
                .collect(),
            history: company
                .history
                .into_iter()
                .map(|(day, score)| ScoreDayView { day, score })
                .collect(),
        }),
        you: review.own.into_iter().map(practice_view).collect(),
    }))
}

fn practice_view(practice: Practice) -> PracticeView {
    let (fix, fix_label) = practice.action.unzip();
    PracticeView {
        key: practice.key,
        title: practice.title,
        standing: practice.standing,
        measured: practice.measured,
        fix,
        fix_label,
    }
}
