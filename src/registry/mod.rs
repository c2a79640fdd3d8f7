//! The registry's use cases, called by the HTTP API and the command line alike.
//!
//! Owns: the state that is not HTTP (the store, the spatial snapshot, the name
//! registry, the coverage rules and the coverage cache, their refresh after a
//! write and their following of other processes' writes), every write rule
//! (facility fields, the place-name lifecycle, imports of every layer), export,
//! and the choice of a coverage rule. Each use case checks the caller's role
//! first (`Caller::permit`, with the role the use case names), validates every
//! field (all problems reported at once), writes one store transaction and swaps
//! in the derived pictures before it returns, so the next read sees the write.
//!
//! Must not: know HTTP. Errors are `RegistryError`; `api` maps them to
//! problem+json in one table (`api::problem`).

pub mod changes;
pub mod coverage;
mod error;
pub mod export;
pub mod facilities;
pub mod import;
pub mod places;
pub mod webhooks;

pub use error::{FieldError, RegistryError, RegistryResult};

use crate::coverage::{Coverage, Rules};
use crate::naming::registry::PlaceRegistry;
use crate::spatial::Snapshot;
use crate::store::{Store, StoreResult};
use arc_swap::ArcSwap;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

/// The registry in memory: the store (truth) and the pictures derived from it.
/// Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    snapshot: ArcSwap<Snapshot>,
    places: ArcSwap<PlaceRegistry>,
    generation: AtomicU64,
    /// The store's change marker the spatial snapshot includes at least.
    seen_snapshot: AtomicI64,
    /// The store's change marker the name registry includes at least.
    seen_places: AtomicI64,
    /// The applied sequence as it rises (`applied_sequence`), for those who wait on it.
    applied: tokio::sync::watch::Sender<i64>,
    /// Serialises rebuilds so a slower, older rebuild never replaces a newer one.
    rebuild: tokio::sync::Mutex<()>,
    /// A background merge of the facility delta is running.
    merging: std::sync::atomic::AtomicBool,
    rules: Arc<Rules>,
    rules_fingerprint: u64,
    /// Coverage answers of one snapshot generation, by question.
    coverage_cache: std::sync::Mutex<GenerationCache<Arc<Coverage>>>,
}

/// Changes a catch-up applies one by one at most; more are rebuilt from the store.
const CATCH_UP_MAX: usize = 2_000;

/// Coverage answers of one snapshot generation, by question: at most
/// `COVERAGE_CACHE_ENTRIES`, the oldest dropped first, so a client asking for ever
/// new radii cannot grow the server's memory (each answer holds every settlement).
struct GenerationCache<V> {
    generation: u64,
    answers: HashMap<String, V>,
    order: VecDeque<String>,
}

impl<V> Default for GenerationCache<V> {
    fn default() -> Self {
        GenerationCache { generation: 0, answers: HashMap::new(), order: VecDeque::new() }
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

impl Registry {
    /// Read the registry and build the first snapshot and name registry.
    pub async fn open(store: Arc<dyn Store>, rules: Rules) -> StoreResult<Self> {
        let marker = store.change_marker().await?;
        let started = std::time::Instant::now();
        // The snapshot and the name registry are read and built side by side (two
        // connections, two cores).
        let names = tokio::spawn({
            let store = store.clone();
            async move {
                let places = store.places().await?;
                tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, rss_mb = rss_mb(), "places read");
                tokio::task::spawn_blocking(move || PlaceRegistry::build(places))
                    .await
                    .map_err(|e| crate::store::StoreError::Corrupt(format!("name registry build failed: {e}")))
            }
        });
        let snapshot = build_snapshot(&store, 1).await;
        let places = names
            .await
            .map_err(|e| crate::store::StoreError::Corrupt(format!("name registry build failed: {e}")))??;
        let snapshot = snapshot?;
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            rss_mb = rss_mb(),
            "snapshot and names built"
        );
        Ok(Registry {
            inner: Arc::new(Inner {
                store,
                snapshot: ArcSwap::from_pointee(snapshot),
                places: ArcSwap::from_pointee(places),
                generation: AtomicU64::new(1),
                seen_snapshot: AtomicI64::new(marker),
                seen_places: AtomicI64::new(marker),
                applied: tokio::sync::watch::Sender::new(marker),
                rebuild: tokio::sync::Mutex::new(()),
                merging: std::sync::atomic::AtomicBool::new(false),
                rules_fingerprint: stable_hash(&[format!("{rules:?}").as_bytes()]),
                rules: Arc::new(rules),
                coverage_cache: std::sync::Mutex::new(GenerationCache::default()),
            }),
        })
    }

    pub fn rules(&self) -> Arc<Rules> {
        self.inner.rules.clone()
    }

    /// A hash of the coverage rules in force (part of every cache validator).
    pub fn rules_fingerprint(&self) -> u64 {
        self.inner.rules_fingerprint
    }

    fn coverage_cache_get(&self, generation: u64, key: &str) -> Option<Arc<Coverage>> {
        let cache = self.inner.coverage_cache.lock().ok()?;
        (cache.generation == generation).then(|| cache.answers.get(key).cloned()).flatten()
    }

    fn coverage_cache_put(&self, generation: u64, key: String, value: Arc<Coverage>) {
        if let Ok(mut cache) = self.inner.coverage_cache.lock() {
            cache.put(generation, key, value);
        }
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

    /// The place names as of the last refresh.
    pub fn places(&self) -> arc_swap::Guard<Arc<PlaceRegistry>> {
        self.inner.places.load()
    }

    /// Rebuild the snapshot and the name registry from the store and swap them in.
    pub async fn refresh(&self) -> StoreResult<()> {
        self.refresh_snapshot().await?;
        self.refresh_places().await
    }

    /// Bring the spatial snapshot up to the store's change sequence. The facilities
    /// changed since the last change applied are read and written into the snapshot
    /// one by one, sharing everything else (`Snapshot::with_facility`): a facility
    /// write costs what it touched, on the instance that made it and on every
    /// follower alike. A change to divisions or settlements (an import, `init`), a
    /// change this code does not know, or more than `CATCH_UP_MAX` changes at once
    /// rebuild the snapshot from the store instead.
    pub async fn refresh_snapshot(&self) -> StoreResult<()> {
        let _guard = self.inner.rebuild.lock().await;
        let seen = self.inner.seen_snapshot.load(Ordering::SeqCst);
        let changes = self.inner.store.changes_after(seen, CATCH_UP_MAX as i64 + 1).await?;
        let Some(last) = changes.last().map(|c| c.seq) else { return Ok(()) };
        let rebuild = changes.len() > CATCH_UP_MAX
            || changes.iter().any(|c| {
                !matches!(c.entity.as_str(), "facility" | "place" | "user" | "session" | "api_token" | "webhook")
            });
        if rebuild {
            // The marker first (a write landing during the build is seen again by the
            // watcher, never missed), then the build (which holds at least that much),
            // the swap, and only then the sequence raised: an instance never reports
            // (nor validates answers by) a sequence its snapshot does not yet hold.
            let marker = self.inner.store.change_marker().await?;
            let generation = self.inner.generation.fetch_add(1, Ordering::SeqCst) + 1;
            let snapshot = build_snapshot(&self.inner.store, generation).await?;
            self.inner.snapshot.store(Arc::new(snapshot));
            self.inner.seen_snapshot.fetch_max(marker, Ordering::SeqCst);
            self.announce();
            return Ok(());
        }
        let mut ids: Vec<&str> =
            changes.iter().filter(|c| c.entity == "facility").map(|c| c.entity_id.as_str()).collect();
        let mut seen_ids = std::collections::HashSet::new();
        ids.retain(|id| seen_ids.insert(*id));
        if !ids.is_empty() {
            let generation = self.inner.generation.fetch_add(1, Ordering::SeqCst) + 1;
            let mut snap = self.snapshot();
            for id in ids {
                // The record as it is now: a later change in this batch is included too.
                if let Some(f) = self.inner.store.facility(id).await? {
                    snap = Arc::new(snap.with_facility(generation, f));
                }
            }
            let merge = snap.facility_layer().delta_len() >= crate::spatial::facility_layer::MERGE_AT;
            self.inner.snapshot.store(snap);
            if merge {
                self.merge_facilities();
            }
        }
        self.inner.seen_snapshot.fetch_max(last, Ordering::SeqCst);
        // The names were current at `seen` and none changed since: current at `last` too.
        if self.inner.seen_places.load(Ordering::SeqCst) >= seen && changes.iter().all(|c| c.entity != "place") {
            self.inner.seen_places.fetch_max(last, Ordering::SeqCst);
        }
        self.announce();
        Ok(())
    }

    /// Tell those waiting on the applied sequence that it rose.
    fn announce(&self) {
        let now = self.applied_sequence();
        self.inner.applied.send_if_modified(|seen| {
            let rose = now > *seen;
            *seen = (*seen).max(now);
            rose
        });
    }

    /// The applied sequence as it rises: `wait_for` on it waits for a change.
    pub fn watch_applied(&self) -> tokio::sync::watch::Receiver<i64> {
        self.inner.applied.subscribe()
    }

    /// Fold the facility delta into a new base in the background (seconds at national
    /// scale, off every write); the writes made meanwhile are applied again on top.
    fn merge_facilities(&self) {
        if self.inner.merging.swap(true, Ordering::SeqCst) {
            return;
        }
        let registry = self.clone();
        tokio::spawn(async move {
            let from = registry.snapshot();
            let layer = from.facility_layer().clone();
            let built = tokio::task::spawn_blocking(move || {
                std::sync::Arc::new(crate::spatial::facility_layer::FacilityBase::new(layer.merged_entries()))
            })
            .await;
            if let Ok(base) = built {
                let _guard = registry.inner.rebuild.lock().await;
                let now = registry.snapshot();
                if let Some(layer) = now.facility_layer().rebased(from.facility_layer(), base) {
                    registry.inner.snapshot.store(Arc::new(now.with_facility_layer(layer)));
                }
            }
            registry.inner.merging.store(false, Ordering::SeqCst);
        });
    }

    /// The change sequence this instance has applied to its snapshot and names:
    /// raised only after what it names is published, so an answer made after
    /// reading it holds at least that much (the cache validators rely on it).
    pub fn applied_sequence(&self) -> i64 {
        self.inner.seen_snapshot.load(Ordering::SeqCst).min(self.inner.seen_places.load(Ordering::SeqCst))
    }

    /// Rebuild only the place-name registry and its search index: what a name write changes.
    pub async fn refresh_places(&self) -> StoreResult<()> {
        {
            let _guard = self.inner.rebuild.lock().await;
            let marker = self.inner.store.change_marker().await?;
            let places = PlaceRegistry::build(self.inner.store.places().await?);
            self.inner.places.store(Arc::new(places));
            self.inner.seen_places.fetch_max(marker, Ordering::SeqCst);
            self.announce();
        }
        // The snapshot holds no names, but its sequence must pass the name change too
        // (the applied sequence is the lower of the two; validators follow it).
        self.refresh_snapshot().await
    }

    /// Follow writes made by other processes (another instance on the same
    /// PostgreSQL database, `diming import` on the same SQLite file): on each signal
    /// from the store, rebuild if the change marker moved past what this instance
    /// has seen. Its own writes are rebuilt before they are answered and skipped here.
    pub fn watch_store(&self) {
        let mut signals = self.inner.store.watch();
        let registry = self.clone();
        tokio::spawn(async move {
            while signals.recv().await.is_some() {
                let m = match registry.inner.store.change_marker().await {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the change marker");
                        continue;
                    }
                };
                let mut done = Ok(());
                if m > registry.inner.seen_snapshot.load(Ordering::SeqCst) {
                    done = registry.refresh_snapshot().await;
                }
                if done.is_ok() && m > registry.inner.seen_places.load(Ordering::SeqCst) {
                    done = registry.refresh_places().await;
                }
                match done {
                    Ok(()) => tracing::debug!(marker = m, "up to date with writes by other processes"),
                    Err(e) => tracing::warn!(error = %e, "cannot refresh after another process's write"),
                }
            }
        });
    }
}

/// FNV-1a, 64 bits, over `parts` (each ended by a 0xff byte): stable across
/// processes and builds, unlike `DefaultHasher` — for validators that several
/// instances must agree on.
pub fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter().chain(std::iter::once(&0xff)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Resident memory of this process, MB (Linux; `None` elsewhere), for start-up logs.
fn rss_mb() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096 / 1_000_000)
}

async fn build_snapshot(store: &Arc<dyn Store>, generation: u64) -> StoreResult<Snapshot> {
    let started = std::time::Instant::now();
    let (divisions, settlements, facilities) = {
        // Each read maps its rows on its own task (and core).
        let s = store.clone();
        let divisions = tokio::spawn(async move { s.divisions().await });
        let s = store.clone();
        let settlements = tokio::spawn(async move { s.settlements().await });
        let facilities = store.facilities().await;
        let joined =
            |e: tokio::task::JoinError| crate::store::StoreError::Corrupt(format!("snapshot read failed: {e}"));
        (divisions.await.map_err(joined)??, settlements.await.map_err(joined)??, facilities?)
    };
    tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, rss_mb = rss_mb(), "records read");
    // CPU work (parsing, indexing, rendering) off the async workers.
    let built = tokio::task::spawn_blocking(move || Snapshot::build(generation, divisions, settlements, facilities))
        .await
        .map_err(|e| crate::store::StoreError::Corrupt(format!("snapshot build failed: {e}")))?;
    Ok(built)
}

/// A `YYYY-MM-DD` date.
pub(crate) fn is_iso_date(s: &str) -> bool {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).is_ok()
}

/// Today (UTC) as `YYYY-MM-DD`: the default date of a decision or a closure.
pub(crate) fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
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
