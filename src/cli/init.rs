//! `diming init --region CODE`: the registry of any region of China from the
//! national reference data (`diming::import::reference`, `diming::import::region`).
//! Counties are built on every core and written one transaction each, so a run
//! that stops keeps the counties it finished and a second run adds only the rest.

use super::args::RegistryArgs;
use anyhow::Context;
use diming::import::reference::{self, Region};
use diming::import::region::{county_dataset, Options};
use diming::store::{Actor, Store};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// What a run added.
#[derive(Debug, Default)]
pub struct Summary {
    pub counties: usize,
    pub added: usize,
    pub divisions: usize,
    pub settlements: usize,
    pub facilities: usize,
}

pub async fn run(args: &RegistryArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let store = diming::store::open(&args.database).await?;
    let Some(region) = &args.region else {
        super::load_bundled(store.as_ref(), &super::data_dir(args)).await?;
        println!("registry ready: the bundled dataset ({})", super::data_dir(args).display());
        return Ok(());
    };
    let s = add_region(store.as_ref(), region, Options { sample_facilities: args.sample_facilities }, true).await?;
    println!(
        "地区 {region}: {} 个县级单位，新增 {}（{} 个区划、{} 个居民点、{} 个设施），已有 {} 个未改动；用时 {:.1} s \
         (region {region}: {} county-level units, {} added, {} already there and left unchanged)",
        s.counties,
        s.added,
        s.divisions,
        s.settlements,
        s.facilities,
        s.counties - s.added,
        started.elapsed().as_secs_f64(),
        s.counties,
        s.added,
        s.counties - s.added,
    );
    Ok(())
}

/// Add every county-level unit of `region` that the store does not hold yet.
pub async fn add_region(
    store: &dyn Store,
    region: &Region,
    options: Options,
    progress: bool,
) -> anyhow::Result<Summary> {
    let dir = reference::reference_dir();
    let reference = tokio::task::block_in_place(|| reference::read(&dir, region))
        .with_context(|| format!("cannot read the national reference data in {}", dir.join("china").display()))?;
    let total = reference.counties.len();
    let bar = if progress { indicatif::ProgressBar::new(total as u64) } else { indicatif::ProgressBar::hidden() };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} 县级单位 (counties) {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let reference = std::sync::Arc::new(reference);
    let next = std::sync::Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..workers {
        let (reference, next, tx) = (reference.clone(), next.clone(), tx.clone());
        handles.push(std::thread::spawn(move || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(county) = reference.counties.get(i) else { break };
            let dataset = county_dataset(county, &reference.places, options);
            if tx.blocking_send((county.code.clone(), dataset)).is_err() {
                break;
            }
        }));
    }
    drop(tx);
    let actor = Actor::system(&format!("init --region {region}"));
    let mut s = Summary { counties: total, ..Summary::default() };
    // Counties are written in batches of about `BATCH_RECORDS` records, one
    // transaction each: a county is never half there, and the commits (each waits
    // for the disk) number in the hundreds, not thousands.
    const BATCH_RECORDS: usize = 20_000;
    let mut batch: Vec<(String, diming::store::Dataset)> = Vec::new();
    let mut records = 0;
    loop {
        let next = rx.recv().await;
        let done = next.is_none();
        if let Some((code, dataset)) = next {
            records += dataset.divisions.len() + dataset.settlements.len() + dataset.facilities.len();
            batch.push((code, dataset));
        }
        if !batch.is_empty() && (done || records >= BATCH_RECORDS) {
            let added = store.add_counties(&batch, &actor).await?;
            for ((_, dataset), added) in batch.iter().zip(added) {
                if added {
                    s.added += 1;
                    s.divisions += dataset.divisions.len();
                    s.settlements += dataset.settlements.len();
                    s.facilities += dataset.facilities.len();
                }
            }
            bar.inc(batch.len() as u64);
            batch.clear();
            records = 0;
        }
        if done {
            break;
        }
    }
    bar.finish_and_clear();
    for h in handles {
        h.join().map_err(|_| anyhow::anyhow!("a county could not be built"))?;
    }
    Ok(s)
}
