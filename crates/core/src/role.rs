//! What an API key may do: the two roles of the gateway's access control.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The role of an API key. An admin key may do everything a client key may, and more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Classifies, runs inferences and reads its own history.
    Client,
    /// Also manages models, keys and everyone's history.
    Admin,
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "client" => Ok(Role::Client),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role {other:?}: expected `admin` or `client`")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Client => "client",
            Role::Admin => "admin",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_order() {
        for role in [Role::Client, Role::Admin] {
            assert_eq!(role.to_string().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
        assert!(Role::Admin > Role::Client, "admin includes client");
    }
}
