//! The change feed (`GET /api/v1/changes`): the records of the registry's layers as
//! each committed change left them, in the order of the change sequence, read from
//! the store's history by an index (a page costs what it returns); and the
//! long-poll, which waits on this instance's applied sequence for a change after
//! the page's end.

use super::Registry;
use crate::store::{FeedEntry, FeedPage, FeedQuery, StoreError, StoreResult};
use std::time::Duration;

/// The longest a long-poll waits (`wait`, seconds).
pub const MAX_WAIT_S: usize = 60;

/// A layer of the change feed, by the name of its collection in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeLayer {
    Divisions,
    Settlements,
    Facilities,
    Places,
}

impl ChangeLayer {
    pub const ALL: [ChangeLayer; 4] =
        [ChangeLayer::Divisions, ChangeLayer::Settlements, ChangeLayer::Facilities, ChangeLayer::Places];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeLayer::Divisions => "divisions",
            ChangeLayer::Settlements => "settlements",
            ChangeLayer::Facilities => "facilities",
            ChangeLayer::Places => "places",
        }
    }

    /// The entity its history rows name (`crate::store::FEED_ENTITIES`).
    pub fn entity(self) -> &'static str {
        match self {
            ChangeLayer::Divisions => "division",
            ChangeLayer::Settlements => "settlement",
            ChangeLayer::Facilities => "facility",
            ChangeLayer::Places => "place",
        }
    }

    pub fn of_entity(entity: &str) -> Option<ChangeLayer> {
        ChangeLayer::ALL.into_iter().find(|l| l.entity() == entity)
    }
}

impl std::str::FromStr for ChangeLayer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ChangeLayer::ALL.into_iter().find(|l| l.as_str() == s).ok_or_else(|| {
            format!("未知图层 (unknown layer; one of {})", ChangeLayer::ALL.map(ChangeLayer::as_str).join(", "))
        })
    }
}

/// One change of the feed: a record as a committed change left it (the items of
/// `GET /api/v1/changes` and of a webhook delivery).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Change {
    /// The change's number in the registry's sequence (the one `GET /health` reports);
    /// the records one change wrote together (a county added at once) share it.
    #[schema(minimum = 1, example = 4711)]
    pub seq: i64,
    /// When it was committed (RFC 3339, UTC).
    #[schema(example = "2026-12-06T08:30:00.123456Z")]
    pub at: String,
    pub layer: ChangeLayer,
    /// The record's id in its layer (a facility's or name's id, a division's or settlement's code).
    #[schema(example = "f0042")]
    pub id: String,
    /// The record's version after the change.
    #[schema(minimum = 1, example = 3)]
    pub version: i64,
    /// What the change did: `create`, `update`, `move`, `close`, `import`, `load`,
    /// `init`, `approve`, `rename`, `retire`…
    #[schema(example = "move")]
    pub action: String,
    /// The whole record after the change, as its history keeps it (the `data` of
    /// `…/history`). Records are never erased: a closed facility or retired name is
    /// its record with that status, so the feed holds no tombstones.
    #[schema(value_type = Object)]
    pub record: Box<serde_json::value::RawValue>,
}

impl TryFrom<FeedEntry> for Change {
    type Error = StoreError;
    /// A history row of another entity, or one that does not hold JSON, is a corrupt store.
    fn try_from(e: FeedEntry) -> Result<Change, StoreError> {
        let layer = ChangeLayer::of_entity(&e.entity)
            .ok_or_else(|| StoreError::Corrupt(format!("the feed read an entity it does not carry: {}", e.entity)))?;
        let record = serde_json::value::RawValue::from_string(e.data)
            .map_err(|err| StoreError::Corrupt(format!("history of {} {}: {err}", e.entity, e.entity_id)))?;
        Ok(Change { seq: e.seq, at: e.at, layer, id: e.entity_id, version: e.version, action: e.action, record })
    }
}

impl Registry {
    /// A page of the change feed. With `wait`, an empty page waits up to that long
    /// for a change that matches (a change this instance has applied past the
    /// page's end), and ends early, empty, when `closing` turns true (the server
    /// stops: a long-poll never holds a shutdown up).
    pub async fn changes(
        &self,
        q: &FeedQuery<'_>,
        wait: Duration,
        mut closing: tokio::sync::watch::Receiver<bool>,
    ) -> StoreResult<FeedPage> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut applied = self.watch_applied();
        let mut page = self.inner.store.feed(q).await?;
        while page.entries.is_empty() && !wait.is_zero() {
            let through = page.through;
            let woke = tokio::select! {
                r = tokio::time::timeout_at(deadline, applied.wait_for(|s| *s > through)) => matches!(r, Ok(Ok(_))),
                _ = closing.wait_for(|c| *c) => false,
            };
            if !woke {
                break;
            }
            // Read on from where the empty page ended: a change that does not match
            // moves the end on and the wait goes on.
            page = self.inner.store.feed(&FeedQuery { after: through, ..q.clone() }).await?;
        }
        Ok(page)
    }
}
