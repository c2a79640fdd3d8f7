//! `/api/v1/webhooks`: administrators' webhook subscriptions — register, list,
//! look at one, its deliveries, replay, disable. The rules and the deliverer are
//! the registry's (`registry::webhooks`).

use super::body::JsonBody;
use super::params::{if_match, Params};
use super::problem::Problem;
use super::AppState;
use crate::accounts::Caller;
use crate::registry::webhooks::{ReplayInput, WebhookAnswer, WebhookInput};
use crate::store::Delivery;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Webhooks {
    pub webhooks: Vec<WebhookAnswer>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Deliveries {
    /// Newest first.
    pub deliveries: Vec<Delivery>,
}

fn webhook_id(raw: &str) -> Result<i64, Problem> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id >= 1)
        .ok_or_else(|| Problem::invalid_field("id", "须为正整数 (a positive integer, as the listing gives)"))
}

/// `GET /api/v1/webhooks`
#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "changes",
    operation_id = "list_webhooks",
    summary = "订阅列表 List webhook subscriptions (admin)",
    description = "Every subscription with its state: where its deliveries stand, failures, the next attempt. \
        Never the secrets.",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The subscriptions", body = Webhooks),
        super::responses::NotLoggedIn,
        super::responses::AdminOnly,
    ),
)]
pub async fn list_webhooks(State(state): State<AppState>, caller: Caller) -> Result<Json<Webhooks>, Problem> {
    Ok(Json(Webhooks { webhooks: state.webhooks(&caller).await? }))
}

/// `POST /api/v1/webhooks`
#[utoipa::path(
    post,
    path = "/webhooks",
    tag = "changes",
    operation_id = "create_webhook",
    summary = "新建订阅 Subscribe a URL to the changes (admin)",
    description = "Every committed change of the chosen layers and counties is POSTed to the URL, in order, \
        signed with HMAC-SHA256 (`Diming-Signature`, docs/API.md \"Webhooks\"), retried with back-off until \
        acknowledged with a 2xx. The answer shows the secret, once. Audited.",
    request_body(content = WebhookInput, content_type = "application/json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "Registered, with its secret", body = WebhookAnswer),
        (status = 400, description = "The body is malformed: not JSON, an unknown field or layer, a negative `after`", body = Problem, content_type = "application/problem+json"),
        super::responses::NotLoggedIn,
        super::responses::AdminWrite,
        super::responses::TooLarge,
        (status = 422, description = "A URL that is not http(s), has no host or carries a user, password or fragment; a county that is not 6 digits; a secret with control characters; `errors` names each", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<WebhookInput>,
) -> Result<(StatusCode, Json<WebhookAnswer>), Problem> {
    Ok((StatusCode::CREATED, Json(state.create_webhook(&caller, input).await?)))
}

/// `GET /api/v1/webhooks/{id}`
#[utoipa::path(
    get,
    path = "/webhooks/{id}",
    tag = "changes",
    operation_id = "get_webhook",
    summary = "一个订阅 One webhook subscription (admin)",
    params(("id" = String, Path, description = "The subscription's id, a positive integer", pattern = "^[1-9][0-9]{0,17}$", example = "1")),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The subscription", body = WebhookAnswer),
        (status = 400, description = "The id is not a positive integer", body = Problem, content_type = "application/problem+json"),
        super::responses::NotLoggedIn,
        super::responses::AdminOnly,
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<WebhookAnswer>, Problem> {
    let id = webhook_id(&id)?;
    Ok(Json(state.webhook(&caller, id).await?))
}

/// `DELETE /api/v1/webhooks/{id}`
#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    tag = "changes",
    operation_id = "disable_webhook",
    summary = "停用订阅 Disable a webhook subscription (admin)",
    description = "No more deliveries; the subscription and its delivery log stay (a replay makes it active \
        again). Audited.",
    params(
        ("id" = String, Path, description = "The subscription's id, a positive integer", pattern = "^[1-9][0-9]{0,17}$", example = "1"),
        ("If-Match" = Option<String>, Header, description = "Optional: the version it is based on; when sent, a stale version is a 412", pattern = "^(W/)?\"?[0-9]{1,18}\"?$"),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "Disabled", body = WebhookAnswer),
        (status = 400, description = "The id or `If-Match` is malformed", body = Problem, content_type = "application/problem+json"),
        super::responses::NotLoggedIn,
        super::responses::AdminWrite,
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
        super::responses::Stale,
    ),
)]
pub async fn disable_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<WebhookAnswer>, Problem> {
    let id = webhook_id(&id)?;
    let expected = if_match(&headers)?;
    Ok(Json(state.disable_webhook(&caller, id, expected).await?))
}

/// `POST /api/v1/webhooks/{id}/replay`
#[utoipa::path(
    post,
    path = "/webhooks/{id}/replay",
    tag = "changes",
    operation_id = "replay_webhook",
    summary = "重新投递 Replay a webhook subscription (admin)",
    description = "Delivers again every change after `after` (default: where it stands — a retry now), and \
        makes the subscription active again. Audited.",
    params(
        ("id" = String, Path, description = "The subscription's id, a positive integer", pattern = "^[1-9][0-9]{0,17}$", example = "1"),
        ("If-Match" = Option<String>, Header, description = "Optional: the version it is based on; when sent, a stale version is a 412", pattern = "^(W/)?\"?[0-9]{1,18}\"?$"),
    ),
    request_body(content = ReplayInput, content_type = "application/json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "Replaying", body = WebhookAnswer),
        (status = 400, description = "The id, the body or `If-Match` is malformed", body = Problem, content_type = "application/problem+json"),
        super::responses::NotLoggedIn,
        super::responses::AdminWrite,
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
        super::responses::Stale,
        super::responses::TooLarge,
    ),
)]
pub async fn replay_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<ReplayInput>,
) -> Result<Json<WebhookAnswer>, Problem> {
    let id = webhook_id(&id)?;
    let expected = if_match(&headers)?;
    Ok(Json(state.replay_webhook(&caller, id, expected, input).await?))
}

/// `GET /api/v1/webhooks/{id}/deliveries?limit=`
#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    tag = "changes",
    operation_id = "list_webhook_deliveries",
    summary = "投递记录 A subscription's deliveries (admin)",
    description = "Its latest delivery attempts, newest first: the changes each carried, the receiver's status, \
        why it failed.",
    params(
        ("id" = String, Path, description = "The subscription's id, a positive integer", pattern = "^[1-9][0-9]{0,17}$", example = "1"),
        ("limit" = Option<u32>, Query, description = "Attempts: 1..=1000, default 100", minimum = 1, maximum = 1000),
    ),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The attempts, newest first", body = Deliveries),
        super::responses::InvalidQuery,
        super::responses::NotLoggedIn,
        super::responses::AdminOnly,
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Deliveries>, Problem> {
    let mut p = Params::parse(raw.as_deref());
    p.reject_unknown(&["limit"]);
    let limit = p.integer("limit", 100, 1, 1000);
    let id = webhook_id(&id);
    p.finish()?;
    Ok(Json(Deliveries { deliveries: state.webhook_deliveries(&caller, id?, limit).await? }))
}
