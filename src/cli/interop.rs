//! `diming import`, `diming export` and `diming migrate-db`: files in and out of
//! the registry through its own use cases, and a whole registry copied to another
//! database.

use super::args::RegistryArgs;
use anyhow::Context;
use diming::accounts::Caller;
use diming::import::read::Format;
use diming::import::Layer;
use diming::registry::export::{Encoding, ExportRequest};
use diming::registry::import::ImportRequest;
use diming::registry::RegistryError;
use diming::spatial::crs::Crs;
use diming::store;
use std::io::Write;
use std::path::Path;

pub struct ImportOptions<'a> {
    pub file: &'a Path,
    pub layer: Layer,
    pub crs: Option<Crs>,
    pub format: Option<Format>,
    pub dry_run: bool,
    pub county: Option<diming::domain::RegionCode>,
}

pub async fn import(o: ImportOptions<'_>, args: &RegistryArgs) -> anyhow::Result<()> {
    let format = o.format.or_else(|| {
        match o.file.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv" | "txt") => Some(Format::Csv),
            Some("geojson" | "json") => Some(Format::GeoJson),
            _ => None,
        }
    });
    let bytes = std::fs::read(o.file).with_context(|| format!("cannot read {}", o.file.display()))?;
    let registry = super::open_registry(args).await?;
    // The command line holds the database itself: it acts with every right, audited as such.
    let file_name = o.file.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let who = Caller::System { what: format!("import {file_name}") };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("写入 writing");
    let progress = {
        let bar = bar.clone();
        move |done: usize| bar.set_position(done as u64)
    };
    // Rows are checked before the bar appears; the bar counts the writes.
    let total_hint = bytes.iter().filter(|&&b| b == b'\n').count();
    if total_hint > 1000 && !o.dry_run {
        bar.set_length(total_hint as u64);
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let req = ImportRequest { layer: o.layer, format, crs: o.crs, dry_run: o.dry_run, county: o.county };
    let outcome = registry.import(&who, &bytes, &req, &progress).await;
    bar.finish_and_clear();
    let mut err = std::io::stderr().lock();
    match outcome {
        Ok(r) => {
            for w in &r.warnings {
                writeln!(err, "提示 (warning): {w}")?;
            }
            for c in &r.changes {
                writeln!(err, "第 {} 行 (row {}) 更新 updates {}: {}", c.row, c.row, c.id, c.fields.join(", "))?;
            }
            let verb =
                if r.dry_run { "试导入（未写入）dry run, nothing written" } else { "已导入 imported" };
            println!(
                "{verb}: {} — {} 行 rows, 新增 created {}, 更新 updated {}, 未变 unchanged {} ({}, {}, {})",
                r.layer.as_str(),
                r.rows,
                r.created,
                r.updated,
                r.unchanged,
                match r.format {
                    Format::GeoJson => "GeoJSON",
                    Format::Csv => "CSV",
                },
                r.encoding,
                r.crs
            );
            Ok(())
        }
        Err(RegistryError::Rows(rows)) => {
            for e in &rows {
                writeln!(err, "{e}")?;
            }
            anyhow::bail!(
                "{} 处错误，未写入任何记录 ({} problems in {}; nothing was written)",
                rows.len(),
                rows.len(),
                o.file.display()
            )
        }
        Err(e) => Err(e.into()),
    }
}

pub struct ExportOptions<'a> {
    pub layer: Layer,
    pub format: Format,
    pub crs: Option<Crs>,
    pub encoding: Encoding,
    pub output: Option<&'a Path>,
    /// Only the records of this county, prefecture or province.
    pub region: Option<diming::domain::RegionCode>,
}

pub async fn export(o: ExportOptions<'_>, args: &RegistryArgs) -> anyhow::Result<()> {
    let registry = super::open_registry(args).await?;
    let req = ExportRequest {
        layer: o.layer,
        format: o.format,
        crs: o.crs.unwrap_or(Crs::Crs84),
        encoding: o.encoding,
        region: o.region,
    };
    let bytes = registry.export(req)?;
    match o.output {
        Some(path) => {
            std::fs::write(path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("已导出 exported {} → {} ({} bytes)", o.layer.as_str(), path.display(), bytes.len());
        }
        None => std::io::stdout().lock().write_all(&bytes)?,
    }
    Ok(())
}

pub async fn migrate_db(from: &str, to: &str) -> anyhow::Result<()> {
    if let Some(path) = from.strip_prefix("sqlite://").or_else(|| from.strip_prefix("sqlite:")) {
        let path = path.split('?').next().unwrap_or(path);
        anyhow::ensure!(Path::new(path).is_file(), "--from {from}: no such file");
    }
    anyhow::ensure!(from != to, "--from and --to name the same database");
    let source = store::open(from).await?;
    let dump = source.dump().await?;
    let target = store::open(to).await?;
    target.restore(&dump).await?;
    let check = target.dump().await?;
    let counts = |d: &store::Dump| {
        [
            d.divisions.len(),
            d.settlements.len(),
            d.facilities.len(),
            d.places.len(),
            d.history.len(),
            d.audit.len(),
            d.users.len(),
            d.api_tokens.len(),
        ]
    };
    anyhow::ensure!(
        counts(&check) == counts(&dump),
        "the copy differs from the source: {:?} vs {:?}",
        counts(&check),
        counts(&dump)
    );
    println!(
        "已复制 copied {} → {}: {} 区划 divisions, {} 居民点 settlements, {} 设施 facilities, {} 地名 places, {} 版本 history rows, {} 审计 audit entries, {} 账号 accounts, {} 令牌 API tokens (sessions are not copied: users log in again)",
        source.describe(),
        target.describe(),
        dump.divisions.len(),
        dump.settlements.len(),
        dump.facilities.len(),
        dump.places.len(),
        dump.history.len(),
        dump.audit.len(),
        dump.users.len(),
        dump.api_tokens.len()
    );
    Ok(())
}
