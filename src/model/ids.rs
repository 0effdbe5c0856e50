//! Record identifiers: short, printable, safe to use inside store keys.
//!
//! Imported records keep the ids they arrive with (`p1`, `n1`); records created in kitnotes get
//! UUID v7 ids, which sort by creation time.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest id accepted. Ids go into store keys, so they stay short.
pub const MAX_ID_LEN: usize = 128;

/// Why a string cannot be an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("an id cannot be empty")]
    Empty,
    #[error("an id is at most {MAX_ID_LEN} bytes long (this one has {0})")]
    TooLong(usize),
    #[error("an id cannot contain whitespace or control characters (found {0:?})")]
    BadChar(char),
}

/// Checks the rules every id follows: 1 to 128 bytes, no whitespace, no control characters.
pub fn validate_id(s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty);
    }
    if s.len() > MAX_ID_LEN {
        return Err(IdError::TooLong(s.len()));
    }
    if let Some(c) = s.chars().find(|c| c.is_control() || c.is_whitespace()) {
        return Err(IdError::BadChar(c));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses an id, checking [`validate_id`]'s rules.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                validate_id(s)?;
                Ok(Self(s.to_owned()))
            }

            /// A new sortable id from a UUID v7 (the caller supplies it, so tests stay exact).
            pub fn from_uuid(u: uuid::Uuid) -> Self {
                Self(u.to_string())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// Identifies a patient.
    PatientId
);
id_type!(
    /// Identifies a note, a dosing session, a measure or a goal: any record on a patient's timeline.
    RecordId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_short_printable_ids() {
        assert_eq!(PatientId::parse("p1").unwrap().as_str(), "p1");
        assert!(RecordId::parse("0193f0c2-7a1b-7c3d-9e4f-001122334455").is_ok());
    }

    #[test]
    fn rejects_empty_long_and_control_ids() {
        assert_eq!(PatientId::parse(""), Err(IdError::Empty));
        assert_eq!(
            PatientId::parse(&"x".repeat(129)),
            Err(IdError::TooLong(129))
        );
        assert_eq!(PatientId::parse("a\0b"), Err(IdError::BadChar('\0')));
        assert_eq!(PatientId::parse("a b"), Err(IdError::BadChar(' ')));
        assert_eq!(
            PatientId::parse("a\u{1b}[2J"),
            Err(IdError::BadChar('\u{1b}'))
        );
    }
}
