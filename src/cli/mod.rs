//! The commands of `diming`, one module per concern, and what they share: opening
//! the registry as the server would hold it. Each command calls the registry's use
//! cases (`diming::registry`) as the command line (`Caller::System`), never HTTP.

pub mod admin;
pub mod args;
pub mod coverage;
pub mod init;
pub mod interop;
pub mod serve;

use anyhow::Context;
use args::RegistryArgs;
use diming::config::default_dir;
use diming::coverage::Rules;
use diming::registry::Registry;
use diming::store::{self, Actor, LoadOutcome, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The coverage rules file: `--rules`, else the bundled one.
pub fn load_rules(path: Option<&Path>) -> anyhow::Result<Rules> {
    let path = path.map(Path::to_path_buf).unwrap_or_else(|| default_dir("data").join("coverage_rules.toml"));
    Rules::load(&path)
        .with_context(|| format!("cannot use the coverage rules in {} (--rules / DIMING_RULES)", path.display()))
}

/// The bundled dataset's directory: `--data`, else the Manas dataset.
pub fn data_dir(args: &RegistryArgs) -> PathBuf {
    args.data.clone().unwrap_or_else(|| default_dir("data").join("manas"))
}

/// Open the store; an empty database is first filled: with the region asked for
/// (`--region`), else with the bundled dataset.
pub async fn open_store(args: &RegistryArgs) -> anyhow::Result<Arc<dyn Store>> {
    let store = store::open(&args.database).await?;
    if store.loaded_dataset().await?.is_none() {
        match &args.region {
            Some(region) => {
                let options = diming::import::region::Options { sample_facilities: args.sample_facilities };
                let s = init::add_region(store.as_ref(), region, options, false).await?;
                tracing::info!(%region, counties = s.added, divisions = s.divisions, settlements = s.settlements,
                    "built the region from the national reference data (synthetic parts are labelled provenance=synthetic)");
            }
            None => load_bundled(store.as_ref(), &data_dir(args)).await?,
        }
    }
    Ok(store)
}

/// Load the bundled dataset into an empty database (once, whoever comes first).
pub async fn load_bundled(store: &dyn Store, data_dir: &Path) -> anyhow::Result<()> {
    if store.loaded_dataset().await?.is_some() {
        return Ok(());
    }
    let dataset = diming::import::dataset::load_dir(data_dir)
        .with_context(|| format!("cannot read the bundled dataset in {}", data_dir.display()))?;
    match store.load_dataset(&dataset, &Actor::system("dataset")).await? {
        LoadOutcome::Loaded { dataset, divisions, settlements, facilities } => tracing::info!(
            %dataset, divisions, settlements, facilities,
            "loaded the bundled dataset (synthetic layers are labelled provenance=synthetic)"
        ),
        LoadOutcome::AlreadyLoaded { dataset } => {
            tracing::info!(%dataset, "dataset already loaded by another process")
        }
    }
    Ok(())
}

/// The registry with its snapshot, as the server would hold it.
pub async fn open_registry(args: &RegistryArgs) -> anyhow::Result<Registry> {
    let rules = load_rules(args.rules.as_deref())?;
    let store = open_store(args).await?;
    Ok(Registry::open(store, rules).await?)
}
