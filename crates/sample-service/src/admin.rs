//! Administration: users and roles, the audit log, the ops summary.

use serde::{Deserialize, Serialize};

use crate::api_error::ApiError;
use crate::auth::Principal;
use crate::db::{self, AuditEntry, Summary};
use crate::input::Fields;
use crate::rbac::{Action, Role};
use crate::state::AppState;

/// A user as administrators see it: never the password hash.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct UserView {
    id: i64,
    email: String,
    role: Role,
    created_at: String,
}

/// The newest audit entries returned.
const AUDIT_LOG_LIMIT: u32 = 200;

pub(crate) async fn list_users(
    state: &AppState,
    principal: Principal,
) -> Result<Vec<UserView>, ApiError> {
    principal.require(&state.config, Action::ListUsers)?;
    let users = state.db.run(|conn| db::list_users(conn)).await?;
    Ok(users
        .into_iter()
        .map(|user| UserView {
            id: user.id,
            email: user.email,
            role: user.role,
            created_at: user.created_at,
        })
        .collect())
}

/// The body of a role change.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RoleChange {
    role: String,
}

impl Fields for RoleChange {
    const FIELDS: &'static [&'static str] = &["role"];
}

/// The result of a role change.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RoleChanged {
    id: i64,
    role: Role,
}

pub(crate) async fn change_role(
    state: &AppState,
    principal: Principal,
    id: i64,
    change: RoleChange,
) -> Result<RoleChanged, ApiError> {
    principal.require(&state.config, Action::ChangeRole)?;
    let role: Role = change.role.parse().map_err(ApiError::unprocessable)?;
    let actor = principal.email;
    let changed = state
        .db
        .run(move |conn| {
            let tx = conn.transaction()?;
            let changed = db::set_role(&tx, id, role)?;
            if changed {
                db::audit(
                    &tx,
                    Some(&actor),
                    "user.role_changed",
                    &format!("user={id} role={role}"),
                )?;
            }
            tx.commit()?;
            Ok(changed)
        })
        .await?;
    if !changed {
        return Err(ApiError::not_found("no such user"));
    }
    Ok(RoleChanged { id, role })
}

pub(crate) async fn audit_log(
    state: &AppState,
    principal: Principal,
) -> Result<Vec<AuditEntry>, ApiError> {
    principal.require(&state.config, Action::ReadAuditLog)?;
    Ok(state
        .db
        .run(|conn| db::audit_log(conn, AUDIT_LOG_LIMIT))
        .await?)
}

pub(crate) async fn ops_summary(
    state: &AppState,
    principal: Principal,
) -> Result<Summary, ApiError> {
    principal.require(&state.config, Action::ReadOpsSummary)?;
    Ok(state.db.run(|conn| db::summary(conn)).await?)
}
