//! HTTP: REST v1, OGC API Features, problem+json errors, the page.
//!
//! Owns: routing, request parsing at the boundary, response shapes. Must not: hold
//! a lock across `.await` or keep `proj::Proj` in shared state.

mod answers;
mod auth;
mod body;
mod coverage_api;
mod credentials;
pub mod export;
mod facility_write;
mod gcj;
mod geojson_out;
pub mod import;
mod ogc;
mod openapi;
pub mod params;
mod places;
mod problem;
mod registry;
mod responses;
mod security;
mod spatial_api;

pub use problem::{FieldError, Problem};

use crate::coverage::{Coverage, Rules};
use crate::naming::registry::PlaceRegistry;
use crate::spatial::Snapshot;
use crate::store::{Store, StoreResult};
use arc_swap::ArcSwap;
use axum::extract::Request;
use axum::response::IntoResponse;
use axum::{Json, Router};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;

/// Largest import body (a county's layers are a few MB).
pub const IMPORT_MAX_BYTES: usize = 64 * 1024 * 1024;

/// What every handler shares: the store (truth) and the current snapshot (derived).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    snapshot: ArcSwap<Snapshot>,
    places: ArcSwap<PlaceRegistry>,
    generation: AtomicU64,
    /// The store's change marker the spatial snapshot includes at least.
    seen_snapshot: std::sync::atomic::AtomicI64,
    /// The store's change marker the name registry includes at least.
    seen_places: std::sync::atomic::AtomicI64,
    /// Serialises rebuilds so a slower, older rebuild never replaces a newer one.
    rebuild: tokio::sync::Mutex<()>,
    web_dir: Option<PathBuf>,
    rules: Arc<Rules>,
    basemap: Option<Basemap>,
    /// Coverage answers of one snapshot generation, by question.
    coverage_cache: std::sync::Mutex<GenerationCache<Arc<Coverage>>>,
    /// Failed logins per account and per client address.
    logins: crate::accounts::throttle::LoginThrottle,
    /// Password hashing runs on the blocking pool, one at a time: a login flood
    /// queues here instead of taking every core from the other requests.
    hashing: tokio::sync::Semaphore,
}

/// Coverage answers of one snapshot generation, by question: at most
/// `COVERAGE_CACHE_ENTRIES`, the oldest dropped first, so a client asking for ever
/// new radii cannot grow the server's memory (each answer holds every settlement).
struct GenerationCache<V> {
    generation: u64,
    answers: HashMap<String, V>,
    order: std::collections::VecDeque<String>,
}

impl<V> Default for GenerationCache<V> {
    fn default() -> Self {
        GenerationCache { generation: 0, answers: HashMap::new(), order: std::collections::VecDeque::new() }
    }
}

const COVERAGE_CACHE_ENTRIES: usize = 64;

impl<V> GenerationCache<V> {
    fn put(&mut self, generation: u64, key: String, value: V) {
        if self.generation != generation {
            *self = GenerationCache { generation, ..GenerationCache::default() };
        }
        if self.answers.insert(key.clone(), value).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > COVERAGE_CACHE_ENTRIES {
            if let Some(old) = self.order.pop_front() {
                self.answers.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coverage_cache_keeps_at_most_its_bound_and_drops_the_oldest() {
        let mut c = GenerationCache::default();
        for i in 0..200 {
            c.put(7, format!("radius={i}"), i);
        }
        assert_eq!((c.answers.len(), c.order.len()), (COVERAGE_CACHE_ENTRIES, COVERAGE_CACHE_ENTRIES));
        assert!(c.answers.contains_key("radius=199") && !c.answers.contains_key("radius=0"));
        c.put(8, "radius=1".into(), 1);
        assert_eq!(c.answers.len(), 1, "a new snapshot starts afresh");
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
        let marker = store.change_marker().await?;
        let snapshot = build_snapshot(store.as_ref(), 1).await?;
        let places = PlaceRegistry::build(store.places().await?);
        Ok(AppState {
            inner: Arc::new(Inner {
                store,
                snapshot: ArcSwap::from_pointee(snapshot),
                places: ArcSwap::from_pointee(places),
                generation: AtomicU64::new(1),
                seen_snapshot: std::sync::atomic::AtomicI64::new(marker),
                seen_places: std::sync::atomic::AtomicI64::new(marker),
                rebuild: tokio::sync::Mutex::new(()),
                web_dir: options.web_dir,
                rules: Arc::new(options.rules),
                basemap: options.basemap,
                coverage_cache: std::sync::Mutex::new(GenerationCache::default()),
                logins: Default::default(),
                hashing: tokio::sync::Semaphore::new(1),
            }),
        })
    }

    pub fn rules(&self) -> Arc<Rules> {
        self.inner.rules.clone()
    }

    pub(crate) fn coverage_cache_get(&self, generation: u64, key: &str) -> Option<Arc<Coverage>> {
        let cache = self.inner.coverage_cache.lock().ok()?;
        (cache.generation == generation).then(|| cache.answers.get(key).cloned()).flatten()
    }

    pub(crate) fn coverage_cache_put(&self, generation: u64, key: String, value: Arc<Coverage>) {
        if let Ok(mut cache) = self.inner.coverage_cache.lock() {
            cache.put(generation, key, value);
        }
    }

    pub(crate) fn logins(&self) -> &crate::accounts::throttle::LoginThrottle {
        &self.inner.logins
    }

    /// Run a password hash or verification off the async workers, one at a time.
    pub(crate) async fn hash_work<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let _permit = self.inner.hashing.acquire().await.ok()?;
        tokio::task::spawn_blocking(work).await.ok()
    }

    pub fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    /// The current snapshot; cheap, never blocks.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.snapshot.load_full()
    }

    /// The current snapshot for the span of one request: no reference-count
    /// traffic between cores on the hot path (arc-swap's guard).
    pub fn snapshot_guard(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.inner.snapshot.load()
    }

    /// Rebuild the snapshot from the store and swap it in; call after every
    /// committed write, before answering, so the next query sees the write.
    pub async fn refresh(&self) -> StoreResult<()> {
        self.refresh_snapshot().await?;
        self.refresh_places().await
    }

    /// Rebuild only the spatial snapshot (divisions, settlements, facilities):
    /// what a facility write changes.
    pub async fn refresh_snapshot(&self) -> StoreResult<()> {
        let _guard = self.inner.rebuild.lock().await;
        self.note_marker(&self.inner.seen_snapshot).await?;
        let generation = self.inner.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let snapshot = build_snapshot(self.inner.store.as_ref(), generation).await?;
        self.inner.snapshot.store(Arc::new(snapshot));
        Ok(())
    }

    /// Rebuild only the place-name registry and its search index: what a name write changes.
    pub async fn refresh_places(&self) -> StoreResult<()> {
        let _guard = self.inner.rebuild.lock().await;
        self.note_marker(&self.inner.seen_places).await?;
        let places = PlaceRegistry::build(self.inner.store.places().await?);
        self.inner.places.store(Arc::new(places));
        Ok(())
    }

    /// Before a rebuild reads the store: what it will include at least. (Read first,
    /// so a write landing during the rebuild is seen again by the watcher, never missed.)
    /// (One marker per derived picture: a snapshot rebuilt after a facility write says
    /// nothing about the name registry, and the other way round.)
    async fn note_marker(&self, seen: &std::sync::atomic::AtomicI64) -> StoreResult<i64> {
        let m = self.inner.store.change_marker().await?;
        seen.fetch_max(m, Ordering::SeqCst);
        Ok(m)
    }

    /// Follow writes made by other processes (another instance on the same
    /// PostgreSQL database, `diming import` on the same SQLite file): on each signal
    /// from the store, rebuild if the change marker moved past what this instance
    /// has seen. Its own writes are rebuilt before they are answered and skipped here.
    pub fn watch_store(&self) {
        let mut signals = self.inner.store.watch();
        let state = self.clone();
        tokio::spawn(async move {
            while signals.recv().await.is_some() {
                let m = match state.inner.store.change_marker().await {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the change marker");
                        continue;
                    }
                };
                let mut done = Ok(());
                if m > state.inner.seen_snapshot.load(Ordering::SeqCst) {
                    done = state.refresh_snapshot().await;
                }
                if done.is_ok() && m > state.inner.seen_places.load(Ordering::SeqCst) {
                    done = state.refresh_places().await;
                }
                match done {
                    Ok(()) => tracing::debug!(marker = m, "up to date with writes by other processes"),
                    Err(e) => tracing::warn!(error = %e, "cannot refresh after another process's write"),
                }
            }
        });
    }

    /// The place names as of the last refresh.
    pub fn places(&self) -> arc_swap::Guard<Arc<PlaceRegistry>> {
        self.inner.places.load()
    }
}

async fn build_snapshot(store: &dyn Store, generation: u64) -> StoreResult<Snapshot> {
    let divisions = store.divisions().await?;
    let settlements = store.settlements().await?;
    let facilities = store.facilities().await?;
    // CPU work (parsing, indexing, rendering) off the async workers.
    let built = tokio::task::spawn_blocking(move || Snapshot::build(generation, divisions, settlements, facilities))
        .await
        .map_err(|e| crate::store::StoreError::Corrupt(format!("snapshot build failed: {e}")))?;
    Ok(built)
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
        .routes(routes!(registry::list_divisions))
        .routes(routes!(registry::get_division))
        .routes(routes!(registry::list_settlements))
        .routes(routes!(registry::get_settlement))
        .routes(routes!(registry::list_facilities, facility_write::create))
        .routes(routes!(spatial_api::nearest))
        .routes(routes!(spatial_api::within))
        .routes(routes!(registry::get_facility, facility_write::update))
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
        .routes(routes!(import::import))
        .routes(routes!(export::download))
        .layer(axum::middleware::from_fn(gcj::layer));
    let (router, doc) = OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(health))
        .nest("/api/v1", v1)
        .merge(ogc::routes())
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
        .layer(axum::Extension(openapi::Document::new(&doc, &vocabulary)))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state);
    security::harden(router, basemap.as_ref())
}

/// `GET /api/v1/page-config`: what the page needs from the server's settings.
#[utoipa::path(
    get,
    path = "/page-config",
    tag = "service",
    operation_id = "page_config",
    summary = "页面设置 The page's settings",
    description = "What the web page needs from the server's settings: the optional raster basemap.",
    responses((status = 200, description = "The page's settings", body = openapi::PageConfig)),
)]
async fn page_config(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    Json(answers::PageConfig { basemap: state.inner.basemap.clone() })
}

/// `GET /health`
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    operation_id = "health",
    summary = "健康检查 Health",
    description = "Answers `{\"status\": \"ok\"}` while the service runs.",
    responses((status = 200, description = "The service is up", body = openapi::Health)),
)]
async fn health() -> impl IntoResponse {
    Json(answers::Health { status: "ok" })
}

async fn not_found(req: Request) -> Problem {
    Problem::not_found(format!("没有这个地址 (no such resource): {}", req.uri().path()))
}
