//! A post's life: draft → submitted → approved → scheduled → publishing → published, failed
//! or unconfirmed (and "expired approval" when approval came after the scheduled time). This
//! file holds the states and the rule for which step may follow which; who may take a step is
//! decided in `access.rs` and by [`approval_needed`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::accounts::AccountLevel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PostState {
    Draft,
    Submitted,
    Approved,
    Scheduled,
    Publishing,
    Published,
    Failed,
    Unconfirmed,
    ExpiredApproval,
}

/// A step someone takes with a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The author asks for it to be published.
    Submit,
    /// Someone else with publish rights agrees.
    Approve,
    /// A reviewer sends it back to its author to change.
    SendBack,
    /// The author changes the text (only while it is a draft, or sent back).
    Edit,
    /// Someone with publish rights gives an approved post its time (again, after a failure
    /// or an expired approval).
    Schedule,
    /// Takes a scheduled post off the schedule; it stays approved.
    Unschedule,
    /// Someone looked on the network: an unconfirmed post is there.
    ConfirmPublished,
    /// Someone looked on the network: an unconfirmed post is not there (it can be
    /// rescheduled).
    ConfirmMissing,
}

/// How one publishing attempt ended, as the publisher records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The network has the post.
    Published,
    /// Nothing was posted (rate limit, outage); it waits for its next attempt.
    TryLater,
    /// The network refused it, or Herald may no longer post to the account.
    Failed,
    /// It may or may not have been posted; Herald will check before anything else.
    Unconfirmed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a post that is {state} cannot be {step}")]
pub struct NotNow {
    pub state: &'static str,
    pub step: &'static str,
}

impl PostState {
    pub const ALL: [PostState; 9] = [
        PostState::Draft,
        PostState::Submitted,
        PostState::Approved,
        PostState::Scheduled,
        PostState::Publishing,
        PostState::Published,
        PostState::Failed,
        PostState::Unconfirmed,
        PostState::ExpiredApproval,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PostState::Draft => "draft",
            PostState::Submitted => "submitted",
            PostState::Approved => "approved",
            PostState::Scheduled => "scheduled",
            PostState::Publishing => "publishing",
            PostState::Published => "published",
            PostState::Failed => "failed",
            PostState::Unconfirmed => "unconfirmed",
            PostState::ExpiredApproval => "expired_approval",
        }
    }

    /// The state in people's words, as the pages show it.
    pub fn label(self) -> &'static str {
        match self {
            PostState::Draft => "Draft",
            PostState::Submitted => "Waiting for approval",
            PostState::Approved => "Approved, no time yet",
            PostState::Scheduled => "Scheduled",
            PostState::Publishing => "Going out now",
            PostState::Published => "Published",
            PostState::Failed => "Failed",
            PostState::Unconfirmed => "Not sure it went out",
            PostState::ExpiredApproval => "Approval expired",
        }
    }

    pub fn parse(text: &str) -> Option<PostState> {
        PostState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
    }

    /// The state after `step`, when `step` is allowed now. Submitting lands in `Submitted`;
    /// the caller moves a post that needs no approval on to `Approved` with a second step.
    pub fn after(self, step: Step) -> Result<PostState, NotNow> {
        let next = match (self, step) {
            (PostState::Draft, Step::Edit) => Some(PostState::Draft),
            (PostState::Draft, Step::Submit) => Some(PostState::Submitted),
            (PostState::Submitted, Step::Approve) => Some(PostState::Approved),
            (
                PostState::Submitted
                | PostState::Approved
                | PostState::Scheduled
                | PostState::ExpiredApproval
                | PostState::Failed,
                Step::SendBack,
            ) => Some(PostState::Draft),
            (
                PostState::Approved
                | PostState::Scheduled
                | PostState::ExpiredApproval
                | PostState::Failed,
                Step::Schedule,
            ) => Some(PostState::Scheduled),
            (PostState::Scheduled, Step::Unschedule) => Some(PostState::Approved),
            (PostState::Unconfirmed, Step::ConfirmPublished) => Some(PostState::Published),
            (PostState::Unconfirmed, Step::ConfirmMissing) => Some(PostState::Failed),
            _ => None,
        };
        next.ok_or(NotNow {
            state: self.as_str(),
            step: match step {
                Step::Submit => "submitted",
                Step::Approve => "approved",
                Step::SendBack => "sent back",
                Step::Edit => "edited",
                Step::Schedule => "scheduled",
                Step::Unschedule => "taken off the schedule",
                Step::ConfirmPublished => "marked published",
                Step::ConfirmMissing => "marked not published",
            },
        })
    }

    /// Where a post in this state goes after a publishing attempt ends with `outcome`, or
    /// `None` if the publisher must not touch it (someone took it off the schedule).
    /// Only the publisher moves posts into and out of `Publishing`.
    pub fn after_attempt(self, outcome: Outcome) -> Option<PostState> {
        if !matches!(self, PostState::Publishing) {
            return None;
        }
        Some(match outcome {
            Outcome::Published => PostState::Published,
            Outcome::TryLater => PostState::Scheduled,
            Outcome::Failed => PostState::Failed,
            Outcome::Unconfirmed => PostState::Unconfirmed,
        })
    }

    /// Whether the publisher may start an attempt on a post in this state: a scheduled post
    /// whose time has come, one whose earlier attempt was cut short (`Publishing`), or one
    /// whose outcome it is still finding out (`Unconfirmed`).
    pub fn publisher_may_start(self) -> bool {
        matches!(
            self,
            PostState::Scheduled | PostState::Publishing | PostState::Unconfirmed
        )
    }

    /// Posts that are finished: nothing further happens to them by itself.
    pub fn is_settled(self) -> bool {
        matches!(self, PostState::Published | PostState::Failed)
    }
}

/// Whether a submitted post must wait for someone else's approval: always for contributors,
/// and for everyone when the policy guard says so. Publishers and gatekeepers otherwise
/// approve their own posts by submitting them.
pub fn approval_needed(author_level: Option<AccountLevel>, policy_requires: bool) -> bool {
    policy_requires || author_level < Some(AccountLevel::Publisher)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_move_only_along_the_workflow() {
        assert_eq!(
            PostState::Draft.after(Step::Submit),
            Ok(PostState::Submitted)
        );
        assert_eq!(
            PostState::Submitted.after(Step::Approve),
            Ok(PostState::Approved)
        );
        assert_eq!(
            PostState::Submitted.after(Step::SendBack),
            Ok(PostState::Draft)
        );
        assert_eq!(
            PostState::Draft
                .after(Step::Approve)
                .expect_err("not submitted")
                .to_string(),
            "a post that is draft cannot be approved"
        );
        assert!(
            PostState::Submitted.after(Step::Edit).is_err(),
            "no edits under review"
        );
        assert!(PostState::Published.after(Step::SendBack).is_err());
        assert_eq!(
            PostState::ExpiredApproval.after(Step::Schedule),
            Ok(PostState::Scheduled),
            "an expired approval can be given a new time"
        );
        assert!(
            PostState::Submitted.after(Step::Schedule).is_err(),
            "nothing is scheduled before approval"
        );
        assert_eq!(
            PostState::Scheduled.after(Step::Unschedule),
            Ok(PostState::Approved)
        );
        assert!(PostState::Published.after(Step::Schedule).is_err());
        assert_eq!(
            PostState::Unconfirmed.after(Step::ConfirmPublished),
            Ok(PostState::Published)
        );
        assert_eq!(
            PostState::Unconfirmed.after(Step::ConfirmMissing),
            Ok(PostState::Failed)
        );
        assert!(
            PostState::Scheduled.after(Step::ConfirmPublished).is_err(),
            "only an unconfirmed post is settled by hand"
        );
    }

    #[test]
    fn only_a_post_being_published_takes_an_attempts_outcome() {
        let publishing = PostState::Publishing;
        assert_eq!(
            publishing.after_attempt(Outcome::Published),
            Some(PostState::Published)
        );
        assert_eq!(
            publishing.after_attempt(Outcome::TryLater),
            Some(PostState::Scheduled)
        );
        assert_eq!(
            publishing.after_attempt(Outcome::Unconfirmed),
            Some(PostState::Unconfirmed)
        );
        assert_eq!(PostState::Approved.after_attempt(Outcome::Published), None);
        assert!(PostState::Unconfirmed.publisher_may_start());
        assert!(!PostState::Approved.publisher_may_start());
        assert!(!PostState::Published.publisher_may_start());
    }

    #[test]
    fn contributors_always_need_approval_and_publishers_when_the_policy_says() {
        assert!(approval_needed(Some(AccountLevel::Contributor), false));
        assert!(!approval_needed(Some(AccountLevel::Publisher), false));
        assert!(approval_needed(Some(AccountLevel::Publisher), true));
        assert!(!approval_needed(Some(AccountLevel::Gatekeeper), false));
    }

    #[test]
    fn every_state_round_trips_through_its_name() {
        for state in PostState::ALL {
            assert_eq!(PostState::parse(state.as_str()), Some(state));
        }
    }
}
