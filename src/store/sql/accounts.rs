//! `AccountStore` for both backends: accounts, login sessions and API tokens. A
//! credential is kept only as its hash; what changes an account or a token is
//! audited like a record.

use super::{Backend, Change, Column, SqlStore};
use crate::domain::User;
use crate::store::{now_rfc3339, AccountStore, Actor, ApiToken, LoginSession, NewUser, StoreError, StoreResult};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::{ColumnIndex, Encode, Executor, Row, Type};

#[async_trait]
impl<DB> AccountStore for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + ColumnIndex<DB::Row>,
    for<'a> Option<&'a str>: Encode<'a, DB>,
    str: Type<DB>,
    usize: ColumnIndex<DB::Row>,
    String: Column<DB>,
    Option<String>: Column<DB>,
    i64: Column<DB>,
    Option<i64>: Column<DB>,
    f64: Column<DB>,
    bool: Column<DB>,
{
    async fn create_user(&self, new: &NewUser, actor: &Actor) -> StoreResult<User> {
        let mut tx = self.begin_write().await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(&new.username)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            tx.rollback().await?;
            return Err(StoreError::Duplicate { entity: "user", id: new.username.clone() });
        }
        let at = now_rfc3339();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&new.username)
        .bind(&new.display_name)
        .bind(new.role.as_str())
        .bind(&new.password_hash)
        .bind(&at)
        .fetch_one(&mut *tx)
        .await?;
        let user = User {
            id,
            username: new.username.clone(),
            display_name: new.display_name.clone(),
            role: new.role,
            active: true,
        };
        // The history and audit keep the account, never its password hash.
        let after = serde_json::to_value(&user).unwrap_or(Value::Null);
        let change = Change {
            entity: "user",
            entity_id: &user.username,
            version: 1,
            action: "create",
            before: None,
            after: &after,
            at: &at,
        };
        Self::record(&mut tx, change, actor).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<(User, String)>> {
        let row =
            sqlx::query("SELECT * FROM users WHERE username = $1").bind(username).fetch_optional(&self.pool).await?;
        row.map(|r| Ok((Self::user_from_row(&r)?, r.try_get("password_hash")?))).transpose()
    }

    async fn count_users(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?)
    }

    async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        csrf_token: &str,
        expires_at: &str,
    ) -> StoreResult<()> {
        let now = now_rfc3339();
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(&now).execute(&self.pool).await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(&now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str) -> StoreResult<Option<(User, String)>> {
        let row = sqlx::query(
            "SELECT u.*, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_rfc3339())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((Self::user_from_row(&r)?, r.try_get("csrf_token")?))).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    async fn create_api_token(&self, user_id: i64, name: &str, token_hash: &str, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let at = now_rfc3339();
        sqlx::query("INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(name)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        // Named by account and a prefix of the hash: names need not be unique, and
        // the token itself is never kept.
        let entity_id = format!("{user_id}:{}", token_hash.get(..12).unwrap_or(token_hash));
        let after = serde_json::json!({"user_id": user_id, "name": name});
        let change = Change {
            entity: "api_token",
            entity_id: &entity_id,
            version: 1,
            action: "create",
            before: None,
            after: &after,
            at: &at,
        };
        Self::record(&mut tx, change, actor).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn token_user(&self, token_hash: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT u.* FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(Self::user_from_row).transpose()
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        self.all("SELECT * FROM users ORDER BY id", Self::user_from_row).await
    }

    async fn set_user_active(&self, username: &str, active: bool, actor: &Actor) -> StoreResult<User> {
        let mut tx = self.begin_write().await?;
        let row =
            sqlx::query("SELECT * FROM users WHERE username = $1").bind(username).fetch_optional(&mut *tx).await?;
        let Some(before) = row.as_ref().map(Self::user_from_row).transpose()? else {
            tx.rollback().await?;
            return Err(StoreError::NotFound { entity: "user", id: username.to_string() });
        };
        let version: i64 = row.as_ref().map(|r| r.try_get("version")).transpose()?.unwrap_or(1);
        if before.active == active {
            tx.rollback().await?;
            return Ok(before);
        }
        sqlx::query("UPDATE users SET active = $1, version = version + 1 WHERE id = $2")
            .bind(active)
            .bind(before.id)
            .execute(&mut *tx)
            .await?;
        if !active {
            // Nothing of a deactivated account keeps working, not even a live session.
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(before.id).execute(&mut *tx).await?;
        }
        let after_user = User { active, ..before.clone() };
        let b = serde_json::to_value(&before).unwrap_or(Value::Null);
        let a = serde_json::to_value(&after_user).unwrap_or(Value::Null);
        let at = now_rfc3339();
        let change = Change {
            entity: "user",
            entity_id: username,
            version: version + 1,
            action: if active { "activate" } else { "deactivate" },
            before: Some(&b),
            after: &a,
            at: &at,
        };
        Self::record(&mut tx, change, actor).await?;
        tx.commit().await?;
        Ok(after_user)
    }

    async fn api_tokens(&self, user_id: Option<i64>) -> StoreResult<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT substr(t.token_hash, 1, 12) AS id, t.user_id, u.username, t.name, t.created_at, t.revoked_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE $1 IS NULL OR t.user_id = $1 \
             ORDER BY t.created_at, t.token_hash",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::api_token_from_row).collect()
    }

    async fn revoke_api_token(&self, id: &str, actor: &Actor) -> StoreResult<ApiToken> {
        let mut tx = self.begin_write().await?;
        // An id is the hash's first 12 hex digits: a range of the primary key, not a scan.
        let (from, to) = (id.to_string(), format!("{id}g"));
        let select = "SELECT substr(t.token_hash, 1, 12) AS id, t.user_id, u.username, t.name, t.created_at, \
             t.revoked_at FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash >= $1 AND t.token_hash < $2";
        let row = sqlx::query(select).bind(&from).bind(&to).fetch_optional(&mut *tx).await?;
        let Some(before) = row.as_ref().map(Self::api_token_from_row).transpose()? else {
            tx.rollback().await?;
            return Err(StoreError::NotFound { entity: "api_token", id: id.to_string() });
        };
        if before.revoked_at.is_some() {
            tx.rollback().await?;
            return Ok(before);
        }
        let at = now_rfc3339();
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE token_hash >= $2 AND token_hash < $3")
            .bind(&at)
            .bind(&from)
            .bind(&to)
            .execute(&mut *tx)
            .await?;
        let after = ApiToken { revoked_at: Some(at.clone()), ..before.clone() };
        let entity_id = format!("{}:{id}", before.user_id);
        let b = serde_json::to_value(&before).unwrap_or(Value::Null);
        let a = serde_json::to_value(&after).unwrap_or(Value::Null);
        let change = Change {
            entity: "api_token",
            entity_id: &entity_id,
            version: 2,
            action: "revoke",
            before: Some(&b),
            after: &a,
            at: &at,
        };
        Self::record(&mut tx, change, actor).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn sessions(&self, user_id: Option<i64>) -> StoreResult<Vec<LoginSession>> {
        let rows = sqlx::query(
            "SELECT substr(s.token_hash, 1, 12) AS id, s.user_id, u.username, s.created_at, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE ($1 IS NULL OR s.user_id = $1) \
             AND s.expires_at > $2 ORDER BY s.created_at, s.token_hash",
        )
        .bind(user_id)
        .bind(now_rfc3339())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::login_session_from_row).collect()
    }

    async fn end_session(&self, id: &str, actor: &Actor) -> StoreResult<LoginSession> {
        let mut tx = self.begin_write().await?;
        // An id is the hash's first 12 hex digits: a range of the primary key, not a scan.
        let (from, to) = (id.to_string(), format!("{id}g"));
        let row = sqlx::query(
            "SELECT substr(s.token_hash, 1, 12) AS id, s.user_id, u.username, s.created_at, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash >= $1 AND s.token_hash < $2",
        )
        .bind(&from)
        .bind(&to)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(before) = row.as_ref().map(Self::login_session_from_row).transpose()? else {
            tx.rollback().await?;
            return Err(StoreError::NotFound { entity: "session", id: id.to_string() });
        };
        sqlx::query("DELETE FROM sessions WHERE token_hash >= $1 AND token_hash < $2")
            .bind(&from)
            .bind(&to)
            .execute(&mut *tx)
            .await?;
        let at = now_rfc3339();
        let entity_id = format!("{}:{id}", before.user_id);
        let b = serde_json::to_value(&before).unwrap_or(Value::Null);
        let change = Change {
            entity: "session",
            entity_id: &entity_id,
            version: 2,
            action: "end",
            before: Some(&b),
            after: &Value::Null,
            at: &at,
        };
        Self::record(&mut tx, change, actor).await?;
        tx.commit().await?;
        Ok(before)
    }
}
