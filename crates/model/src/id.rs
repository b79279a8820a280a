use std::fmt;

use serde::{Deserialize, Serialize};

/// An id that is not a valid phasegate id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid id `{id}`: ids start with a letter or digit and contain only letters, digits, `-`, `_` and `.`"
)]
pub struct InvalidId {
    /// The rejected text.
    pub id: String,
}

fn is_valid_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `id` (ASCII letters, digits, `-`, `_`, `.`; starting with a letter or digit).
            pub fn new(id: impl Into<String>) -> Result<Self, InvalidId> {
                let id = id.into();
                if is_valid_id(&id) { Ok(Self(id)) } else { Err(InvalidId { id }) }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// The id of a gate (`[gates.<id>]`).
    GateId
);
id_type!(
    /// The id of a phase (`[[phase]] id = "..."`).
    PhaseId
);
id_type!(
    /// The id of a service (`[services.<id>]`).
    ServiceId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slugs_and_rejects_the_rest() {
        for ok in ["build", "m1.security", "phase_3", "9lives", "a-b"] {
            assert!(GateId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "has space", "ünï", "a/b", ".hidden"] {
            assert_eq!(GateId::new(bad), Err(InvalidId { id: bad.into() }));
        }
    }
}
