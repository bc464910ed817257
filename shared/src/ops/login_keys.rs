//! The LogMeIn signing keys: the ring's first key, the published set
//! (`GET /.well-known/jwks.json`), and rotation, an operation in three steps
//! that platform admins take (`docs/instance-integration.md`, "Keys"):
//!
//! 1. **stage** a new key: published at once, not signing;
//! 2. **activate** it, at least [`OVERLAP_HOURS`] after it was published:
//!    it signs from then on, and the key it replaces is retired (still
//!    published);
//! 3. **unpublish** the retired key, at least [`OVERLAP_HOURS`] after it
//!    stopped signing (its private key is destroyed).
//!
//! So every verifier that refreshes its JWKS within a day always holds the
//! key of any assertion it is shown.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Deps;
use crate::audit::{ActionType, Target};
use crate::authz::Action;
use crate::error::AppError;
use crate::http::principal::Caller;
use crate::login_keys::{Jwks, KeyRing, KeyState, OVERLAP_HOURS, RingKey};
use crate::ops::{Change, authenticate};
use crate::store::{Cond, Item, StoreError, Write};

/// The ring as stored (none: no key yet) and its item version.
fn decode(item: Option<Item>) -> Result<Option<(KeyRing, u64)>, AppError> {
    Ok(match item {
        Some(i) => Some((i.decode()?, i.version)),
        None => None,
    })
}

/// The ring, from `item` as read with the request's other items; made with
/// its first key if there is none yet (the deployment's key in AWS, a new
/// key file locally). Two first uses at once: one ring wins, the other's
/// key is destroyed.
pub async fn ring_from(deps: &Deps, item: Option<Item>) -> Result<(KeyRing, u64), AppError> {
    if let Some(ring) = decode(item)? {
        return Ok(ring);
    }
    let now = deps.clock.now();
    let (key_ref, jwk, made) = match deps.signer.provided() {
        Some(key_ref) => {
            let jwk = deps.signer.public_key(&key_ref).await?;
            (key_ref, jwk, false)
        }
        None => {
            let k = deps.signer.create().await?;
            (k.key_ref, k.jwk, true)
        }
    };
    let ring = KeyRing {
        keys: vec![RingKey {
            key_ref: key_ref.clone(),
            jwk,
            published_at: now,
            // The first key signs at once: no verifier holds an older set.
            signing_since: Some(now),
            retired_at: None,
        }],
    };
    match deps
        .table
        .transact(vec![Write::Put {
            item: ring.item(1)?,
            cond: Cond::MustNotExist,
        }])
        .await
    {
        Ok(()) => {
            tracing::info!(kid = %ring.keys[0].jwk.kid, "the LogMeIn key ring starts with its first key");
            Ok((ring, 1))
        }
        Err(StoreError::ConditionFailed { .. }) => {
            if made && let Err(e) = deps.signer.destroy(&key_ref).await {
                tracing::warn!(error = %e, "destroying a first key another request beat");
            }
            decode(deps.table.get(&KeyRing::key()).await?)?
                .ok_or_else(|| AppError::Internal("the key ring vanished".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// The ring (read, or made with its first key).
pub async fn ring(deps: &Deps) -> Result<(KeyRing, u64), AppError> {
    let item = deps.table.get(&KeyRing::key()).await?;
    ring_from(deps, item).await
}

/// The key that signs now.
pub fn signing_key(ring: &KeyRing) -> Result<&RingKey, AppError> {
    ring.current()
        .ok_or_else(|| AppError::Internal("the key ring has no signing key".into()))
}

/// The published keys (public; one read).
pub async fn jwks(deps: &Deps) -> Result<Jwks, AppError> {
    Ok(ring(deps).await?.0.jwks())
}

/// Makes sure the ring exists (the local portal, as it starts: its first
/// key file is made then).
pub async fn ensure(deps: &Deps) -> Result<(), AppError> {
    ring(deps).await.map(|_| ())
}

/// One key, as the rotation status shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginKeyView {
    pub kid: String,
    /// `next` (published, not signing yet), `current` (signing) or
    /// `previous` (retired, still published).
    pub state: KeyState,
    pub published_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<DateTime<Utc>>,
    /// `next`: from when it may be activated; `previous`: from when it may
    /// be unpublished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step_from: Option<DateTime<Utc>>,
}

/// The rotation status: every published key, current first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginKeys {
    pub keys: Vec<LoginKeyView>,
    /// Hours a key is published before it signs, and after it stops.
    pub overlap_hours: i64,
}

fn view(ring: &KeyRing) -> LoginKeys {
    let order = |k: &RingKey| match k.state() {
        KeyState::Current => 0,
        KeyState::Next => 1,
        KeyState::Previous => 2,
    };
    let mut keys: Vec<&RingKey> = ring.keys.iter().collect();
    keys.sort_by_key(|k| order(k));
    LoginKeys {
        keys: keys
            .into_iter()
            .map(|k| LoginKeyView {
                kid: k.jwk.kid.clone(),
                state: k.state(),
                published_at: k.published_at,
                signing_since: k.signing_since,
                retired_at: k.retired_at,
                next_step_from: match k.state() {
                    KeyState::Next => Some(KeyRing::activate_from(k)),
                    KeyState::Previous => KeyRing::unpublish_from(k),
                    KeyState::Current => None,
                },
            })
            .collect(),
        overlap_hours: OVERLAP_HOURS,
    }
}

/// The rotation status (platform admins).
pub async fn status(deps: &Deps, caller: &Caller) -> Result<LoginKeys, AppError> {
    let (actor, [item]) = authenticate(deps, caller, [KeyRing::key()]).await?;
    deps.authz
        .require(&actor.principal, Action::ManageLoginKeys, &actor.principal.own_org())?;
    Ok(view(&ring_from(deps, item).await?.0))
}

fn key_target(kid: &str) -> Target {
    Target {
        kind: "login-key".into(),
        id: kid.to_string(),
    }
}

fn at(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Writes the ring as changed by `f`, with its event in the caller's log.
async fn change(
    deps: &Deps,
    caller: &Caller,
    f: impl FnOnce(&mut KeyRing, DateTime<Utc>) -> Result<(String, String), AppError>,
    made: Option<crate::login_keys::NewKey>,
) -> Result<(LoginKeys, Vec<String>), AppError> {
    let (actor, [item]) = authenticate(deps, caller, [KeyRing::key()]).await?;
    deps.authz
        .require(&actor.principal, Action::ManageLoginKeys, &actor.principal.own_org())?;
    let (mut ring, version) = ring_from(deps, item).await?;
    let before = ring.clone();
    let now = deps.clock.now();
    if let Some(k) = made {
        if ring.next().is_some() {
            // Refused below before anything is written; the new key goes.
            deps.signer.destroy(&k.key_ref).await?;
            return Err(AppError::Conflict(
                "A key is staged already: activate it (or unpublish it) before staging another.".into(),
            ));
        }
        ring.keys.push(RingKey {
            key_ref: k.key_ref,
            jwk: k.jwk,
            published_at: now,
            signing_since: None,
            retired_at: None,
        });
    }
    let (kid, description) = f(&mut ring, now)?;
    let gone: Vec<String> = before
        .keys
        .iter()
        .filter(|k| ring.find(&k.jwk.kid).is_none())
        .map(|k| k.key_ref.clone())
        .collect();
    Change::new(
        deps,
        &actor,
        actor.principal.org_id,
        ActionType::UpdateConfiguration,
        key_target(&kid),
        description,
    )
    .write(Write::Put {
        item: ring.item(version + 1)?,
        cond: Cond::VersionIs(version),
    })
    .after(serde_json::json!({ "keys": ring.jwks().keys.iter().map(|k| &k.kid).collect::<Vec<_>>() }))
    .commit(deps)
    .await
    .map_err(|e| match e {
        StoreError::ConditionFailed { index: 0 } => {
            AppError::Conflict("The keys changed meanwhile (another rotation step); reload and retry.".into())
        }
        e => e.into(),
    })?;
    Ok((view(&ring), gone))
}

/// Step 1: stage a new key, published now, signing once activated.
pub async fn stage(deps: &Deps, caller: &Caller) -> Result<LoginKeys, AppError> {
    // Authorised (and refused while a key is staged) before a key is made.
    status(deps, caller).await.and_then(|s| {
        if s.keys.iter().any(|k| k.state == KeyState::Next) {
            Err(AppError::Conflict(
                "A key is staged already: activate it (or unpublish it) before staging another.".into(),
            ))
        } else {
            Ok(())
        }
    })?;
    let made = deps.signer.create().await?;
    let kid = made.jwk.kid.clone();
    let (view, _) = change(
        deps,
        caller,
        |_, now| {
            Ok((
                kid.clone(),
                format!(
                    "Staged a new LogMeIn signing key {kid}: published now, it may sign from {}",
                    at(now + chrono::Duration::hours(OVERLAP_HOURS))
                ),
            ))
        },
        Some(made),
    )
    .await?;
    Ok(view)
}

/// Step 2: the staged key signs from now on; the signing key is retired
/// (still published). Refused before the staged key has been published
/// [`OVERLAP_HOURS`], and while an older retired key is still published.
pub async fn activate(deps: &Deps, caller: &Caller, kid: &str) -> Result<LoginKeys, AppError> {
    let (view, _) = change(
        deps,
        caller,
        |ring, now| {
            let next = ring.find(kid).ok_or(AppError::NotFound)?;
            if next.state() != KeyState::Next {
                return Err(AppError::Conflict(format!(
                    "Key {kid} is not the staged key: only a staged key can be activated."
                )));
            }
            let from = KeyRing::activate_from(next);
            if now < from {
                return Err(AppError::Conflict(format!(
                    "Key {kid} was published at {}: verifiers may not have it yet. Activate it from {}.",
                    at(next.published_at),
                    at(from)
                )));
            }
            if let Some(p) = ring.previous() {
                return Err(AppError::Conflict(format!(
                    "The retired key {} is still published: unpublish it first (from {}).",
                    p.jwk.kid,
                    KeyRing::unpublish_from(p).map(at).unwrap_or_default()
                )));
            }
            for k in ring.keys.iter_mut() {
                match k.state() {
                    KeyState::Current => k.retired_at = Some(now),
                    KeyState::Next => k.signing_since = Some(now),
                    KeyState::Previous => {}
                }
            }
            Ok((
                kid.to_string(),
                format!(
                    "Activated the LogMeIn signing key {kid}; the key it replaces stays published until at least {}",
                    at(now + chrono::Duration::hours(OVERLAP_HOURS))
                ),
            ))
        },
        None,
    )
    .await?;
    Ok(view)
}

/// Step 3: stop publishing a retired key, [`OVERLAP_HOURS`] after it
/// stopped signing (or a staged key that never signed, at any time), and
/// destroy its private key.
pub async fn unpublish(deps: &Deps, caller: &Caller, kid: &str) -> Result<LoginKeys, AppError> {
    let (view, gone) = change(
        deps,
        caller,
        |ring, now| {
            let key = ring.find(kid).ok_or(AppError::NotFound)?;
            match key.state() {
                KeyState::Current => {
                    return Err(AppError::Conflict(format!(
                        "Key {kid} signs now: stage and activate another key first."
                    )));
                }
                KeyState::Previous => {
                    let from = KeyRing::unpublish_from(key).unwrap_or(now);
                    if now < from {
                        return Err(AppError::Conflict(format!(
                            "Key {kid} signed until {}: assertions and cached key sets may still need it. Unpublish it from {}.",
                            key.retired_at.map(at).unwrap_or_default(),
                            at(from)
                        )));
                    }
                }
                KeyState::Next => {}
            }
            ring.keys.retain(|k| k.jwk.kid != kid);
            Ok((kid.to_string(), format!("Unpublished the LogMeIn signing key {kid}")))
        },
        None,
    )
    .await?;
    // After the commit: a key is destroyed only once nothing publishes it.
    for key_ref in gone {
        if let Err(e) = deps.signer.destroy(&key_ref).await {
            tracing::warn!(error = %e, "destroying an unpublished key failed; it is no longer used");
        }
    }
    Ok(view)
}
