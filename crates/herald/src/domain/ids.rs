//! Typed ids: a post's id cannot be passed where an account's is expected.
//!
//! Each id wraps the database's 64-bit row id. On the wire (JSON, paths, forms) an id is the bare
//! number; the store binds and reads it as one (`store/ids.rs`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)+) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            /// The bare number, for the wire and for the store.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map(Self)
            }
        }
    )+};
}

ids! {
    /// A post (one text for one account).
    PostId;
    /// A social account the company publishes to.
    AccountId;
    /// A member of the team (a Herald user).
    UserId;
}

#[cfg(test)]
mod tests {
    use super::{AccountId, PostId};

    #[test]
    fn an_id_is_its_number_on_the_wire_and_in_text() {
        let id = PostId::new(42);
        assert_eq!(serde_json::to_string(&id).expect("serialises"), "42");
        assert_eq!(
            serde_json::from_str::<PostId>("7").expect("parses"),
            PostId::new(7)
        );
        assert_eq!(id.to_string(), "42");
        assert_eq!("9".parse::<AccountId>().expect("parses"), AccountId::new(9));
        assert!("nine".parse::<AccountId>().is_err());
    }
}
