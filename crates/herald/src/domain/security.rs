//! The security review's rules: what each practice asks of an account and of the company, and
//! the scores (0–100) they add up to. Pure: the facts come from `services::security`.

use serde::Serialize;
use utoipa::ToSchema;

/// How well a practice is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Followed.
    Good,
    /// Worth fixing soon.
    Attention,
    /// A real risk today.
    Risk,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Good => "good",
            Standing::Attention => "attention",
            Standing::Risk => "risk",
        }
    }

    /// The word shown beside the practice.
    pub fn label(self) -> &'static str {
        match self {
            Standing::Good => "Done",
            Standing::Attention => "Needs attention",
            Standing::Risk => "At risk",
        }
    }
}

/// A stored password older than this should be changed.
pub const OLD_PASSWORD_DAYS: i64 = 365;
/// A hacked-account plan not practised for this long is stale.
pub const DRILL_EVERY_DAYS: i64 = 180;

/// What Herald knows of one account's safety.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFacts {
    pub gatekeeper_active: bool,
    /// The network password is in Herald's vault.
    pub password_stored: bool,
    /// zxcvbn score 0–4, when stored and measured.
    pub password_strength: Option<i64>,
    pub password_age_days: i64,
    pub password_reused: bool,
    pub password_breached: bool,
    /// The network's own two-step sign-in seed is recorded.
    pub network_2fa_recorded: bool,
    /// Days the oldest open "rotate now" request has waited, if one is open.
    pub rotate_now_days: Option<i64>,
    pub connected: bool,
    pub open_incident: bool,
}

/// One thing wrong with an account, and what it costs the account's score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub standing: Standing,
    pub text: String,
    pub cost: u8,
}

/// What is wrong with an account, most serious first.
pub fn account_findings(facts: &AccountFacts) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut add = |standing, cost, text: &str| {
        found.push(Finding {
            standing,
            text: text.to_owned(),
            cost,
        });
    };
    if facts.open_incident {
        add(
            Standing::Risk,
            30,
            "an incident is open: finish its recovery",
        );
    }
    if !facts.gatekeeper_active {
        add(
            Standing::Risk,
            25,
            "its gatekeeper has left: name a new one",
        );
    }
    if facts.password_breached {
        add(Standing::Risk, 30, "its password is in a known data breach");
    }
    if let Some(days) = facts.rotate_now_days {
        let text = format!("its password should have been changed {}", days_ago(days));
        add(Standing::Risk, 15, &text);
    }
    if facts.password_reused {
        add(
            Standing::Risk,
            20,
            "its password is also used on another account",
        );
    }
    if !facts.network_2fa_recorded {
        add(
            Standing::Attention,
            20,
            "the network's two-step sign-in is not recorded",
        );
    }
    if !facts.password_stored {
        add(Standing::Attention, 10, "its password is not in the vault");
    } else {
        if facts.password_strength.is_some_and(|strength| strength < 3) {
            add(Standing::Attention, 15, "its password is weak");
        }
        if facts.password_age_days > OLD_PASSWORD_DAYS {
            add(Standing::Attention, 10, "its password is over a year old");
        }
    }
    if !facts.connected {
        add(
            Standing::Attention,
            5,
            "it is not connected, so Herald cannot watch it",
        );
    }
    found.sort_by_key(|finding| std::cmp::Reverse(finding.standing));
    found
}

/// 100 less what the findings cost, never below 0.
pub fn score(findings: &[Finding]) -> u8 {
    let lost: u32 = findings.iter().map(|finding| u32::from(finding.cost)).sum();
    u8::try_from(100u32.saturating_sub(lost)).unwrap_or(0)
}

/// What Herald knows of the company's own practices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompanyFacts {
    pub members: usize,
    pub members_without_current_policy: usize,
    pub members_without_passkey: usize,
    /// Days since the hacked-account plan was last practised, if ever.
    pub days_since_drill: Option<i64>,
    pub dangerous_inbox_this_week: i64,
    /// Members who have not passed the staff course for the policy in force; `None` while no
    /// course is published.
    pub members_without_course: Option<usize>,
    /// Members who have not listed their own social media profiles (nor said they have none)
    /// though the policy asks them to; `None` while the policy does not ask.
    pub members_without_own_profiles: Option<usize>,
    /// E-mail is set up, so warnings reach people who are not looking at Herald.
    pub mail_configured: bool,
    /// Webhook endpoints Herald turned off after failing again and again.
    pub webhooks_turned_off: i64,
}

/// The company's part of the score: 100 less what its own practices cost.
pub fn company_findings(facts: &CompanyFacts) -> Vec<Finding> {
    let mut found = Vec::new();
    if facts.members_without_current_policy > 0 {
        found.push(Finding {
            standing: Standing::Attention,
            text: format!(
                "{} of {} members have not accepted the current policy",
                facts.members_without_current_policy, facts.members
            ),
            cost: 20,
        });
    }
    if facts.members_without_passkey > 0 {
        found.push(Finding {
            standing: Standing::Attention,
            text: format!(
                "{} of {} members sign in without a passkey",
                facts.members_without_passkey, facts.members
            ),
            cost: 10,
        });
    }
    match facts.days_since_drill {
        None => found.push(Finding {
            standing: Standing::Attention,
            text: "the hacked-account plan has never been practised".to_owned(),
            cost: 15,
        }),
        Some(days) if days > DRILL_EVERY_DAYS => found.push(Finding {
            standing: Standing::Attention,
            text: format!(
                "the hacked-account plan was last practised {}",
                days_ago(days)
            ),
            cost: 10,
        }),
        Some(_) => {}
    }
    match facts.members_without_course {
        None => found.push(Finding {
            standing: Standing::Attention,
            text: "the staff course is not published yet".to_owned(),
            cost: 10,
        }),
        Some(0) => {}
        Some(missing) => found.push(Finding {
            standing: Standing::Attention,
            text: format!(
                "{missing} of {} members have not passed the staff course",
                facts.members
            ),
            cost: 10,
        }),
    }
    if let Some(missing @ 1..) = facts.members_without_own_profiles {
        found.push(Finding {
            standing: Standing::Attention,
            text: format!(
                "{missing} of {} members have not listed their own social media profiles as the policy asks",
                facts.members
            ),
            cost: 5,
        });
    }
    if !facts.mail_configured {
        found.push(Finding {
            standing: Standing::Attention,
            text: "warnings reach nobody by e-mail".to_owned(),
            cost: 10,
        });
    }
    if facts.webhooks_turned_off > 0 {
        found.push(Finding {
            standing: Standing::Attention,
            text: format!(
                "{} webhook endpoints were turned off after failing",
                facts.webhooks_turned_off
            ),
            cost: 5,
        });
    }
    if facts.dangerous_inbox_this_week > 0 {
        found.push(Finding {
            standing: Standing::Risk,
            text: format!(
                "{} dangerous messages reached the inbox this week",
                facts.dangerous_inbox_this_week
            ),
            cost: 10,
        });
    }
    found
}

/// The company's score: its accounts' average, weighed three to one against its own
/// practices. With no account yet, the practices alone.
pub fn company_score(account_scores: &[u8], practices: u8) -> u8 {
    if account_scores.is_empty() {
        return practices;
    }
    let count = u32::try_from(account_scores.len()).unwrap_or(u32::MAX);
    let sum: u32 = account_scores.iter().map(|score| u32::from(*score)).sum();
    let average = sum / count;
    u8::try_from((average * 3 + u32::from(practices)) / 4).unwrap_or(100)
}

/// "today", "yesterday", "3 days ago".
pub fn days_ago(days: i64) -> String {
    match days {
        ..=0 => "today".to_owned(),
        1 => "yesterday".to_owned(),
        days => format!("{days} days ago"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safe() -> AccountFacts {
        AccountFacts {
            gatekeeper_active: true,
            password_stored: true,
            password_strength: Some(4),
            password_age_days: 10,
            password_reused: false,
            password_breached: false,
            network_2fa_recorded: true,
            rotate_now_days: None,
            connected: true,
            open_incident: false,
        }
    }

    #[test]
    fn a_well_kept_account_scores_full_marks() {
        assert!(account_findings(&safe()).is_empty());
        assert_eq!(score(&account_findings(&safe())), 100);
    }

    #[test]
    fn each_finding_costs_and_the_worst_come_first() {
        let facts = AccountFacts {
            network_2fa_recorded: false,
            password_breached: true,
            rotate_now_days: Some(3),
            ..safe()
        };
        let found = account_findings(&facts);
        assert_eq!(found[0].standing, Standing::Risk);
        assert_eq!(found.last().map(|f| f.standing), Some(Standing::Attention));
        assert_eq!(score(&found), 100 - 30 - 15 - 20);
        assert!(found.iter().any(|f| f.text.contains("3 days ago")));
    }

    #[test]
    fn a_score_never_falls_below_zero() {
        let facts = AccountFacts::default();
        assert_eq!(score(&account_findings(&facts)), 100 - 25 - 20 - 10 - 5);
        let worst = AccountFacts {
            open_incident: true,
            password_breached: true,
            password_reused: true,
            rotate_now_days: Some(40),
            ..AccountFacts::default()
        };
        assert_eq!(score(&account_findings(&worst)), 0);
    }

    #[test]
    fn weak_and_old_passwords_count_only_when_stored() {
        let weak = AccountFacts {
            password_strength: Some(1),
            password_age_days: 400,
            ..safe()
        };
        assert_eq!(score(&account_findings(&weak)), 75);
        let absent = AccountFacts {
            password_stored: false,
            password_strength: Some(1),
            password_age_days: 400,
            ..safe()
        };
        assert_eq!(score(&account_findings(&absent)), 90);
    }

    #[test]
    fn the_company_weighs_its_accounts_three_to_one() {
        assert_eq!(company_score(&[], 70), 70);
        assert_eq!(company_score(&[100, 60], 40), 70);
        let facts = CompanyFacts {
            members: 4,
            members_without_current_policy: 1,
            members_without_passkey: 0,
            days_since_drill: Some(DRILL_EVERY_DAYS + 1),
            dangerous_inbox_this_week: 0,
            members_without_course: Some(0),
            members_without_own_profiles: Some(0),
            mail_configured: true,
            webhooks_turned_off: 0,
        };
        let found = company_findings(&facts);
        assert_eq!(score(&found), 70);
        let unreached = CompanyFacts {
            members_without_course: None,
            mail_configured: false,
            webhooks_turned_off: 2,
            ..facts.clone()
        };
        assert_eq!(score(&company_findings(&unreached)), 70 - 10 - 10 - 5);
        // Profiles cost only once the policy asks for them and someone has not listed theirs.
        let not_asked = CompanyFacts {
            members_without_own_profiles: None,
            ..facts.clone()
        };
        assert_eq!(score(&company_findings(&not_asked)), 70);
        let missing = CompanyFacts {
            members_without_own_profiles: Some(2),
            ..facts.clone()
        };
        let found_missing = company_findings(&missing);
        assert_eq!(score(&found_missing), 65);
        assert!(
            found_missing
                .iter()
                .any(|finding| finding.text.starts_with("2 of 4 members have not listed"))
        );
        assert!(found[0].text.starts_with("1 of 4 members"));
        assert_eq!(days_ago(1), "yesterday");
    }
}
