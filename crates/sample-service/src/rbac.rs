//! Roles and the one table saying which role may do what.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::flaw::Flaw;

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

/// Denials decided so far while [`Flaw::RbacFlakyDeny`] is on: the simulated role-cache race
/// lets every [`FLAKY_EVERY`]th one through. Per process, like the cache it stands for.
static DENIALS: AtomicU64 = AtomicU64::new(0);

/// With [`Flaw::RbacFlakyDeny`], one denial in this many answers as if allowed: a caller
/// asking a denied route once is usually refused, one asking it this many times in a row is
/// let through at least once (unless other denied callers interleave).
const FLAKY_EVERY: u64 = 3;

/// Whether `role` may perform `action`. Deny by default: an action lists the roles it allows.
pub fn allows(config: &Config, role: Role, action: Action) -> bool {
    use Role::*;
    let allowed: &[Role] = match action {
        Action::Checkout => &[Member],
        Action::ListUsers => &[PlatformAdmin, SupportAdmin],
        Action::ChangeRole if config.has(Flaw::RbacAuditorCanWrite) => &[PlatformAdmin, Auditor],
        Action::ChangeRole => &[PlatformAdmin],
        Action::ReadAuditLog => &[PlatformAdmin, Auditor],
        Action::ReadOpsSummary => &[PlatformAdmin],
    };
    if allowed.contains(&role) {
        return true;
    }
    config.has(Flaw::RbacFlakyDeny)
        && DENIALS.fetch_add(1, Ordering::Relaxed) % FLAKY_EVERY == FLAKY_EVERY - 1
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
    fn the_auditor_flaw_lets_the_auditor_change_roles_and_nothing_else() {
        let config = Config::new("x.db").with_flaw(Flaw::RbacAuditorCanWrite);
        assert!(allows(&config, Role::Auditor, Action::ChangeRole));
        assert!(!allows(&config, Role::SupportAdmin, Action::ChangeRole));
        assert!(!allows(&config, Role::Auditor, Action::ReadOpsSummary));
    }

    #[test]
    fn the_flaky_flaw_lets_one_denial_in_three_through() {
        let config = Config::new("x.db").with_flaw(Flaw::RbacFlakyDeny);
        // The counter is per process; this is the only test here that moves it.
        let through = (0..30)
            .filter(|_| allows(&config, Role::Member, Action::ReadOpsSummary))
            .count();
        assert_eq!(through, 10);
        assert!(!allows(
            &Config::new("x.db"),
            Role::Member,
            Action::ReadOpsSummary
        ));
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
