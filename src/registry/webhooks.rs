//! Webhooks: administrators subscribe a URL to the change feed (some layers, some
//! counties, a secret), and every instance runs a deliverer that POSTs each
//! subscription its changes in order, signed, with retries.
//!
//! The outbox is durable without a row per change and subscriber: the history is
//! the outbox (every committed change is there, numbered), and a subscription keeps
//! in the database the number it has delivered through. A deliverer takes a
//! subscription's lease (so one instance of many delivers it, one batch at a time,
//! in order), reads the feed after the cursor, POSTs the batch, and on a 2xx moves
//! the cursor — at least once: a crash between the receiver's 2xx and the cursor's
//! write sends that batch again (receivers drop changes by `seq`, `layer` and
//! `id`). A failure is retried with exponential back-off; failing for longer than
//! the configured time marks the subscription `failing` (still retried at the
//! longest interval) until a delivery succeeds. Requests go only to the registered
//! URL — no redirects followed — with connect and total timeouts.

use super::changes::{Change, ChangeLayer};
use super::{Registry, RegistryError, RegistryResult};
use crate::accounts::Caller;
use crate::domain::Role;
use crate::store::{Attempt, Delivery, FeedQuery, NewWebhook, StoreResult, Webhook, WebhookStatus};
use hmac::Mac;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Who manages subscriptions.
const MANAGES: Role = Role::Admin;

/// The header that carries a delivery's signature: `t=UNIX_SECONDS,v1=HEX`, where
/// `HEX` is HMAC-SHA256 with the subscription's secret of `UNIX_SECONDS.` followed
/// by the body's bytes.
pub const SIGNATURE_HEADER: &str = "diming-signature";

/// A subscription to register (`POST /api/v1/webhooks`).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// Where to POST: an `http` or `https` URL without user or password, at most 2,000 characters.
    #[schema(example = "https://platform.example.gov.cn/hooks/diming", min_length = 1, max_length = 2000)]
    pub url: String,
    /// Only these layers (default: all four).
    #[schema(value_type = Option<Vec<crate::schema::ChangeLayerSchema>>)]
    pub layers: Option<Vec<String>>,
    /// Only records of these county-level units (6-digit codes; default: all).
    #[schema(example = json!(["652324"]))]
    pub counties: Option<Vec<String>>,
    /// The signing secret, 16..=256 characters without control characters; default: a
    /// random one, shown once in the answer.
    #[schema(min_length = 16, max_length = 256)]
    pub secret: Option<String>,
    /// Deliver the changes after this number: `0` replays the whole registry; default: the
    /// current sequence (only changes from now on).
    #[schema(minimum = 0)]
    #[serde(default, deserialize_with = "crate::domain::json::whole")]
    pub after: Option<i64>,
}

/// A replay (`POST /api/v1/webhooks/{id}/replay`): deliver again from a change on,
/// and make the subscription active again.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayInput {
    /// Deliver the changes after this number again (default: where it stands — a
    /// re-activation that retries at once).
    #[schema(minimum = 0)]
    #[serde(default, deserialize_with = "crate::domain::json::whole")]
    pub after: Option<i64>,
}

/// A subscription as the API shows it (never its secret, except once at creation).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookAnswer {
    #[schema(example = 1)]
    pub id: i64,
    pub url: String,
    pub layers: Vec<ChangeLayer>,
    pub counties: Vec<String>,
    /// `active`; `failing` when deliveries have failed for longer than the server's
    /// `--webhook-failing-after` (still retried); `disabled` by an administrator.
    pub status: WebhookStatus,
    /// Every change up to this number has been delivered (or did not match).
    pub delivered_through: i64,
    /// Failed attempts since the last success.
    pub attempts: i64,
    /// When the failures began (RFC 3339), while they go on.
    pub failing_since: Option<String>,
    /// The next attempt (RFC 3339), while one is scheduled after a failure.
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub last_delivery_at: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub version: i64,
    /// Only in the answer that created it: the signing secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// What a delivery POSTs: the subscription and a batch of changes in order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookPayload {
    pub webhook: i64,
    pub changes: Vec<Change>,
    /// The subscription's cursor once this is acknowledged.
    pub next_after: i64,
}

fn rfc3339_ms(ms: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()?;
    t.format(&time::format_description::well_known::Rfc3339).ok()
}

impl WebhookAnswer {
    fn of(w: Webhook, secret: Option<String>) -> Self {
        WebhookAnswer {
            id: w.id,
            url: w.url,
            layers: w.entities.iter().filter_map(|e| ChangeLayer::of_entity(e)).collect(),
            counties: w.counties,
            status: w.status,
            delivered_through: w.delivered_through,
            attempts: w.attempts,
            failing_since: w.failing_since_ms.and_then(rfc3339_ms),
            next_attempt_at: (w.next_attempt_ms > 0).then_some(w.next_attempt_ms).and_then(rfc3339_ms),
            last_error: w.last_error,
            last_delivery_at: w.last_delivery_at,
            created_at: w.created_at,
            created_by: w.created_by,
            version: w.version,
            secret,
        }
    }
}

/// How deliveries are paced.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// Changes in one POST at most (a county added at once may make one longer).
    pub batch: usize,
    /// The first retry's delay; each next one doubles, up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Failing for this long marks a subscription `failing`.
    pub failing_after: Duration,
    /// The whole request, connect included.
    pub timeout: Duration,
    /// How often subscriptions are looked at besides when a change is applied.
    pub poll: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            batch: 100,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            failing_after: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The signature header's value for `body` sent at `t` (Unix seconds).
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// A URL a subscription may POST to.
fn parse_url(s: &str) -> Result<reqwest::Url, String> {
    if s.is_empty() || s.chars().count() > 2000 {
        return Err("须为 1 到 2000 个字符 (1..=2000 characters)".into());
    }
    let url = reqwest::Url::parse(s).map_err(|e| format!("不是有效的网址 (not a URL: {e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("须为 http 或 https 网址 (http or https only)".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("缺少主机名 (no host)".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("网址中不得含用户名或密码 (no user or password in the URL; use the secret)".into());
    }
    if url.fragment().is_some() {
        return Err("网址不得含 # 片段 (no fragment)".into());
    }
    Ok(url)
}

fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The subscriptions' use cases, over any store: the API calls them through the
/// registry, the command line (which need not build a snapshot) directly.
pub mod manage {
    use super::*;
    use crate::store::Store;

    /// Register a subscription (administrators); the answer shows its secret, once.
    pub async fn create(store: &dyn Store, who: &Caller, input: WebhookInput) -> RegistryResult<WebhookAnswer> {
        who.permit(MANAGES)?;
        // Malformed (outside the schema: an unknown layer, a negative `after`) is a 400;
        // a string the schema allows that is no usable URL, county or secret, a 422.
        let mut errors = Vec::new();
        let mut refused = Vec::new();
        let mut bad = |field: &str, m: String| errors.push(crate::registry::FieldError::new(field, m));
        let mut refuse = |field: &str, m: String| refused.push(crate::registry::FieldError::new(field, m));
        let length = input.url.trim().chars().count();
        let url = match parse_url(input.url.trim()) {
            Err(m) if length == 0 || length > 2000 => {
                bad("url", m);
                String::new()
            }
            Ok(u) => u.to_string(),
            Err(m) => {
                refuse("url", m);
                String::new()
            }
        };
        let mut entities = Vec::new();
        for (i, l) in input.layers.unwrap_or_default().iter().enumerate() {
            match l.parse::<ChangeLayer>() {
                Ok(l) if !entities.contains(&l.entity().to_string()) => entities.push(l.entity().to_string()),
                Ok(_) => {}
                Err(m) => bad(&format!("layers[{i}]"), m),
            }
        }
        let mut counties = Vec::new();
        for (i, c) in input.counties.unwrap_or_default().iter().enumerate() {
            match c.parse::<crate::domain::RegionCode>() {
                Ok(code) if code.is_county() => {
                    if !counties.contains(c) {
                        counties.push(code.as_str().to_string());
                    }
                }
                _ => refuse(&format!("counties[{i}]"), "须为 6 位县级区划代码 (a 6-digit county code)".into()),
            }
        }
        let secret = match input.secret {
            Some(s) if !(16..=256).contains(&s.chars().count()) => {
                bad("secret", "须为 16 到 256 个字符 (16..=256 characters)".into());
                String::new()
            }
            Some(s) if s.chars().any(char::is_control) => {
                refuse("secret", "不得含控制字符 (no control characters)".into());
                String::new()
            }
            Some(s) => s,
            None => new_secret(),
        };
        if input.after.is_some_and(|a| a < 0) {
            bad("after", "须 ≥ 0 (at least 0)".into());
        }
        if !errors.is_empty() {
            errors.append(&mut refused);
            return Err(RegistryError::Invalid(errors));
        }
        if !refused.is_empty() {
            return Err(RegistryError::Refused { errors: refused, findings: Vec::new() });
        }
        let after = match input.after {
            Some(a) => a,
            None => store.change_marker().await?,
        };
        let new = NewWebhook { url, entities, counties, secret: secret.clone(), after };
        let w = store.create_webhook(&new, &who.actor()).await?;
        Ok(WebhookAnswer::of(w, Some(secret)))
    }

    pub async fn list(store: &dyn Store, who: &Caller) -> RegistryResult<Vec<WebhookAnswer>> {
        who.permit(MANAGES)?;
        Ok(store.webhooks().await?.into_iter().map(|w| WebhookAnswer::of(w, None)).collect())
    }

    pub async fn get(store: &dyn Store, who: &Caller, id: i64) -> RegistryResult<WebhookAnswer> {
        who.permit(MANAGES)?;
        let w = store.webhook(id).await?.ok_or_else(|| not_found(id))?;
        Ok(WebhookAnswer::of(w, None))
    }

    /// Stop delivering (the subscription and its log stay, for the audit).
    pub async fn disable(
        store: &dyn Store,
        who: &Caller,
        id: i64,
        expected: Option<i64>,
    ) -> RegistryResult<WebhookAnswer> {
        who.permit(MANAGES)?;
        let w = store.change_webhook(id, expected, WebhookStatus::Disabled, None, "disable", &who.actor()).await?;
        Ok(WebhookAnswer::of(w, None))
    }

    /// Deliver again from `after` on (or retry now from where it stands), active again.
    pub async fn replay(
        store: &dyn Store,
        who: &Caller,
        id: i64,
        expected: Option<i64>,
        input: ReplayInput,
    ) -> RegistryResult<WebhookAnswer> {
        who.permit(MANAGES)?;
        if input.after.is_some_and(|a| a < 0) {
            return Err(RegistryError::invalid("after", "须 ≥ 0 (at least 0)"));
        }
        let w = store.change_webhook(id, expected, WebhookStatus::Active, input.after, "replay", &who.actor()).await?;
        Ok(WebhookAnswer::of(w, None))
    }

    /// Its latest deliveries, newest first.
    pub async fn deliveries(store: &dyn Store, who: &Caller, id: i64, limit: usize) -> RegistryResult<Vec<Delivery>> {
        who.permit(MANAGES)?;
        store.webhook(id).await?.ok_or_else(|| not_found(id))?;
        Ok(store.deliveries(id, limit as i64).await?)
    }
}

impl Registry {
    pub async fn create_webhook(&self, who: &Caller, input: WebhookInput) -> RegistryResult<WebhookAnswer> {
        manage::create(self.store(), who, input).await
    }

    pub async fn webhooks(&self, who: &Caller) -> RegistryResult<Vec<WebhookAnswer>> {
        manage::list(self.store(), who).await
    }

    pub async fn webhook(&self, who: &Caller, id: i64) -> RegistryResult<WebhookAnswer> {
        manage::get(self.store(), who, id).await
    }

    pub async fn disable_webhook(&self, who: &Caller, id: i64, expected: Option<i64>) -> RegistryResult<WebhookAnswer> {
        manage::disable(self.store(), who, id, expected).await
    }

    pub async fn replay_webhook(
        &self,
        who: &Caller,
        id: i64,
        expected: Option<i64>,
        input: ReplayInput,
    ) -> RegistryResult<WebhookAnswer> {
        manage::replay(self.store(), who, id, expected, input).await
    }

    pub async fn webhook_deliveries(&self, who: &Caller, id: i64, limit: usize) -> RegistryResult<Vec<Delivery>> {
        manage::deliveries(self.store(), who, id, limit).await
    }

    /// Run this instance's deliverer until `closing` turns true; the delivery in
    /// flight then finishes and is recorded before the task ends.
    pub fn deliver_webhooks(
        &self,
        options: DeliveryOptions,
        mut closing: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let registry = self.clone();
        tokio::spawn(async move {
            let client = match reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(options.timeout.min(Duration::from_secs(5)))
                .timeout(options.timeout)
                .user_agent(concat!("diming/", env!("CARGO_PKG_VERSION"), " webhooks"))
                .build()
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "webhooks: cannot build the HTTP client; no deliveries");
                    return;
                }
            };
            let owner = format!("{}-{}", std::process::id(), new_secret().get(..12).unwrap_or("0"));
            let mut applied = registry.watch_applied();
            loop {
                if *closing.borrow() {
                    return;
                }
                if let Err(e) = registry.deliver_due(&client, &owner, &options).await {
                    tracing::warn!(error = %e, "webhooks: cannot read the subscriptions");
                }
                tokio::select! {
                    _ = applied.changed() => {}
                    _ = tokio::time::sleep(options.poll) => {}
                    _ = closing.wait_for(|c| *c) => return,
                }
            }
        })
    }

    /// One attempt for every subscription that is due, side by side.
    async fn deliver_due(&self, client: &reqwest::Client, owner: &str, options: &DeliveryOptions) -> StoreResult<()> {
        let now = now_ms();
        // A subscription that has delivered through the newest change has nothing to
        // send: it is not claimed (no writes while the registry is idle).
        let marker = self.store().change_marker().await?;
        let due: Vec<Webhook> = self
            .store()
            .webhooks()
            .await?
            .into_iter()
            .filter(|w| w.status != WebhookStatus::Disabled && w.next_attempt_ms <= now && w.delivered_through < marker)
            .collect();
        let attempts = due.iter().map(|w| self.deliver_one(client, owner, options, w));
        for r in futures_util::future::join_all(attempts).await {
            if let Err(e) = r {
                tracing::warn!(error = %e, "webhooks: an attempt could not be recorded");
            }
        }
        Ok(())
    }

    async fn deliver_one(
        &self,
        client: &reqwest::Client,
        owner: &str,
        options: &DeliveryOptions,
        w: &Webhook,
    ) -> StoreResult<()> {
        let store = self.store();
        let now = now_ms();
        let lease = now + (options.timeout.as_millis() as i64) * 3 + 30_000;
        if !store.claim_webhook(w.id, owner, now, lease).await? {
            return Ok(());
        }
        // Read under the lease: the cursor as it is now (a replay may have moved it).
        let Some(w) = store.webhook(w.id).await? else { return Ok(()) };
        let entities: Vec<&'static str> =
            w.entities.iter().filter_map(|e| ChangeLayer::of_entity(e)).map(ChangeLayer::entity).collect();
        let counties: Vec<&str> = w.counties.iter().map(String::as_str).collect();
        let q = FeedQuery {
            after: w.delivered_through,
            entities: &entities,
            counties: &counties,
            limit: options.batch as i64,
        };
        let page = store.feed(&q).await?;
        let keep = |delivered_through: Option<i64>| Attempt {
            webhook_id: w.id,
            owner: owner.to_string(),
            delivery: None,
            delivered_through,
            attempts: w.attempts,
            status: w.status,
            failing_since_ms: w.failing_since_ms,
            next_attempt_ms: w.next_attempt_ms,
        };
        if page.entries.is_empty() {
            // Nothing matched: the cursor moves on without a request.
            let moved = (page.through > w.delivered_through).then_some(page.through);
            return store.record_attempt(&keep(moved)).await;
        }
        let (first, last) = (page.entries.first().map_or(0, |e| e.seq), page.entries.last().map_or(0, |e| e.seq));
        let count = page.entries.len() as i64;
        let changes = page.entries.into_iter().map(Change::try_from).collect::<Result<Vec<_>, _>>()?;
        let payload = WebhookPayload { webhook: w.id, changes, next_after: page.through };
        let body = serde_json::to_vec(&payload).map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
        let secret = store.webhook_secret(w.id).await?.unwrap_or_default();
        let t = now / 1000;
        let started = std::time::Instant::now();
        let sent = client
            .post(&w.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature(&secret, t, &body))
            .header("diming-webhook", w.id.to_string())
            .header("diming-delivery", format!("{}-{first}-{last}", w.id))
            .body(body)
            .send()
            .await;
        let duration_ms = started.elapsed().as_millis() as i64;
        let (status_code, error) = match &sent {
            Ok(r) if r.status().is_success() => (Some(i64::from(r.status().as_u16())), None),
            Ok(r) => (Some(i64::from(r.status().as_u16())), Some(format!("HTTP {}", r.status().as_u16()))),
            Err(e) => (None, Some(describe(e))),
        };
        let delivery = Delivery {
            id: 0,
            webhook_id: w.id,
            at: crate::store::now_rfc3339(),
            first_seq: first,
            last_seq: last,
            changes: count,
            status_code,
            ok: error.is_none(),
            error: error.clone(),
            duration_ms,
        };
        let attempt = if error.is_none() {
            Attempt {
                delivery: Some(delivery),
                delivered_through: Some(page.through),
                attempts: 0,
                status: WebhookStatus::Active,
                failing_since_ms: None,
                next_attempt_ms: 0,
                ..keep(None)
            }
        } else {
            let attempts = w.attempts + 1;
            let done = now_ms();
            let factor = 1u32.checked_shl((attempts - 1).clamp(0, 30) as u32).unwrap_or(u32::MAX);
            let delay = options.retry_base.saturating_mul(factor).min(options.retry_max);
            let since = w.failing_since_ms.unwrap_or(done);
            let failing = done - since >= options.failing_after.as_millis() as i64;
            if failing && w.status != WebhookStatus::Failing {
                tracing::warn!(webhook = w.id, url = %w.url, "webhooks: deliveries keep failing; marked failing");
            }
            Attempt {
                delivery: Some(delivery),
                attempts,
                status: if failing { WebhookStatus::Failing } else { w.status },
                failing_since_ms: Some(since),
                next_attempt_ms: done + delay.as_millis() as i64,
                ..keep(None)
            }
        };
        store.record_attempt(&attempt).await
    }
}

/// A failed request in a few words (never the body).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else if e.is_redirect() {
        "redirect (not followed)".into()
    } else {
        "request failed".into()
    }
}

fn not_found(id: i64) -> RegistryError {
    RegistryError::NotFound(format!("没有编号为 {id} 的订阅 (no webhook with this id)"))
}
