//! The organisation's own domains and handles, for link safety's look-alike check.

use jiff::Timestamp;

use super::{Store, StoreError, with_pool};

/// The organisation's names, each list in the order typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrganisationNames {
    pub domains: Vec<String>,
    pub handles: Vec<String>,
}

impl Store {
    /// The organisation's domains and handles.
    pub async fn organisation_names(&self) -> Result<OrganisationNames, StoreError> {
        let rows: Vec<(String, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT kind, name FROM organisation_names ORDER BY created_at, name")
            .fetch_all(pool)
            .await)?;
        let mut names = OrganisationNames::default();
        for (kind, name) in rows {
            match kind.as_str() {
                "domain" => names.domains.push(name),
                _ => names.handles.push(name),
            }
        }
        Ok(names)
    }

    /// Replaces every name with `names` (call inside a unit of work, with the audit entry).
    pub async fn replace_organisation_names(
        &self,
        names: &OrganisationNames,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("DELETE FROM organisation_names")
            .execute(pool)
            .await
            .map(drop))?;
        let rows = names
            .domains
            .iter()
            .map(|name| ("domain", name))
            .chain(names.handles.iter().map(|name| ("handle", name)));
        for (index, (kind, name)) in rows.enumerate() {
            // Later rows a millisecond later, so they read back in the order given.
            let at = now.as_millisecond() + i64::try_from(index).unwrap_or(0);
            with_pool!(self, pool => sqlx::query(
                "INSERT INTO organisation_names (kind, name, created_at) VALUES ($1, $2, $3)")
                .bind(kind)
                .bind(name)
                .bind(at)
                .execute(pool)
                .await
                .map(drop))?;
        }
        Ok(())
    }
}
