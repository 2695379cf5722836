//! The account's profile as each fake shows it, and changes to it: a test plays someone who
//! took the account over and changes its name, bio or link at the network
//! ([`FakeState::set_profile`]); the fake's profile endpoint answers the changed value from
//! then on. Fields are named as each network names them (`description` on X, `about` on a
//! Facebook Page, `biography` on Instagram, …).

use serde_json::{Map, Value};

use super::{FakeState, lock};

impl FakeState {
    /// Changes one profile field, as the network names it.
    pub fn set_profile(&self, field: &str, value: &str) {
        lock(&self.profile).insert(field.to_owned(), value.to_owned());
    }

    /// The field's value: the changed one, or `default` where nobody changed it.
    pub fn profile_field(&self, field: &str, default: &str) -> String {
        lock(&self.profile)
            .get(field)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    }
}

/// `always` with those of `optional` that the comma-separated `asked` list names, as the
/// Graph API's `fields=` and X's `user.fields=` answer only what was asked for.
pub(crate) fn with_fields(
    always: Value,
    asked: Option<&String>,
    optional: Vec<(&str, Value)>,
) -> Value {
    let mut object = match always {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    let asked: Vec<&str> = asked
        .map(|list| list.split(',').map(str::trim).collect())
        .unwrap_or_default();
    for (name, value) in optional {
        if asked.contains(&name) {
            object.insert(name.to_owned(), value);
        }
    }
    Value::Object(object)
}
