//! Typed configuration, read once at start-up; a bad value fails fast with a
//! message that names the setting. Secrets are never logged.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    /// `--listen` / `DIMING_LISTEN`; port 0 picks a free port.
    pub listen: SocketAddr,
    /// `--database` / `DIMING_DATABASE_URL`, e.g. `sqlite://diming.db`.
    pub database_url: String,
    /// `--data` / `DIMING_DATA_DIR`: the bundled dataset (`data/`).
    pub data_dir: PathBuf,
    /// `--web` / `DIMING_WEB_DIR`: the page's static files (`web/`).
    pub web_dir: PathBuf,
}

/// Where a directory shipped with the source lives: `name` under the working
/// directory if it is there, else beside Cargo.toml of the build.
pub fn default_dir(name: &str) -> PathBuf {
    let here = PathBuf::from(name);
    if here.is_dir() {
        here
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name)
    }
}

impl Config {
    /// The database URL with any password replaced, for logs.
    pub fn database_for_log(&self) -> String {
        redact_url(&self.database_url)
    }
}

pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    match rest.rsplit_once('@') {
        Some((creds, host)) => match creds.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_the_log() {
        assert_eq!(super::redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact_url("sqlite://diming.db"), "sqlite://diming.db");
    }
}
