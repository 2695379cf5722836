//! The services' one error. Every service returns it; `http/error.rs` turns each kind into
//! its HTTP status and words in one table, for the API and the pages alike.

use crate::store::StoreError;

/// Why a service did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("Herald is already set up; sign in instead")]
    AlreadySetUp,
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("the email address, password or code is not right")]
    WrongCredentials,
    /// Five wrong codes in a row when asked again for one: every session of the member ended.
    #[error(
        "too many wrong codes in a row: you have been signed out everywhere and the owners were told; sign in again"
    )]
    SteppedOut,
    /// The right password, but an owner reset this member's second factor.
    #[error(
        "an owner reset your two-step sign-in: to sign in, set up your authenticator app again (the link below the sign-in form, or POST /api/v1/auth/enrol)"
    )]
    EnrolAgain,
    #[error("too many failed sign-ins; try again in {retry_after_seconds} seconds")]
    Throttled { retry_after_seconds: i64 },
    #[error("this invitation link has expired or was already used; ask for a new one")]
    InvitationGone,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Denied(String),
    /// No such `entity`, or none the caller may see (the two are not told apart).
    #[error("{message}")]
    NotFound { entity: Entity, message: String },
    /// Something outside Herald (a social network) did not answer usefully; try later.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> AppError {
        match error {
            StoreError::Conflict(message) => AppError::Conflict(message),
            StoreError::LastOwner => AppError::Conflict(StoreError::LastOwner.to_string()),
            other => AppError::Store(other),
        }
    }
}

/// What a [`AppError::NotFound`] did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Account,
    Credential,
    Image,
    /// An item of the inbox.
    InboxItem,
    Incident,
    Invitation,
    Member,
    Passkey,
    Post,
    Session,
    /// One of a member's own profiles on a social network.
    StaffProfile,
    /// An example post in the policy.
    PolicyExample,
    Token,
    Webhook,
}

impl Entity {
    /// The heading of the page that says it is not there.
    pub fn missing(self) -> &'static str {
        match self {
            Entity::Account => "Account not found",
            Entity::Credential => "Nothing stored",
            Entity::Image => "Image not found",
            Entity::InboxItem => "Message not found",
            Entity::Incident => "Incident not found",
            Entity::Invitation => "Invitation not found",
            Entity::Member => "Member not found",
            Entity::Passkey => "Passkey not found",
            Entity::Post => "Post not found",
            Entity::Session => "Session not found",
            Entity::StaffProfile => "Profile not found",
            Entity::PolicyExample => "Example not found",
            Entity::Token => "API token not found",
            Entity::Webhook => "Webhook not found",
        }
    }
}

impl AppError {
    /// No such `entity` (or none the caller may see), in the words of `message`.
    pub(crate) fn not_found(entity: Entity, message: impl Into<String>) -> AppError {
        AppError::NotFound {
            entity,
            message: message.into(),
        }
    }

    /// Invalid input in `field`, in the words of `error`.
    pub(crate) fn invalid(field: &'static str, error: impl std::fmt::Display) -> AppError {
        AppError::Invalid {
            field,
            message: error.to_string(),
        }
    }
}
