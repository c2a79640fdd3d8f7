//! Accounts: password hashing (argon2id), session and API tokens (random, stored
//! only as SHA-256 hashes), and the one place that decides whether a caller may
//! do something (`Caller::require`).
//!
//! Must not: log or store a password or a token in clear.

pub mod throttle;

use crate::domain::{Role, User};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Session lifetime: a working day.
pub const SESSION_HOURS: i64 = 12;
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "diming_session";
/// The header a cookie-authenticated unsafe request must repeat its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An argon2id hash (PHC string) of a password.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A fresh random token (256 bits, hex).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the store keeps of a token.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Passwords: at least 10 characters (the only rule; length beats composition rules).
pub fn check_password_policy(password: &str) -> Result<(), String> {
    if password.chars().count() >= 10 {
        Ok(())
    } else {
        Err("密码至少 10 个字符 (a password has at least 10 characters)".into())
    }
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    /// Logged in through the page (session cookie).
    Session {
        user: User,
        csrf_ok: bool,
    },
    /// An application with an API token.
    Token {
        user: User,
    },
    /// The command line on the registry's own machine: whoever runs it holds the
    /// database itself, so it acts with every right over the registry's records,
    /// audited as `system:WHAT`. It has no account: account and credential
    /// operations (which need a `User`) are not open to it.
    System {
        what: String,
    },
}

/// Why a caller may not do something: 401 (who are you?) or 403 (not you).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    NotLoggedIn,
    Forbidden { role: Role, needed: Role },
    Csrf,
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Denied::NotLoggedIn => f.write_str("需要登录或 API 令牌 (log in, or send Authorization: Bearer TOKEN)"),
            Denied::Forbidden { role, needed } => write!(
                f,
                "此操作需要「{}」权限，当前账号为「{}」 (needs role {}, you are {})",
                needed.label_zh(),
                role.label_zh(),
                needed.as_str(),
                role.as_str()
            ),
            Denied::Csrf => write!(
                f,
                "缺少或错误的 CSRF 令牌：请在 {CSRF_HEADER} 头中附上登录时返回的 csrf_token (missing or wrong CSRF token)"
            ),
        }
    }
}

impl Caller {
    pub fn user(&self) -> Option<&User> {
        match self {
            Caller::Anonymous | Caller::System { .. } => None,
            Caller::Session { user, .. } | Caller::Token { user } => Some(user),
        }
    }

    /// The name kept in a record this caller proposes or decides: the username, or
    /// `system:WHAT` for the command line.
    pub fn name(&self) -> String {
        match self {
            Caller::Anonymous => "anonymous".into(),
            Caller::System { what } => format!("system:{what}"),
            Caller::Session { user, .. } | Caller::Token { user } => user.username.clone(),
        }
    }

    /// Whether the caller holds `needed` (the command line holds every role).
    pub fn allows(&self, needed: Role) -> bool {
        match self {
            Caller::System { .. } => true,
            other => other.require(needed).is_ok(),
        }
    }

    /// The registry's role check: `require` for accounts, every right for the command line.
    pub fn permit(&self, needed: Role) -> Result<(), Denied> {
        match self {
            Caller::System { .. } => Ok(()),
            other => other.require(needed).map(|_| ()),
        }
    }

    /// The role check of an account: every account operation calls this first
    /// (the registry's writes call `permit`).
    /// Cookie-authenticated writes must also carry the session's CSRF token.
    pub fn require(&self, needed: Role) -> Result<&User, Denied> {
        match self {
            Caller::Anonymous | Caller::System { .. } => Err(Denied::NotLoggedIn),
            Caller::Session { csrf_ok: false, .. } => Err(Denied::Csrf),
            Caller::Session { user, .. } | Caller::Token { user } => {
                if !user.active {
                    Err(Denied::NotLoggedIn)
                } else if user.role.allows(needed) {
                    Ok(user)
                } else {
                    Err(Denied::Forbidden { role: user.role, needed })
                }
            }
        }
    }

    /// `require(Role::Viewer)` for the owner of a thing (their own token or
    /// session), `require(Role::Admin)` for anyone else's.
    pub fn require_owner_or_admin(&self, owner_id: i64) -> Result<&User, Denied> {
        let user = self.require(Role::Viewer)?;
        if user.id == owner_id {
            Ok(user)
        } else {
            self.require(Role::Admin)
        }
    }

    /// The audit's name for the caller.
    pub fn actor(&self) -> crate::store::Actor {
        match self {
            Caller::Anonymous => crate::store::Actor("anonymous".into()),
            Caller::System { what } => crate::store::Actor::system(what),
            Caller::Session { user, .. } => crate::store::Actor(format!("user:{}", user.username)),
            Caller::Token { user } => crate::store::Actor(format!("token:{}", user.username)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_and_nothing_else() {
        let h = hash_password("玛纳斯县民政局2026").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("玛纳斯县民政局2026", &h));
        assert!(!verify_password("玛纳斯县民政局2025", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
