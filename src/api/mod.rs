//! HTTP: REST v1, OGC API Features, problem+json errors, the page.
//!
//! Owns: routing, request parsing at the boundary, response shapes. Must not: hold
//! a lock across `.await` or keep `proj::Proj` in shared state.

mod answers;
mod auth;
mod body;
mod changes;
mod coverage_api;
mod credentials;
mod export;
mod facility_write;
mod gcj;
mod geojson_out;
mod import;
mod listings;
mod ogc;
mod ogc_collections;
mod ogc_write;
mod openapi;
pub mod params;
mod places;
mod problem;
mod responses;
mod security;
mod spatial_api;
mod tiles;
mod validators;
mod webhooks;

pub use problem::Problem;

use crate::coverage::Rules;
use crate::registry::Registry;
use crate::store::{Store, StoreResult};
use axum::extract::{Request, State};
use axum::response::IntoResponse;
use axum::{Json, Router};
use std::path::PathBuf;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;

/// Largest import body (a county's layers are a few MB).
pub const IMPORT_MAX_BYTES: usize = 64 * 1024 * 1024;

/// What every handler shares: the registry (store, snapshot, names, rules — its
/// use cases are called through `Deref`) and what only HTTP needs.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    web_dir: Option<PathBuf>,
    basemap: Option<Basemap>,
    /// Failed logins per account and per client address.
    logins: crate::accounts::throttle::LoginThrottle,
    /// Password hashing runs on the blocking pool, one at a time: a login flood
    /// queues here instead of taking every core from the other requests.
    hashing: tokio::sync::Semaphore,
    /// Turns true when the server begins to stop: long-polls answer at once.
    closing: tokio::sync::watch::Sender<bool>,
}

impl std::ops::Deref for AppState {
    type Target = Registry;
    fn deref(&self) -> &Registry {
        &self.inner.registry
    }
}

/// What an app is built with besides its store.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// The page's static files; `None` serves no page.
    pub web_dir: Option<PathBuf>,
    /// Coverage rules (`data/coverage_rules.toml`).
    pub rules: Rules,
    /// An optional raster basemap for the page (tile URL template with {z}/{x}/{y}).
    pub basemap: Option<Basemap>,
}

/// A raster basemap the page draws under the divisions.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Basemap {
    /// XYZ tile URL template, e.g. a Tianditu WMTS `…&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}…`.
    pub url: String,
    pub attribution: String,
    /// True when the provider's tiles are in GCJ-02 (AMap, Tencent): they then sit
    /// a few hundred metres off diming's CGCS2000 data, and the page says so.
    pub gcj02: bool,
}

impl AppState {
    /// Read the registry and build the first snapshot.
    pub async fn new(store: Arc<dyn Store>, options: AppOptions) -> StoreResult<Self> {
        let registry = Registry::open(store, options.rules).await?;
        Ok(AppState::with_registry(registry, options.web_dir, options.basemap))
    }

    /// Serve a registry already open.
    pub fn with_registry(registry: Registry, web_dir: Option<PathBuf>, basemap: Option<Basemap>) -> Self {
        AppState {
            inner: Arc::new(Inner {
                registry,
                web_dir,
                basemap,
                logins: Default::default(),
                hashing: tokio::sync::Semaphore::new(1),
                closing: tokio::sync::watch::Sender::new(false),
            }),
        }
    }

    /// Turns true when the server begins to stop.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.closing.subscribe()
    }

    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    pub(crate) fn logins(&self) -> &crate::accounts::throttle::LoginThrottle {
        &self.inner.logins
    }

    /// Run a password hash or verification off the async workers, one at a time.
    pub(crate) async fn hash_work<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let _permit = self.inner.hashing.acquire().await.ok()?;
        tokio::task::spawn_blocking(work).await.ok()
    }
}

/// The whole HTTP surface. Pure: tests serve it on `127.0.0.1:0`.
///
/// Every route is registered through `routes!`, which takes its method and path from
/// the handler's `#[utoipa::path]`, so a route cannot be served without being in the
/// OpenAPI document (`GET /api/v1/openapi.json`), built here once. One `routes!` per
/// path (handlers of the same path, different methods, go together). A new module
/// adds its annotated routes with one line, e.g. `.merge(ogc::routes())`.
pub fn app(state: AppState) -> Router {
    use utoipa_axum::routes;
    let v1 = OpenApiRouter::new()
        .routes(routes!(openapi::openapi_json))
        .routes(routes!(page_config))
        .routes(routes!(listings::list_counties))
        .routes(routes!(listings::list_divisions))
        .routes(routes!(listings::get_division))
        .routes(routes!(listings::list_settlements))
        .routes(routes!(listings::get_settlement))
        .routes(routes!(listings::list_facilities, facility_write::create))
        .routes(routes!(spatial_api::nearest))
        .routes(routes!(spatial_api::within))
        .routes(routes!(listings::get_facility, facility_write::update))
        .routes(routes!(facility_write::close))
        .routes(routes!(facility_write::history))
        .routes(routes!(places::list, places::propose))
        .routes(routes!(places::check_name))
        .routes(routes!(places::categories))
        .routes(routes!(places::announcements))
        .routes(routes!(places::get, places::edit))
        .routes(routes!(places::history))
        .routes(routes!(places::approve))
        .routes(routes!(places::rename))
        .routes(routes!(places::retire))
        .routes(routes!(auth::whoami, auth::login, auth::logout))
        .routes(routes!(auth::create_token, credentials::list_tokens))
        .routes(routes!(credentials::revoke_token))
        .routes(routes!(credentials::list_sessions))
        .routes(routes!(credentials::end_session))
        .routes(routes!(credentials::list_users))
        .routes(routes!(credentials::deactivate_user))
        .routes(routes!(credentials::activate_user))
        .routes(routes!(credentials::list_audit))
        .routes(routes!(spatial_api::locate))
        .routes(routes!(coverage_api::coverage))
        .routes(routes!(coverage_api::gaps))
        .routes(routes!(coverage_api::siting))
        .routes(routes!(coverage_api::what_if))
        .routes(routes!(coverage_api::rules))
        .routes(routes!(changes::list_changes))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(webhooks::get_webhook, webhooks::disable_webhook))
        .routes(routes!(webhooks::replay_webhook))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(import::import))
        .routes(routes!(export::download))
        .layer(axum::middleware::from_fn(gcj::layer));
    let (router, doc) = OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(health))
        .nest("/api/v1", v1)
        .merge(ogc::routes())
        .routes(routes!(tiles::tile))
        .routes(routes!(tiles::tilejson))
        .split_for_parts();
    let router = router.method_not_allowed_fallback(|| async { Problem::method_not_allowed() });
    let router = match &state.inner.web_dir {
        Some(dir) => router.fallback_service(
            tower_http::services::ServeDir::new(dir)
                .append_index_html_on_directories(true)
                .call_fallback_on_method_not_allowed(true)
                .not_found_service(axum::routing::any(not_found)),
        ),
        None => router.fallback(not_found),
    };
    let basemap = state.inner.basemap.clone();
    let vocabulary = {
        let rules = state.rules();
        openapi::Vocabulary {
            rules: rules.rules.iter().map(|r| r.id.clone()).collect(),
            siting_rules: rules
                .rules
                .iter()
                .filter(|r| !matches!(r.rule, crate::coverage::RuleKind::Capacity { .. }))
                .map(|r| r.id.clone())
                .collect(),
        }
    };
    let router = router
        .layer(axum::middleware::from_fn_with_state(state.clone(), validators::layer))
        .layer(axum::Extension(openapi::Document::new(&doc, &vocabulary)))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state);
    security::harden(router, basemap.as_ref())
}

/// Serve the whole HTTP surface on `listener` until `shutdown` completes, with
/// each client's address known to the handlers (the login throttle counts by it).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Answers go out whole at once; never wait on Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let stopping = state.clone();
    let shutdown = async move {
        shutdown.await;
        // Requests in flight finish; long-polls stop waiting so they can.
        stopping.inner.closing.send_replace(true);
    };
    axum::serve(listener, app(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// `GET /api/v1/page-config`: what the page needs from the server's settings.
#[utoipa::path(
    get,
    path = "/page-config",
    tag = "service",
    operation_id = "page_config",
    summary = "页面设置 The page's settings",
    description = "What the web page needs from the server: the optional raster basemap, and the closed vocabularies (facility kinds and statuses, operators, roles, provenances) with their Chinese labels.",
    responses((status = 200, description = "The page's settings", body = answers::PageConfig)),
)]
async fn page_config(axum::extract::State(state): axum::extract::State<AppState>) -> Json<answers::PageConfig> {
    let terms = |pairs: &mut dyn Iterator<Item = (&'static str, &'static str)>| {
        pairs.map(|(value, label)| answers::Term { value, label }).collect()
    };
    use crate::domain::{FacilityKind, FacilityStatus, Operator, Provenance, Role};
    Json(answers::PageConfig {
        basemap: state.inner.basemap.clone(),
        vocabularies: answers::Vocabularies {
            kinds: terms(&mut FacilityKind::ALL.into_iter().map(|k| (k.as_str(), k.label_zh()))),
            facility_statuses: terms(&mut FacilityStatus::ALL.into_iter().map(|s| (s.as_str(), s.label_zh()))),
            operators: terms(&mut Operator::ALL.into_iter().map(|o| (o.as_str(), o.label_zh()))),
            roles: terms(&mut Role::ALL.into_iter().map(|r| (r.as_str(), r.label_zh()))),
            provenances: terms(&mut Provenance::ALL.into_iter().map(|p| (p.as_str(), p.label_zh()))),
        },
    })
}

/// `GET /health`
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    operation_id = "health",
    summary = "健康检查 Health",
    description = "Answers `{\"status\": \"ok\", \"sequence\": N}` while the service runs: `sequence` is the \
        registry's change sequence this instance has applied (every committed write takes the next number; an \
        instance behind a load balancer has caught up with a write once its `sequence` reaches the write's).",
    responses((status = 200, description = "The service is up", body = openapi::Health)),
)]
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    Json(answers::Health { status: "ok", sequence: state.applied_sequence() })
}

async fn not_found(req: Request) -> Problem {
    Problem::not_found(format!("没有这个地址 (no such resource): {}", req.uri().path()))
}
