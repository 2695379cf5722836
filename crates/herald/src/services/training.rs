//! Training: the policy's examples of good and bad practice (each bad one shown with what the
//! policy guard finds in it), and the staff course (Markdown with questions, `domain/training.rs`)
//! in versions like the policy. Once an owner publishes the course, members pass it before
//! they post, and again whenever a new version of the policy is published.

use guard::Finding;
use jiff::Timestamp;

use crate::domain::audit::Actor;
use crate::domain::ids::UserId;
use crate::domain::training::{BUILT_IN, Course, Names, Score};
use crate::services::audit::record;
use crate::services::{AppError, Entity, Services, policy};
use crate::store::{NewTrainingResult, Store, TrainingResultRecord, UserRecord};

/// The course as a member takes it: its version (0: the built-in one, not yet published), and
/// its parts with the company's names filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseInForce {
    pub version: i64,
    pub published: bool,
    /// The Markdown as saved (placeholders unfilled), for the owners' editor.
    pub markdown: String,
    pub course: Course,
}

/// The course in force: the newest published version, else the built-in one.
pub async fn course(store: &Store) -> Result<CourseInForce, AppError> {
    let (version, published, markdown) = match store.training_course().await? {
        Some(record) => (record.version, true, record.markdown),
        None => (0, false, BUILT_IN.to_owned()),
    };
    let names = company_names(store).await?;
    let course = Course::parse(&names.fill(&markdown))
        .map_err(|error| AppError::Internal(format!("the saved course does not read: {error}")))?;
    Ok(CourseInForce {
        version,
        published,
        markdown,
        course,
    })
}

/// The company's names the course's examples are made from: its name, its accounts' handles
/// (and the handles it listed), its domains.
async fn company_names(store: &Store) -> Result<Names, AppError> {
    let listed = store.organisation_names().await?;
    let mut handles: Vec<String> = store
        .all_accounts()
        .await?
        .into_iter()
        .map(|account| account.handle)
        .collect();
    handles.extend(listed.handles);
    Ok(Names::from_company(
        &store.organisation_name().await?,
        &handles,
        &listed.domains,
    ))
}

/// Publishes a new version of the course (owners): from then on members pass it before they
/// post. A course that does not read is refused whole, naming the line.
pub async fn publish(
    store: &Store,
    actor: &UserRecord,
    markdown: &str,
    now: Timestamp,
) -> Result<i64, AppError> {
    let names = company_names(store).await?;
    Course::parse(&names.fill(markdown)).map_err(|error| AppError::invalid("markdown", error))?;
    let work = store.write().await?;
    let version = work
        .publish_training_course(markdown, actor.id, now)
        .await?;
    for user in work.list_users().await? {
        if user.active && user.id != actor.id {
            work.add_notification(
                user.id,
                crate::domain::notifications::NotificationKind::Policy,
                &format!("Please take the staff course (version {version})"),
                "The staff course on the company's policy, phishing links, look-alike handles and hacked accounts is ready. Take it before you next post; it takes about ten minutes.",
                Some("/training"),
                now,
            )
            .await?;
        }
    }
    record(
        &work,
        now,
        Actor::User(actor.id),
        "training.course_published",
        Some(format!("training_course:{version}")),
        None,
        serde_json::json!({ "version": version }),
    )
    .await?;
    work.commit().await?;
    Ok(version)
}

/// One attempt, as the member sees it afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub score: Score,
    /// Whether the member may now post (the course passed for the policy in force).
    pub complete: bool,
}

/// Scores the actor's answers to the version of the course they were shown, and records the
/// attempt. `answers[n]` is the index of the choice given to question `n`.
pub async fn answer(
    store: &Store,
    actor: &UserRecord,
    version: i64,
    answers: &[Option<usize>],
    now: Timestamp,
) -> Result<Attempt, AppError> {
    let in_force = course(store).await?;
    if in_force.version != version {
        return Err(AppError::Conflict(format!(
            "the course changed since you opened it (version {} is in force now); read it again",
            in_force.version
        )));
    }
    // Answers beyond the last question are not about anything: they are not counted.
    let score = in_force.course.score(answers);
    let policy_version = policy_version(store).await?;
    let work = store.write().await?;
    work.record_training_result(
        &NewTrainingResult {
            user_id: actor.id,
            course_version: version,
            policy_version,
            right: i64::try_from(score.right).unwrap_or(i64::MAX),
            total: i64::try_from(score.total).unwrap_or(i64::MAX),
            passed: score.passed,
        },
        now,
    )
    .await?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "training.course_answered",
        Some(format!("training_course:{version}")),
        None,
        serde_json::json!({ "right": score.right, "total": score.total, "passed": score.passed }),
    )
    .await?;
    work.commit().await?;
    Ok(Attempt {
        complete: score.passed,
        score,
    })
}

/// The published policy document's version, 0 while there is none.
async fn policy_version(store: &Store) -> Result<i64, AppError> {
    Ok(store
        .policy_document()
        .await?
        .map_or(0, |document| document.version))
}

/// Whether the actor must still take the course before posting: only once an owner published
/// it, and until they pass it for the policy version in force.
pub async fn outstanding(store: &Store, actor: &UserRecord) -> Result<bool, AppError> {
    if store.training_course().await?.is_none() {
        return Ok(false);
    }
    let policy_version = policy_version(store).await?;
    Ok(!store.passed_training(actor.id, policy_version).await?)
}

/// Refuses a member who must still take the course, with where to take it.
pub async fn require_completed(store: &Store, actor: &UserRecord) -> Result<(), AppError> {
    if outstanding(store, actor).await? {
        return Err(AppError::Denied(
            "take the staff course before posting (it is at /training and takes about ten minutes; a new version of the policy asks for it again)"
                .to_owned(),
        ));
    }
    Ok(())
}

/// One member's standing in the course, for the owners' list and the security page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    /// The latest attempt, if any.
    pub latest: Option<TrainingResultRecord>,
    /// The latest passed attempt, if any.
    pub passed: Option<TrainingResultRecord>,
    /// Passed for the policy version in force: they may post.
    pub complete: bool,
}

/// Every active member's standing (the caller checks the owners' permission).
pub async fn standing(store: &Store) -> Result<Vec<Standing>, AppError> {
    let policy_version = policy_version(store).await?;
    let results = store.training_standing().await?;
    Ok(store
        .list_users()
        .await?
        .into_iter()
        .filter(|user| user.active)
        .map(|user| {
            let (latest, passed) = results
                .iter()
                .find(|(latest, _)| latest.user_id == user.id)
                .cloned()
                .map_or((None, None), |(latest, passed)| (Some(latest), passed));
            let complete = passed
                .as_ref()
                .is_some_and(|passed| passed.policy_version == policy_version);
            Standing {
                user_id: user.id,
                name: user.name,
                email: user.email,
                latest,
                passed,
                complete,
            }
        })
        .collect())
}

/// An example post in the policy, with what the guard finds in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub id: i64,
    pub text: String,
    pub good: bool,
    pub why: String,
    /// The guard's findings, in the order they occur in the text.
    pub findings: Vec<Finding>,
}

/// The longest example and reason accepted, in characters.
const LONGEST_EXAMPLE: usize = 3_000;
const LONGEST_WHY: usize = 500;

/// Every example, with the guard's findings for each (the rules in force now).
pub async fn examples(services: &Services, now: Timestamp) -> Result<Vec<Example>, AppError> {
    let store = &services.store;
    let mut examples = Vec::new();
    for record in store.policy_examples().await? {
        let (findings, _) = policy::scan(store, &services.policy, &record.text, now).await?;
        examples.push(Example {
            id: record.id,
            good: record.verdict == "good",
            text: record.text,
            why: record.why,
            findings,
        });
    }
    Ok(examples)
}

/// Adds an example of good or bad practice (owners).
pub async fn add_example(
    store: &Store,
    actor: &UserRecord,
    text: &str,
    verdict: &str,
    why: &str,
    now: Timestamp,
) -> Result<i64, AppError> {
    let (text, why) = (text.trim(), why.trim());
    if text.is_empty() || text.chars().count() > LONGEST_EXAMPLE {
        return Err(AppError::invalid(
            "text",
            format!("write the example post in 1 to {LONGEST_EXAMPLE} characters"),
        ));
    }
    if !matches!(verdict, "good" | "bad") {
        return Err(AppError::invalid(
            "verdict",
            "say whether the example is good or bad practice",
        ));
    }
    if why.is_empty() || why.chars().count() > LONGEST_WHY {
        return Err(AppError::invalid(
            "why",
            format!("say why in 1 to {LONGEST_WHY} characters"),
        ));
    }
    let work = store.write().await?;
    let id = work
        .add_policy_example(text, verdict, why, actor.id, now)
        .await?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "policy.example_added",
        Some(format!("policy_example:{id}")),
        None,
        serde_json::json!({ "verdict": verdict }),
    )
    .await?;
    work.commit().await?;
    Ok(id)
}

/// Removes an example (owners).
pub async fn remove_example(
    store: &Store,
    actor: &UserRecord,
    id: i64,
    now: Timestamp,
) -> Result<(), AppError> {
    let work = store.write().await?;
    if !work.remove_policy_example(id).await? {
        return Err(AppError::not_found(
            Entity::PolicyExample,
            format!("there is no example {id}"),
        ));
    }
    record(
        &work,
        now,
        Actor::User(actor.id),
        "policy.example_removed",
        Some(format!("policy_example:{id}")),
        None,
        serde_json::json!({}),
    )
    .await?;
    Ok(work.commit().await?)
}

/// A piece of an example's text: plain, or what a finding is about (with its message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub finding: Option<String>,
}

/// `text` cut into pieces so that what each finding is about can be highlighted; overlapping
/// findings after the first are left out of the highlight (their messages are still listed).
pub fn pieces(text: &str, findings: &[Finding]) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut at = 0;
    for finding in findings {
        let span = finding.span.clone();
        if span.start < at
            || span.end <= span.start
            || span.end > text.len()
            || !text.is_char_boundary(span.start)
            || !text.is_char_boundary(span.end)
        {
            continue;
        }
        if span.start > at {
            pieces.push(Piece {
                text: text[at..span.start].to_owned(),
                finding: None,
            });
        }
        pieces.push(Piece {
            text: text[span.clone()].to_owned(),
            finding: Some(finding.message.clone()),
        });
        at = span.end;
    }
    if at < text.len() {
        pieces.push(Piece {
            text: text[at..].to_owned(),
            finding: None,
        });
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(span: std::ops::Range<usize>, message: &str) -> Finding {
        Finding {
            rule: guard::link_safety::LOOKALIKE,
            severity: guard::Severity::High,
            action: guard::Action::Block,
            span,
            excerpt: String::new(),
            message: message.to_owned(),
        }
    }

    #[test]
    fn findings_cut_the_text_into_highlighted_pieces() {
        let text = "Call 07700 900123 or café";
        let pieces = pieces(
            text,
            &[
                finding(5..17, "a phone"),
                finding(6..8, "overlap"),
                finding(21..30, "bad"),
            ],
        );
        let shown: Vec<(&str, Option<&str>)> = pieces
            .iter()
            .map(|piece| (piece.text.as_str(), piece.finding.as_deref()))
            .collect();
        assert_eq!(
            shown,
            [
                ("Call ", None),
                ("07700 900123", Some("a phone")),
                (" or café", None)
            ]
        );
    }
}
