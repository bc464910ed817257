//! The session registry: the only tokens the API accepts are those of a
//! sign-in Portico completed itself.
//!
//! Each completed sign-in writes a session item keyed by the token's session
//! id (Cognito's `origin_jti`, the local token's `jti`), expiring with the
//! token. [`crate::ops::authenticate`] reads it in the same `get_many` as the
//! user, so it costs no round trip, and refuses a token whose session is
//! missing, expired, of another user, or of an older *generation*.
//!
//! Revoking every session of a user (password set or reset, authenticator
//! reset, suspension, reinstatement, sign-out everywhere) sets a new random
//! generation on the user record, in the same transaction as the change
//! that calls for it: sessions opened before it stop working at once, and a
//! sign-in racing it loses (its session carries the generation it read).
//! Signing out of one session deletes its item.
//!
//! A token obtained from Cognito directly (InitiateAuth with the pool's
//! client id) has no session here, so the API refuses it: MFA and the TOTP
//! replay guard cannot be sidestepped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::{User, UserId};
use crate::error::AppError;
use crate::store::{Cond, Item, Key, StoreError, Write};

pub const SESSION: &str = "Session";

/// The longest a token Portico accepts may live (issued-at to expiry): the
/// local portal's demo tokens, 12 hours; sign-ins get 60 minutes.
pub const MAX_TOKEN_SECONDS: i64 = 12 * 3600;

/// What the registry keeps of a session: ids only, never a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub user_id: UserId,
    /// The user's session generation when the session opened.
    pub generation: u64,
    pub expires_at: DateTime<Utc>,
    /// Browser sessions only: when the session was last used. It ends
    /// [`BROWSER_IDLE_MINUTES`] after that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
    /// When the user signed in (password and code): a LogMeIn assertion's `auth_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_in_at: Option<DateTime<Utc>>,
}

/// A browser session ends after this long without a request...
pub const BROWSER_IDLE_MINUTES: i64 = 30;
/// ...and this long after sign-in, whatever happens.
pub const BROWSER_LIFETIME_HOURS: i64 = 12;
/// A browser session's `lastSeen` is written at most this often (one
/// write per session per 5 minutes, not one per request): the idle timeout
/// is exact to within this.
pub const IDLE_REFRESH_MINUTES: i64 = 5;

/// A session's key: the SHA-256 of its id (ids come from verified tokens;
/// hashing bounds their length and alphabet).
pub fn key(session_id: &str) -> Key {
    Key::new(
        format!("SESSION#{}", hex::encode(Sha256::digest(session_id.as_bytes()))),
        "SESSION",
    )
}

/// A new generation for a user's sessions: every session opened before it is revoked.
pub fn new_generation() -> u64 {
    // Never 0, the generation of users created before the registry.
    rand::random::<u64>() | 1
}

/// A patch of the user record revoking every session of the user (the
/// revoking changes that patch the user anyway set `sessionGeneration` too).
pub fn revoke_all(user: UserId) -> Result<Write, StoreError> {
    Write::patch(
        crate::store::keys::user(user),
        &serde_json::json!({ "sessionGeneration": new_generation() }),
        Cond::MustExist,
    )
}

/// The write that opens a session for `user` (with the generation read with
/// it), ending at `expires_at`: now (on the injected clock, which the store's
/// expiry uses too) plus the token's lifetime.
pub fn open(
    user: &User,
    session_id: &str,
    signed_in_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Write, StoreError> {
    put(user, session_id, signed_in_at, expires_at, None)
}

fn put(
    user: &User,
    session_id: &str,
    signed_in_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    last_seen: Option<DateTime<Utc>>,
) -> Result<Write, StoreError> {
    let item = Item::new(
        key(session_id),
        SESSION,
        1,
        &Session {
            user_id: user.id,
            generation: user.session_generation,
            expires_at,
            last_seen,
            signed_in_at: Some(signed_in_at),
        },
    )?
    .with_ttl(expires_at.timestamp());
    Ok(Write::Put {
        item,
        cond: Cond::MustNotExist,
    })
}

/// The write that opens a browser session (the web pages' cookie names
/// it): [`BROWSER_LIFETIME_HOURS`] at most, [`BROWSER_IDLE_MINUTES`] idle.
pub fn open_browser(user: &User, session_id: &str, now: DateTime<Utc>) -> Result<Write, StoreError> {
    put(
        user,
        session_id,
        now,
        now + chrono::Duration::hours(BROWSER_LIFETIME_HOURS),
        Some(now),
    )
}

/// Whether a browser session's `lastSeen` is old enough to write again.
pub fn refresh_due(s: &Session, now: DateTime<Utc>) -> bool {
    s.last_seen
        .is_some_and(|t| now - t >= chrono::Duration::minutes(IDLE_REFRESH_MINUTES))
}

/// The write that marks a browser session used now (it must still exist).
pub fn refresh(session_id: &str, now: DateTime<Utc>) -> Result<Write, StoreError> {
    Write::patch(
        key(session_id),
        &serde_json::json!({ "lastSeen": now }),
        Cond::MustExist,
    )
}

/// The write that ends one session.
pub fn close(session_id: &str) -> Write {
    Write::Delete {
        key: key(session_id),
        cond: Cond::None,
    }
}

/// Whether `item` (read with `user`) is a live session of theirs: opened by
/// Portico, for this user, not revoked since, and (a browser session) not
/// idle too long. (A token's own `exp`, checked when it is verified, bounds
/// its life; a browser session's `expiresAt` is checked here; the item's TTL
/// only cleans up, and an expired item reads as absent.)
pub fn check(item: Option<&Item>, user: &User, now: DateTime<Utc>) -> Result<Session, AppError> {
    let ended = || AppError::Unauthenticated("This session has ended: sign in again.");
    let s: Session = item.ok_or_else(ended)?.decode()?;
    if s.user_id != user.id || s.generation != user.session_generation {
        return Err(ended());
    }
    if let Some(seen) = s.last_seen
        && (now - seen > chrono::Duration::minutes(BROWSER_IDLE_MINUTES) || s.expires_at <= now)
    {
        return Err(ended());
    }
    Ok(s)
}

/// The session id a JWT names (`origin_jti`, else `jti`) and its lifetime
/// in seconds (`exp - iat`), read without verifying: only for tokens Portico
/// just received from its identity provider.
pub fn id_of_issued(token: &str) -> Option<(String, i64)> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let id = claims
        .get("origin_jti")
        .or_else(|| claims.get("jti"))?
        .as_str()?
        .to_string();
    let lifetime = claims.get("exp")?.as_i64()? - claims.get("iat")?.as_i64()?;
    (lifetime > 0).then_some((id, lifetime))
}

#[cfg(feature = "local")]
/// Signs a local token for `user`, valid `minutes`, and opens its session
/// until `session_until` (on the injected clock): the local portal's demo
/// tokens, and the tests' tokens for demo users. 1 read, 1 write.
pub async fn open_local(
    deps: &crate::app::Deps,
    tokens: &crate::identity::tokens::LocalTokens,
    user: UserId,
    minutes: i64,
    session_until: DateTime<Utc>,
) -> Result<String, AppError> {
    let u: User = deps
        .table
        .get(&crate::store::keys::user(user))
        .await?
        .ok_or_else(|| AppError::Internal(format!("no user {user} to open a session for")))?
        .decode()?;
    let issued = tokens.issue(u.id, u.org_id, u.org_kind, minutes)?;
    deps.table
        .transact(vec![open(&u, &issued.session_id, deps.clock.now(), session_until)?])
        .await?;
    Ok(issued.token)
}
