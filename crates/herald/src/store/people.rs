//! The organisation, its members and their second factors, and invitations.

use crate::domain::ids::UserId;
use jiff::Timestamp;
use sqlx::FromRow;

use super::{Store, StoreError, millis, with_pool};

/// Inside a transaction `$tx`: inserts the member `$user` and their recovery codes, and
/// evaluates to the new id. A duplicate email becomes [`StoreError::Conflict`].
macro_rules! insert_member {
    ($tx:ident, $user:expr, $now:expr) => {{
        let user = $user;
        let id: UserId = sqlx::query_scalar(
            "INSERT INTO users (email, name, role, password_hash, totp_secret, totp_last_step, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(&user.password_hash)
        .bind(&user.totp_secret)
        .bind(user.totp_last_step)
        .bind($now.as_millisecond())
        .fetch_one(&mut *$tx)
        .await
        .map_err(|error| conflict(error, "a member with this email address already exists"))?;
        for hash in &user.recovery_code_hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(id)
                .bind(hash)
                .execute(&mut *$tx)
                .await?;
        }
        id
    }};
}

/// Inside a transaction `$tx`: spends the invitation whose token hashes to `$token_hash`, once
/// and before it expires; otherwise returns [`StoreError::Conflict`] (rolling back). The one
/// rule for accepting an invitation, whether it makes a new member or brings one back.
macro_rules! claim_invitation {
    ($tx:ident, $token_hash:expr, $now:expr) => {{
        let claimed = sqlx::query(
            "UPDATE invitations SET accepted_at = $1
              WHERE token_hash = $2 AND accepted_at IS NULL AND expires_at > $1",
        )
        .bind($now.as_millisecond())
        .bind($token_hash)
        .execute(&mut *$tx)
        .await?
        .rows_affected();
        if claimed != 1 {
            return Err(StoreError::Conflict(
                "this invitation was already used or has expired".to_owned(),
            ));
        }
    }};
}
pub(super) use claim_invitation;

/// Inside a transaction `$tx`: returns [`StoreError::LastOwner`] (rolling the transaction back)
/// when the change just made leaves no active owner.
/// Inside a transaction `$tx`: takes the organisation row's write lock first, so two changes
/// to owners (which each check that an owner remains) run one after the other on PostgreSQL
/// too, where they could otherwise both see "one left" and leave none.
macro_rules! lock_organisation {
    ($tx:ident) => {{
        sqlx::query("UPDATE organisation SET name = name WHERE id = 1")
            .execute(&mut *$tx)
            .await?;
    }};
}

macro_rules! ensure_an_owner_remains {
    ($tx:ident) => {{
        let owners: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'owner' AND active")
                .fetch_one(&mut *$tx)
                .await?;
        if owners == 0 {
            return Err(StoreError::LastOwner);
        }
    }};
}
use crate::domain::people::Role;

/// An invitation not yet accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingInvitation {
    pub reference: String,
    pub email: String,
    pub role: Role,
    pub invited_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A member as stored. `totp_secret` is sealed by the vault; `password_hash` is a PHC string.
#[derive(Clone, PartialEq)]
pub struct UserRecord {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub totp_secret: Vec<u8>,
    pub totp_last_step: i64,
    pub active: bool,
    pub created_at: Timestamp,
    /// Wrong step-up codes in a row (see `people::step_up`).
    pub step_up_failures: i64,
    /// Set when an owner reset this member's second factor: they enrol anew at sign-in.
    pub second_factor_reset_at: Option<Timestamp>,
}

/// A member to create. The password is already hashed and the TOTP secret sealed.
#[derive(Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub totp_secret: Vec<u8>,
    /// The step of the code used to enrol, so that code is spent the moment the member exists.
    pub totp_last_step: i64,
    pub recovery_code_hashes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InvitationRecord {
    pub email: String,
    pub role: Role,
    pub invited_by: UserId,
    pub expires_at: Timestamp,
    pub accepted: bool,
}

#[derive(FromRow)]
struct UserRow {
    id: UserId,
    email: String,
    name: String,
    role: String,
    password_hash: String,
    totp_secret: Vec<u8>,
    totp_last_step: i64,
    active: bool,
    created_at: i64,
    step_up_failures: i64,
    second_factor_reset_at: Option<i64>,
}

const USER_COLUMNS: &str = "id, email, name, role, password_hash, totp_secret, totp_last_step, active, created_at, step_up_failures, second_factor_reset_at";

impl Store {
    /// The organisation's name; empty before first-run setup.
    pub async fn organisation_name(&self) -> Result<String, StoreError> {
        let name: Option<String> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT name FROM organisation WHERE id = 1")
            .fetch_optional(pool)
            .await)?;
        Ok(name.unwrap_or_default())
    }

    /// First-run setup: creates the organisation and its first owner together, or fails with
    /// [`StoreError::Conflict`] if setup has already happened (even in a race).
    pub async fn create_organisation(
        &self,
        name: &str,
        owner: &NewUser,
        now: Timestamp,
    ) -> Result<UserId, StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO organisation (id, name, created_at) VALUES (1, $1, $2)")
                .bind(name)
                .bind(now.as_millisecond())
                .execute(&mut *tx)
                .await
                .map_err(|error| conflict(error, "Herald is already set up"))?;
            let id = insert_member!(tx, owner, now);
            // The setup code is spent with the setup it allowed.
            sqlx::query("DELETE FROM setup_code").execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    /// The nonce the setup code is derived from: the one kept, or `fresh` kept now if there
    /// is none (the first of several processes starting at once wins).
    pub async fn setup_code_nonce(
        &self,
        fresh: &str,
        now: Timestamp,
    ) -> Result<String, StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO setup_code (id, nonce, created_at) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(fresh)
            .bind(now.as_millisecond())
            .execute(&mut *tx)
            .await?;
            let nonce = sqlx::query_scalar("SELECT nonce FROM setup_code WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(nonce)
        })
    }

    pub async fn user_count(&self) -> Result<i64, StoreError> {
        Ok(
            with_pool!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(pool)
            .await)?,
        )
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let query = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row: Option<UserRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(email)
            .fetch_optional(pool)
            .await)?;
        row.map(UserRecord::try_from).transpose()
    }

    pub async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let query = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: Option<UserRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(UserRecord::try_from).transpose()
    }

    pub async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let query = format!("SELECT {USER_COLUMNS} FROM users ORDER BY active DESC, name, id");
        let rows: Vec<UserRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(UserRecord::try_from).collect()
    }

    pub async fn set_password_hash(&self, user_id: UserId, hash: &str) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Records that the TOTP code of `step` was used. Returns false if a code of this step or a
    /// later one was already used: two logins racing with one code cannot both succeed.
    pub async fn spend_totp_step(&self, user_id: UserId, step: i64) -> Result<bool, StoreError> {
        let changed = with_pool!(self, pool => sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1")
            .bind(step)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(changed == 1)
    }

    /// Marks a recovery code used; false if it is not one of the member's unused codes.
    pub async fn spend_recovery_code(
        &self,
        user_id: UserId,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = with_pool!(self, pool => sqlx::query(
            "UPDATE recovery_codes SET used_at = $1
              WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
            .bind(now.as_millisecond())
            .bind(user_id)
            .bind(code_hash)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(changed == 1)
    }

    pub async fn recovery_codes_left(&self, user_id: UserId) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .fetch_one(pool)
            .await)?)
    }

    pub async fn create_invitation(
        &self,
        token_hash: &str,
        email: &str,
        role: Role,
        invited_by: UserId,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO invitations (token_hash, email, role, invited_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(token_hash)
            .bind(email)
            .bind(role.as_str())
            .bind(invited_by)
            .bind(now.as_millisecond())
            .bind(expires_at.as_millisecond())
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    pub async fn invitation(
        &self,
        token_hash: &str,
    ) -> Result<Option<InvitationRecord>, StoreError> {
        let row: Option<(String, String, UserId, i64, Option<i64>)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT email, role, invited_by, expires_at, accepted_at FROM invitations WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(pool)
            .await)?;
        row.map(|(email, role, invited_by, expires_at, accepted_at)| {
            Ok(InvitationRecord {
                email,
                role: parse_role(&role)?,
                invited_by,
                expires_at: millis(expires_at)?,
                accepted: accepted_at.is_some(),
            })
        })
        .transpose()
    }

    /// Invitations not yet accepted, newest first (expired ones too: the page offers a new
    /// link for them). `reference` is the first 16 characters of the token's hash: enough to
    /// name one, and nothing that helps to guess the link.
    pub async fn pending_invitations(&self) -> Result<Vec<PendingInvitation>, StoreError> {
        let rows: Vec<(String, String, String, UserId, i64, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT substr(token_hash, 1, 16), email, role, invited_by, created_at, expires_at
             FROM invitations WHERE accepted_at IS NULL ORDER BY created_at DESC")
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(
                |(reference, email, role, invited_by, created_at, expires_at)| {
                    Ok(PendingInvitation {
                        reference,
                        email,
                        role: parse_role(&role)?,
                        invited_by,
                        created_at: millis(created_at)?,
                        expires_at: millis(expires_at)?,
                    })
                },
            )
            .collect()
    }

    /// Withdraws the pending invitation named by `reference` (see
    /// [`Store::pending_invitations`]); its link stops working. The invitation withdrawn, or
    /// none when no pending one has that reference.
    pub async fn cancel_invitation(
        &self,
        reference: &str,
    ) -> Result<Option<PendingInvitation>, StoreError> {
        let pending = self
            .pending_invitations()
            .await?
            .into_iter()
            .find(|invitation| invitation.reference == reference);
        if pending.is_none() {
            return Ok(None);
        }
        let deleted: u64 = with_pool!(self, pool => sqlx::query(
            "DELETE FROM invitations WHERE substr(token_hash, 1, 16) = $1 AND accepted_at IS NULL")
            .bind(reference)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(pending.filter(|_| deleted > 0))
    }

    /// Accepts an invitation by creating its member, once: a second acceptance, or one after
    /// expiry, fails with [`StoreError::Conflict`] and creates nothing.
    pub async fn accept_invitation(
        &self,
        token_hash: &str,
        user: &NewUser,
        now: Timestamp,
    ) -> Result<UserId, StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            claim_invitation!(tx, token_hash, now);
            let id = insert_member!(tx, user, now);
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Changes a member's role from `from` to `role`. Fails with [`StoreError::Conflict`] if their
    /// role is no longer `from` (someone changed it meanwhile: the decision was made on stale
    /// facts), and with [`StoreError::LastOwner`] if no active owner would remain.
    pub async fn set_role(
        &self,
        user_id: UserId,
        from: Role,
        role: Role,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            lock_organisation!(tx);
            if role == Role::Member {
                // Someone who may no longer invite leaves no invitation behind.
                sqlx::query("DELETE FROM invitations WHERE invited_by = $1 AND accepted_at IS NULL")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let changed = sqlx::query("UPDATE users SET role = $1 WHERE id = $2 AND role = $3")
                .bind(role.as_str())
                .bind(user_id)
                .bind(from.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed != 1 {
                return Err(StoreError::Conflict("this member's role changed meanwhile; reload and try again".to_owned()));
            }
            ensure_an_owner_remains!(tx);
            tx.commit().await?;
            Ok(())
        })
    }

    /// Offboarding: deactivates a member and, in the same transaction, ends every session and
    /// revokes every API token of theirs. Refuses to deactivate the last active owner.
    pub async fn deactivate_user(&self, user_id: UserId, now: Timestamp) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            lock_organisation!(tx);
            sqlx::query("DELETE FROM invitations WHERE invited_by = $1 AND accepted_at IS NULL")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE users SET active = FALSE, deactivated_at = $1 WHERE id = $2 AND active")
                .bind(now.as_millisecond())
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            ensure_an_owner_remains!(tx);
            // Offboarding: the leaver keeps no access to any social account.
            sqlx::query("DELETE FROM account_grants WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(now.as_millisecond())
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }
}

/// Turns a unique-constraint violation into a [`StoreError::Conflict`] with `message`.
pub(super) fn conflict(error: sqlx::Error, message: &str) -> StoreError {
    match &error {
        sqlx::Error::Database(database) if database.is_unique_violation() => {
            StoreError::Conflict(message.to_owned())
        }
        _ => StoreError::Database(error),
    }
}

fn parse_role(text: &str) -> Result<Role, StoreError> {
    Role::parse(text).map_err(|_| StoreError::Corrupt(format!("role {text:?}")))
}

impl TryFrom<UserRow> for UserRecord {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<UserRecord, StoreError> {
        Ok(UserRecord {
            role: parse_role(&row.role)?,
            created_at: millis(row.created_at)?,
            id: row.id,
            email: row.email,
            name: row.name,
            password_hash: row.password_hash,
            totp_secret: row.totp_secret,
            totp_last_step: row.totp_last_step,
            active: row.active,
            step_up_failures: row.step_up_failures,
            second_factor_reset_at: row.second_factor_reset_at.map(millis).transpose()?,
        })
    }
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}
