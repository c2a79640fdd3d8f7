//! Administration from the command line: accounts and their credentials, the audit
//! chain, and backups of a running registry.

use anyhow::Context;
use diming::domain::Role;
use diming::store::{self, chain::ChainWalker, Actor, Store};
use std::io::Write;
use std::path::Path;

/// The audit's name for the command line.
fn actor() -> Actor {
    Actor::system("cli")
}

/// `diming audit verify`: walk the whole chain; an error names the first entry
/// that was changed or removed.
pub async fn audit_verify(database: &str) -> anyhow::Result<()> {
    let store = store::open(database).await?;
    let (count, id, hash) = verify_chain(store.as_ref()).await?;
    println!("审计链完整 (audit chain intact): {count} 条记录 (entries), 最新 (head) #{id} {hash}");
    Ok(())
}

/// Walk the chain of a store; the number of entries and the head.
pub async fn verify_chain(store: &dyn Store) -> anyhow::Result<(u64, i64, String)> {
    let mut walker = ChainWalker::default();
    let mut after = 0;
    loop {
        let page = store.audit_page(after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for e in &page {
            walker.push(e).map_err(|b| anyhow::anyhow!("审计链断裂 (audit chain broken): {b}"))?;
        }
    }
    let (count, id, hash) = walker.head();
    Ok((count, id, hash.to_string()))
}

/// `diming webhook …`: the subscriptions' use cases, as the command line's system caller.
pub async fn webhook(command: super::args::WebhookCommand) -> anyhow::Result<()> {
    use super::args::WebhookCommand as W;
    use diming::registry::webhooks::{manage, ReplayInput, WebhookAnswer, WebhookInput};
    let who = diming::accounts::Caller::System { what: "cli".into() };
    let show = |w: &WebhookAnswer| {
        let layers: Vec<&str> = w.layers.iter().map(|l| l.as_str()).collect();
        println!(
            "{}\t{}\t{}\tdelivered_through={}\tlayers={}\tcounties={}{}",
            w.id,
            w.status.as_str(),
            w.url,
            w.delivered_through,
            if layers.is_empty() { "*".to_string() } else { layers.join(",") },
            if w.counties.is_empty() { "*".to_string() } else { w.counties.join(",") },
            w.last_error.as_deref().map(|e| format!("\tlast_error={e}")).unwrap_or_default(),
        );
    };
    match command {
        W::Add { url, layers, counties, secret, after, db } => {
            let store = store::open(&db.database).await?;
            let input = WebhookInput { url, layers: Some(layers), counties: Some(counties), secret, after };
            let w = manage::create(store.as_ref(), &who, input).await?;
            show(&w);
            println!("签名密钥 (signing secret, shown only now): {}", w.secret.as_deref().unwrap_or(""));
        }
        W::List { db } => {
            let store = store::open(&db.database).await?;
            for w in manage::list(store.as_ref(), &who).await? {
                show(&w);
            }
        }
        W::Disable { id, db } => {
            let store = store::open(&db.database).await?;
            show(&manage::disable(store.as_ref(), &who, id, None).await?);
        }
        W::Replay { id, after, db } => {
            let store = store::open(&db.database).await?;
            show(&manage::replay(store.as_ref(), &who, id, None, ReplayInput { after }).await?);
        }
        W::Deliveries { id, limit, db } => {
            let store = store::open(&db.database).await?;
            for d in manage::deliveries(store.as_ref(), &who, id, limit.clamp(1, 1000)).await? {
                println!(
                    "{}\t{}\t{}..{}\t{} changes\t{}\t{} ms{}",
                    d.id,
                    d.at,
                    d.first_seq,
                    d.last_seq,
                    d.changes,
                    if d.ok { "ok" } else { "failed" },
                    d.duration_ms,
                    d.error.map(|e| format!("\t{e}")).unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

pub async fn users(database: &str) -> anyhow::Result<()> {
    let store = store::open(database).await?;
    for u in store.users().await? {
        let state = if u.active { "启用 active" } else { "停用 inactive" };
        println!("{}\t{}\t{}\t{}", u.username, u.role.as_str(), state, u.display_name);
    }
    Ok(())
}

pub async fn set_active(database: &str, username: &str, active: bool) -> anyhow::Result<()> {
    let store = store::open(database).await?;
    let u = store.set_user_active(username.trim(), active, &actor()).await?;
    if active {
        println!("已启用 {} (activated)", u.username);
    } else {
        println!(
            "已停用 {}：其会话已结束、API 令牌已失效 (deactivated; its sessions and tokens stop working)",
            u.username
        );
    }
    Ok(())
}

async fn user_id(store: &dyn Store, username: Option<&str>) -> anyhow::Result<Option<i64>> {
    let Some(name) = username else { return Ok(None) };
    let found = store.user_by_name(name.trim()).await?;
    let (user, _) = found.with_context(|| format!("没有这个账号 (no such account): {name}"))?;
    Ok(Some(user.id))
}

pub async fn tokens(database: &str, username: Option<&str>) -> anyhow::Result<()> {
    let store = store::open(database).await?;
    let owner = user_id(store.as_ref(), username).await?;
    for t in store.api_tokens(owner).await? {
        let state = t.revoked_at.as_deref().map_or("有效 live".to_string(), |r| format!("已吊销 revoked {r}"));
        println!("{}\t{}\t{}\t{}\t{}", t.id, t.username, t.name, t.created_at, state);
    }
    Ok(())
}

pub async fn revoke_token(database: &str, id: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        store::is_credential_id(id),
        "令牌编号须为 12 位十六进制 (a token id is 12 hex digits, see `diming user tokens`)"
    );
    let store = store::open(database).await?;
    let t = store.revoke_api_token(id, &actor()).await?;
    println!("已吊销令牌 {}（{}，{}） (revoked)", t.id, t.name, t.username);
    Ok(())
}

pub async fn sessions(database: &str, username: Option<&str>) -> anyhow::Result<()> {
    let store = store::open(database).await?;
    let owner = user_id(store.as_ref(), username).await?;
    for s in store.sessions(owner).await? {
        println!("{}\t{}\t{}\t{}", s.id, s.username, s.created_at, s.expires_at);
    }
    Ok(())
}

pub async fn end_session(database: &str, id: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        store::is_credential_id(id),
        "会话编号须为 12 位十六进制 (a session id is 12 hex digits, see `diming user sessions`)"
    );
    let store = store::open(database).await?;
    let s = store.end_session(id, &actor()).await?;
    println!("已结束会话 {}（{}） (ended)", s.id, s.username);
    Ok(())
}

/// `diming backup --output FILE`: a consistent copy while the service runs.
pub async fn backup(database: &str, output: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(!output.exists(), "{} 已存在，不覆盖 (exists; not overwritten)", output.display());
    if database.starts_with("sqlite:") {
        store::SqliteStore::backup(database, output).await?;
    } else {
        let status = std::process::Command::new("pg_dump")
            .args(["--format=custom", "--no-owner", "--file"])
            .arg(output)
            .arg(database)
            .status()
            .context("pg_dump (Debian: postgresql-client) is needed to back up a PostgreSQL registry")?;
        anyhow::ensure!(status.success(), "pg_dump failed ({status})");
    }
    // Check what was written before saying it is a backup.
    let (count, id, hash) = check_backup(output, database.starts_with("sqlite:")).await?;
    println!(
        "备份完成 (backup written): {} — 审计 {count} 条 (audit entries), 最新 (head) #{id} {hash}",
        output.display()
    );
    Ok(())
}

/// Open a copy of a backup and verify it: a diming registry whose audit chain holds.
async fn check_backup(file: &Path, sqlite: bool) -> anyhow::Result<(u64, i64, String)> {
    if !sqlite {
        // A pg_dump archive is checked when it is restored (the chain needs a database).
        let out = std::process::Command::new("pg_restore").arg("--list").arg(file).output();
        let ok = out
            .as_ref()
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("TABLE public audit"));
        anyhow::ensure!(
            ok,
            "{} 不是 diming 的 PostgreSQL 备份 (not a pg_dump archive of a diming registry)",
            file.display()
        );
        return Ok((0, 0, "(verified on restore)".into()));
    }
    let dir = tempdir()?;
    let copy = dir.join("check.db");
    std::fs::copy(file, &copy).with_context(|| format!("cannot read {}", file.display()))?;
    let url = format!("sqlite://{}", copy.display());
    let checked = async {
        let store = store::open(&url).await?;
        verify_chain(store.as_ref()).await
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    checked.with_context(|| format!("{} 不是完好的 diming 地名库备份 (not a sound diming backup)", file.display()))
}

fn tempdir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "diming-restore-{}-{}",
        std::process::id(),
        diming::accounts::new_token().get(..8).unwrap_or("x")
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `diming restore FILE`: check the backup, then put it in place of the database
/// (stop the service first). The database replaced is kept beside it.
pub async fn restore(database: &str, file: &Path) -> anyhow::Result<()> {
    let sqlite = database.starts_with("sqlite:");
    let (count, id, hash) = check_backup(file, sqlite).await?;
    if sqlite {
        let target =
            store::SqliteStore::file_of(database).with_context(|| format!("cannot find the file of {database}"))?;
        let staged = target.with_extension("restoring");
        std::fs::copy(file, &staged).with_context(|| format!("cannot write {}", staged.display()))?;
        if target.exists() {
            let stamp = store::now_stamp();
            let kept = target.with_extension(format!("before-restore-{stamp}.db"));
            std::fs::rename(&target, &kept)?;
            println!("原数据库已保留为 (the replaced database is kept as) {}", kept.display());
        }
        for ext in ["db-wal", "db-shm"] {
            let side = target.with_extension(ext);
            if side.exists() {
                std::fs::remove_file(&side)?;
            }
        }
        std::fs::rename(&staged, &target)?;
        println!("已恢复 (restored) {} — 审计 {count} 条 (audit entries), 最新 (head) #{id} {hash}", target.display());
        return Ok(());
    }
    let store = store::open(database).await?;
    let held = store.audit_page(0, 1).await?;
    anyhow::ensure!(held.is_empty(), "目标数据库不为空 (the target database is not empty; restore into a new one)");
    drop(store);
    let status = std::process::Command::new("pg_restore")
        .args(["--no-owner", "--clean", "--if-exists", "--single-transaction", "--dbname"])
        .arg(database)
        .arg(file)
        .status()
        .context("pg_restore (Debian: postgresql-client) is needed to restore a PostgreSQL registry")?;
    anyhow::ensure!(status.success(), "pg_restore failed ({status})");
    let store = store::open(database).await?;
    let (count, id, hash) = verify_chain(store.as_ref()).await?;
    println!("已恢复 (restored) — 审计 {count} 条 (audit entries), 最新 (head) #{id} {hash}");
    Ok(())
}

/// `diming user add`: an account, its password from `DIMING_PASSWORD` or the
/// first line of standard input.
pub async fn user_add(username: &str, role: Role, name: Option<String>, database: &str) -> anyhow::Result<()> {
    let password = match std::env::var("DIMING_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprint!("密码 (password, at least 10 characters): ");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    diming::accounts::check_password_policy(&password).map_err(anyhow::Error::msg)?;
    let username = username.trim();
    anyhow::ensure!(!username.is_empty(), "the username is empty");
    let store = store::open(database).await?;
    let hash = diming::accounts::hash_password(&password).map_err(anyhow::Error::msg)?;
    let new = store::NewUser {
        username: username.to_string(),
        display_name: name.unwrap_or_else(|| username.to_string()),
        role,
        password_hash: hash,
    };
    let user = store.create_user(&new, &actor()).await?;
    println!(
        "已创建用户 {}（{}） created user {} with role {}",
        user.username,
        role.label_zh(),
        user.username,
        role.as_str()
    );
    std::io::stdout().flush().ok();
    Ok(())
}
