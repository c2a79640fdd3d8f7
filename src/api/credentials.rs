//! Accounts' credentials and the audit, for their owners and administrators: list
//! and revoke API tokens, list and end sessions, deactivate and reactivate
//! accounts, and page through the audit chain.

use super::params::Params;
use super::problem::Problem;
use super::AppState;
use crate::accounts::Caller;
use crate::domain::Role;
use crate::store::{is_credential_id, ApiToken, AuditEntry, LoginSession};
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde::Serialize;

const ID_HELP: &str = "须为 12 位小写十六进制 (12 lowercase hex digits, as the listing gives)";

fn credential_id(id: &str) -> Result<(), Problem> {
    if is_credential_id(id) {
        Ok(())
    } else {
        Err(Problem::invalid_field("id", ID_HELP))
    }
}

/// Whose credentials a listing shows: the caller's, or for an administrator
/// everybody's (`all=true`).
fn owner_filter(caller: &Caller, raw: Option<&str>) -> Result<Option<i64>, Problem> {
    let user = caller.require(Role::Viewer)?.clone();
    let mut p = Params::parse(raw);
    p.reject_unknown(&["all"]);
    let all = p.boolean("all").unwrap_or(false);
    p.finish()?;
    if all {
        caller.require(Role::Admin)?;
        Ok(None)
    } else {
        Ok(Some(user.id))
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiTokens {
    pub tokens: Vec<ApiToken>,
}

/// `GET /api/v1/tokens`
#[utoipa::path(
    get,
    path = "/tokens",
    tag = "auth",
    operation_id = "list_tokens",
    summary = "API 令牌列表 List API tokens",
    description = "The caller's API tokens (revoked ones too), never the tokens themselves; an \
        administrator gets every account's with `all=true`.",
    params(("all" = Option<bool>, Query, description = "Every account's tokens (administrators only)")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The tokens", body = ApiTokens),
        super::responses::InvalidQuery,
        super::responses::NotLoggedIn,
        (status = 403, description = "`all=true` needs the admin role", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<ApiTokens>, Problem> {
    let owner = owner_filter(&caller, raw.as_deref())?;
    Ok(Json(ApiTokens { tokens: state.store().api_tokens(owner).await? }))
}

/// `DELETE /api/v1/tokens/{id}`
#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    tag = "auth",
    operation_id = "revoke_token",
    summary = "吊销 API 令牌 Revoke an API token",
    description = "Revokes a token at once (the next request with it gets 401); audited. The owner or \
        an administrator may. Revoking a revoked token changes nothing.",
    params(("id" = String, Path, description = "The token's id from the listing", pattern = "^[0-9a-f]{12}$")),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The token, revoked", body = ApiToken),
        super::responses::MalformedId,
        super::responses::NotLoggedIn,
        (status = 403, description = "Another account's token needs the admin role, or the CSRF token is missing", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such token", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ApiToken>, Problem> {
    caller.require(Role::Viewer)?;
    credential_id(&id)?;
    let tokens = state.store().api_tokens(None).await?;
    let Some(token) = tokens.iter().find(|t| t.id == id) else {
        return Err(Problem::not_found(format!("没有这个令牌 (no such token): {id}")));
    };
    caller.require_owner_or_admin(token.user_id)?;
    Ok(Json(state.store().revoke_api_token(&id, &caller.actor()).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginSessions {
    pub sessions: Vec<LoginSession>,
}

/// `GET /api/v1/sessions`
#[utoipa::path(
    get,
    path = "/sessions",
    tag = "auth",
    operation_id = "list_sessions",
    summary = "登录会话列表 List login sessions",
    description = "The caller's live sessions; an administrator gets every account's with `all=true`.",
    params(("all" = Option<bool>, Query, description = "Every account's sessions (administrators only)")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The live sessions", body = LoginSessions),
        super::responses::InvalidQuery,
        super::responses::NotLoggedIn,
        (status = 403, description = "`all=true` needs the admin role", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<LoginSessions>, Problem> {
    let owner = owner_filter(&caller, raw.as_deref())?;
    Ok(Json(LoginSessions { sessions: state.store().sessions(owner).await? }))
}

/// `DELETE /api/v1/sessions/{id}`
#[utoipa::path(
    delete,
    path = "/sessions/{id}",
    tag = "auth",
    operation_id = "end_session",
    summary = "结束登录会话 End a login session",
    description = "Ends a session at once (its cookie stops working); audited. The owner or an \
        administrator may.",
    params(("id" = String, Path, description = "The session's id from the listing", pattern = "^[0-9a-f]{12}$")),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The session, ended", body = LoginSession),
        super::responses::MalformedId,
        super::responses::NotLoggedIn,
        (status = 403, description = "Another account's session needs the admin role, or the CSRF token is missing", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such live session", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn end_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<LoginSession>, Problem> {
    caller.require(Role::Viewer)?;
    credential_id(&id)?;
    let sessions = state.store().sessions(None).await?;
    let Some(session) = sessions.iter().find(|s| s.id == id) else {
        return Err(Problem::not_found(format!("没有这个会话 (no such session): {id}")));
    };
    caller.require_owner_or_admin(session.user_id)?;
    Ok(Json(state.store().end_session(&id, &caller.actor()).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Users {
    pub users: Vec<crate::domain::User>,
}

/// `GET /api/v1/users` (admin)
#[utoipa::path(
    get,
    path = "/users",
    tag = "auth",
    operation_id = "list_users",
    summary = "账号列表 List accounts",
    description = "Every account, without secrets. Administrators only.",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The accounts", body = Users),
        super::responses::NotLoggedIn,
        super::responses::AdminOnly,
    ),
)]
pub async fn list_users(State(state): State<AppState>, caller: Caller) -> Result<Json<Users>, Problem> {
    caller.require(Role::Admin)?;
    Ok(Json(Users { users: state.store().users().await? }))
}

async fn set_active(state: &AppState, caller: &Caller, username: &str, active: bool) -> Result<Json<Users>, Problem> {
    let me = caller.require(Role::Admin)?;
    if !active && me.username == username {
        return Err(Problem::conflict("不能停用自己的账号 (you cannot deactivate your own account)"));
    }
    let user = state.store().set_user_active(username, active, &caller.actor()).await?;
    Ok(Json(Users { users: vec![user] }))
}

/// `POST /api/v1/users/{username}/deactivate` (admin)
#[utoipa::path(
    post,
    path = "/users/{username}/deactivate",
    tag = "auth",
    operation_id = "deactivate_user",
    summary = "停用账号 Deactivate an account",
    description = "The account's sessions end and its API tokens stop working at once; nothing is \
        deleted and the account can be reactivated. Audited. Administrators only, not on themselves.",
    params(("username" = String, Path, description = "The account's name")),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The account, inactive", body = Users),
        super::responses::NotLoggedIn,
        super::responses::AdminWrite,
        super::responses::AccountNotFound,
        (status = 409, description = "An administrator cannot deactivate their own account", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn deactivate_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> Result<Json<Users>, Problem> {
    set_active(&state, &caller, &username, false).await
}

/// `POST /api/v1/users/{username}/activate` (admin)
#[utoipa::path(
    post,
    path = "/users/{username}/activate",
    tag = "auth",
    operation_id = "activate_user",
    summary = "启用账号 Reactivate an account",
    description = "Audited. Administrators only. Old sessions stay ended; revoked tokens stay revoked.",
    params(("username" = String, Path, description = "The account's name")),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The account, active", body = Users),
        super::responses::NotLoggedIn,
        super::responses::AdminWrite,
        super::responses::AccountNotFound,
    ),
)]
pub async fn activate_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> Result<Json<Users>, Problem> {
    set_active(&state, &caller, &username, true).await
}

/// Largest audit page.
pub const AUDIT_PAGE_MAX: usize = 1000;

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `after` for the next page; `null` when this page is the last.
    pub next_after: Option<i64>,
}

/// `GET /api/v1/audit` (admin)
#[utoipa::path(
    get,
    path = "/audit",
    tag = "auth",
    operation_id = "list_audit",
    summary = "审计日志 The audit chain",
    description = "Audit entries oldest first, each with `prev_hash` and `hash` (SHA-256 chain; \
        `diming audit verify` checks it). Page with `after` (the last id seen). Administrators only.",
    params(
        ("after" = Option<i64>, Query, description = "Entries with an id above this", minimum = 0),
        ("limit" = Option<usize>, Query, description = "Entries per page", minimum = 1, maximum = 1000),
    ),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "A page of the audit", body = AuditPage),
        super::responses::InvalidQuery,
        super::responses::NotLoggedIn,
        super::responses::AdminOnly,
    ),
)]
pub async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<AuditPage>, Problem> {
    caller.require(Role::Admin)?;
    let mut p = Params::parse(raw.as_deref());
    p.reject_unknown(&["after", "limit"]);
    let after = p.integer("after", 0, 0, i64::MAX as usize);
    let limit = p.integer("limit", 100, 1, AUDIT_PAGE_MAX);
    p.finish()?;
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let entries = state.store().audit_page(after, limit).await?;
    let next_after = (entries.len() == limit).then(|| entries.last().map(|e| e.id)).flatten();
    Ok(Json(AuditPage { entries, next_after }))
}
