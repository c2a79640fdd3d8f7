//! Who is calling (session cookie or API token), log in/out, API tokens, and the
//! mapping of a refused role check to 401/403.

use super::answers::{LoginAnswer, SessionInfo, TokenAnswer, Via};
use super::body::parse_json;
use super::problem::Problem;
use super::AppState;
use crate::accounts::{self, Caller, Denied, CSRF_HEADER, SESSION_COOKIE, SESSION_HOURS};
use crate::domain::Role;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

impl From<Denied> for Problem {
    fn from(d: Denied) -> Self {
        match d {
            Denied::NotLoggedIn => Problem::unauthorized(),
            Denied::Forbidden { .. } | Denied::Csrf => Problem::forbidden(d.to_string()),
        }
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let store = state.store();
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            let token = auth.strip_prefix("Bearer ").ok_or_else(Problem::unauthorized)?;
            let user = store.token_user(&accounts::token_hash(token.trim())).await?;
            return user.map(|user| Caller::Token { user }).ok_or_else(Problem::unauthorized);
        }
        if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
            if let Some((user, csrf)) = store.session_user(&accounts::token_hash(token)).await? {
                let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
                let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
                return Ok(Caller::Session { user, csrf_ok: safe || sent == Some(csrf.as_str()) });
            }
        }
        Ok(Caller::Anonymous)
    }
}

/// Credentials.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    #[schema(format = Password)]
    password: String,
}

/// `POST /api/v1/session`: log in; sets the session cookie and returns the CSRF
/// token that cookie-authenticated writes must repeat in `X-CSRF-Token`.
#[utoipa::path(
    post,
    path = "/session",
    tag = "auth",
    operation_id = "login",
    summary = "登录 Log in (the page)",
    description = "Sets the session cookie (`diming_session`, HttpOnly, SameSite=Strict, 12 hours) and \
        returns the CSRF token that writes made with the cookie must repeat in `X-CSRF-Token`. \
        Applications use an API token instead.",
    request_body(content = Login, content_type = "application/json"),
    responses(
        (status = 200, description = "Logged in", body = super::openapi::LoginAnswer,
            headers(("Set-Cookie" = String, description = "`diming_session=…; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200`"))),
        (status = 400, description = "The body is malformed; `errors` names the field", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong username or password, or an inactive account", body = Problem, content_type = "application/problem+json"),
        super::responses::TooLarge,
        (status = 429, description = "Too many failed logins for this account or from this address: wait `Retry-After` seconds (5 quick tries per account, 20 per address, then 1 s, 2 s, 4 s … up to 15 min)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before the next try"))),
    ),
)]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let l: Login = parse_json(body)?;
    // Throttled before any hashing, so a flood costs nothing but this check.
    if let Err(wait) = state.logins().check(&l.username, addr, std::time::Instant::now()) {
        tracing::info!(username = %l.username, ?addr, wait_s = wait.as_secs_f64(), "login throttled");
        // Held a moment before the answer: a flood of refused tries then costs its sender
        // time, not this server's cores (measured in BENCHMARKS.md).
        tokio::time::sleep(wait.min(accounts::throttle::TARPIT)).await;
        return Err(Problem::too_many_requests(wait));
    }
    let found = state.store().user_by_name(&l.username).await?;
    // Verify against a dummy hash when the name is unknown, so timing does not tell.
    let hash = found.as_ref().map_or(DUMMY_HASH.to_string(), |(_, h)| h.clone());
    let password = l.password.clone();
    let verified = state
        .hash_work(move || accounts::verify_password(&password, &hash))
        .await
        .ok_or_else(|| Problem::internal(&"password verification did not finish"))?;
    let ok = verified && found.as_ref().is_some_and(|(user, _)| user.active);
    let Some((user, _)) = found.filter(|_| ok) else {
        state.logins().failed(&l.username, addr, std::time::Instant::now());
        tracing::info!(username = %l.username, ?addr, "failed login");
        return Err(Problem::unauthorized_with("用户名或密码错误 (wrong username or password)"));
    };
    state.logins().succeeded(&l.username, addr);
    let token = accounts::new_token();
    let csrf = accounts::new_token();
    let expires = time::OffsetDateTime::now_utc() + time::Duration::hours(SESSION_HOURS);
    let expires = expires.format(&time::format_description::well_known::Rfc3339).map_err(|e| Problem::internal(&e))?;
    state.store().create_session(user.id, &accounts::token_hash(&token), &csrf, &expires).await?;
    let cookie =
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}", SESSION_HOURS * 3600);
    let mut res = Json(LoginAnswer { user, csrf_token: csrf, expires_at: expires }).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// The client's address as the connection gives it (`None` when served without
/// connect info). `X-Forwarded-For` is not read: anyone can send it.
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let info = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(ClientAddr(info.map(|c| c.0.ip())))
    }
}

/// An argon2id hash of a random string: the work done for unknown user names.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0bO5CyjXz5Ng3CqfK3Kp3BdSmsHJnZaT9gDaW3e5XXQ";

/// `GET /api/v1/session`: who is logged in (`{"user": null}` when nobody is).
#[utoipa::path(
    get,
    path = "/session",
    tag = "auth",
    operation_id = "whoami",
    summary = "当前用户 Who is calling",
    description = "The account behind the session cookie or the bearer token; `{\"user\": null}` when \
        nobody is logged in (not an error). A session also gets its CSRF token back.",
    security((), ("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The caller", body = super::openapi::SessionInfo)),
)]
pub async fn whoami(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Json<SessionInfo>, Problem> {
    match &caller {
        Caller::Session { user, .. } => {
            let token = cookie(&headers, SESSION_COOKIE).unwrap_or_default();
            let csrf = state.store().session_user(&accounts::token_hash(token)).await?.map(|(_, c)| c);
            Ok(Json(SessionInfo { user: Some(user.clone()), csrf_token: csrf, via: Some(Via::Session) }))
        }
        Caller::Token { user } => {
            Ok(Json(SessionInfo { user: Some(user.clone()), csrf_token: None, via: Some(Via::Token) }))
        }
        // Not an error: the page asks on every load whether anyone is logged in.
        Caller::Anonymous | Caller::System { .. } => Ok(Json(SessionInfo { user: None, csrf_token: None, via: None })),
    }
}

/// `DELETE /api/v1/session`: log out.
#[utoipa::path(
    delete,
    path = "/session",
    tag = "auth",
    operation_id = "logout",
    summary = "退出登录 Log out",
    description = "Ends the session named by the cookie, if any, and clears the cookie.",
    security((), ("session" = [])),
    responses((status = 204, description = "Logged out",
        headers(("Set-Cookie" = String, description = "`diming_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`")))),
)]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Problem> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state.store().delete_session(&accounts::token_hash(token)).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("diming_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(res)
}

/// What the token is for.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// The application that will use it, not empty.
    #[schema(min_length = 1, pattern = "\\S", example = "乡镇民政助理 App")]
    name: String,
}

/// `POST /api/v1/tokens`: an API token for the logged-in account, shown once.
#[utoipa::path(
    post,
    path = "/tokens",
    tag = "auth",
    operation_id = "create_token",
    summary = "创建 API 令牌 Create an API token",
    description = "An API token for the calling account, with the account's role; shown once, stored \
        only as a hash. Applications send it as `Authorization: Bearer TOKEN`.",
    request_body(content = NewToken, content_type = "application/json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "The new token", body = super::openapi::TokenAnswer),
        (status = 400, description = "The body is malformed or the name is empty; `errors` names the field", body = Problem, content_type = "application/problem+json"),
        super::responses::NotLoggedIn,
        (status = 403, description = "A session request lacks the right `X-CSRF-Token`", body = Problem, content_type = "application/problem+json"),
        super::responses::TooLarge,
    ),
)]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let user = caller.require(Role::Viewer)?.clone();
    let t: NewToken = parse_json(body)?;
    if t.name.trim().is_empty() {
        return Err(Problem::invalid_field("name", "须给出令牌名称 (name the token, e.g. the application)"));
    }
    let token = accounts::new_token();
    let hash = accounts::token_hash(&token);
    state.store().create_api_token(user.id, t.name.trim(), &hash, &caller.actor()).await?;
    // The id the listing and `DELETE /tokens/{id}` use.
    let id = hash.get(..12).unwrap_or_default();
    Ok((StatusCode::CREATED, Json(TokenAnswer { id: id.to_string(), name: t.name.trim().to_string(), token, user }))
        .into_response())
}
