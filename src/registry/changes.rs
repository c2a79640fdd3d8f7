//! The change feed (`GET /api/v1/changes`): the records of the registry's layers as
//! each committed change left them, in the order of the change sequence, read from
//! the store's history by an index (a page costs what it returns); and the
//! long-poll, which waits on this instance's applied sequence for a change after
//! the page's end.

use super::Registry;
use crate::store::{FeedPage, FeedQuery, StoreResult};
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
