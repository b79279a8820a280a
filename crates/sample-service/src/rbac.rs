//! Roles and the one table saying which role may do what.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::config::Config;

/// A user's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A paying member: checkout, subscription, downloads.
    Member,
    /// Runs the platform: everything administrative.
    PlatformAdmin,
    /// Helps members: may look at users, not change them.
    SupportAdmin,
    /// Reads the audit log, nothing else.
    Auditor,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [
        Role::Member,
        Role::PlatformAdmin,
        Role::SupportAdmin,
        Role::Auditor,
    ];

    /// The name stored in the database and sent in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::PlatformAdmin => "platform_admin",
            Role::SupportAdmin => "support_admin",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`"))
    }
}

/// Something a signed-in user asks to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `POST /api/v1/checkout`.
    Checkout,
    /// `GET /api/v1/admin/users`.
    ListUsers,
    /// `POST /api/v1/admin/users/{id}/role`.
    ChangeRole,
    /// `GET /api/v1/admin/audit-log`.
    ReadAuditLog,
    /// `GET /api/v1/ops/summary`.
    ReadOpsSummary,
}

/// Whether `role` may perform `action`. Deny by default: an action lists the roles it allows.
pub fn allows(_config: &Config, role: Role, action: Action) -> bool {
    use Role::*;
    let allowed: &[Role] = match action {
        Action::Checkout => &[Member],
        Action::ListUsers => &[PlatformAdmin, SupportAdmin],
        Action::ChangeRole => &[PlatformAdmin],
        Action::ReadAuditLog => &[PlatformAdmin, Auditor],
        Action::ReadOpsSummary => &[PlatformAdmin],
    };
    allowed.contains(&role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_platform_admins_change_roles() {
        let config = Config::new("x.db");
        for role in Role::ALL {
            assert_eq!(
                allows(&config, role, Action::ChangeRole),
                role == Role::PlatformAdmin
            );
        }
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
