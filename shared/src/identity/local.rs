//! The local identity: what Cognito does, for the local portal and tests.
//! Passwords are argon2id hashes; TOTP is RFC 6238 (totp-rs: SHA-1, 6
//! digits, 30 s, one step of skew); 5 wrong codes lock sign-in for 15
//! minutes. It keeps its records in a table of its own (the same SQLite
//! file locally), as Cognito keeps its users apart from Portico's table.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::{Identity, IdentityError, IdentityUser, SignIn, Tokens, TotpSetup};
use crate::accounts::LinkToken;
use crate::clock::Clock;
use crate::domain::{OrgId, OrgKind, Password, UserId};
use crate::identity::tokens::LocalTokens;
use crate::store::{Cond, Item, Key, StoreError, Table, Write};

/// An argon2id hash with the default parameters (those of every stored
/// hash) of no password anyone knows: an unknown user's sign-in verifies
/// against it, so that it costs as much as a known user's.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$cG9ydGljby1kdW1teS1zYWx0$V3cMZ9y1K8DQHgS6yG0z0a0xB2v1XQ0Yl3l9cQnZr5E";

pub const MAX_FAILED_CODES: u32 = 5;
pub use super::LOCK_MINUTES;
const SESSION_MINUTES: i64 = 5;
const TOKEN_MINUTES: i64 = 60;

pub struct LocalIdentity {
    table: Arc<dyn Table>,
    tokens: Arc<LocalTokens>,
    clock: Arc<dyn Clock>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    org_id: OrgId,
    #[serde(default = "partner")]
    org_kind: OrgKind,
    password_hash: String,
    #[serde(default)]
    totp_secret: Option<String>,
    #[serde(default)]
    pending_secret: Option<String>,
    #[serde(default)]
    failed_codes: u32,
    #[serde(default)]
    locked_until: Option<DateTime<Utc>>,
    /// The time step of the last code accepted for `totp_secret`: codes of
    /// that step or earlier are refused (RFC 6238 §5.2), even unused ones
    /// still inside the skew window.
    #[serde(default)]
    last_step: Option<u64>,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    email: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SessionKind {
    Mfa,
    Setup,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    user_id: UserId,
    kind: SessionKind,
    expires_at: DateTime<Utc>,
}

fn partner() -> OrgKind {
    OrgKind::Partner
}

fn record_key(user: UserId) -> Key {
    Key::new(format!("IDENTITY#{user}"), "IDENTITY")
}

fn session_key(session: &str) -> Key {
    Key::new(
        format!("IDSESSION#{}", hex::encode(Sha256::digest(session.as_bytes()))),
        "IDSESSION",
    )
}

fn store(e: StoreError) -> IdentityError {
    IdentityError::Unavailable(e.to_string())
}

fn totp(secret_b32: &str, account: &str) -> Result<Totp, IdentityError> {
    let secret =
        Secret::try_from_base32(secret_b32).map_err(|_| IdentityError::Unavailable("stored TOTP secret".into()))?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_account_name(account.to_string())
        .with_issuer(Some("Portico"))
        .build()
        .map_err(|e| IdentityError::Unavailable(format!("TOTP: {e}")))
}

impl LocalIdentity {
    pub fn new(table: Arc<dyn Table>, tokens: Arc<LocalTokens>, clock: Arc<dyn Clock>) -> Self {
        Self { table, tokens, clock }
    }

    async fn load(&self, user: UserId) -> Result<Option<(Record, u64)>, IdentityError> {
        match self.table.get(&record_key(user)).await.map_err(store)? {
            Some(item) => Ok(Some((item.decode().map_err(store)?, item.version))),
            None => Ok(None),
        }
    }

    async fn save(&self, user: UserId, record: &Record, version: Option<u64>) -> Result<(), IdentityError> {
        let (next, cond) = match version {
            Some(v) => (v + 1, Cond::VersionIs(v)),
            None => (1, Cond::MustNotExist),
        };
        let item = Item::new(record_key(user), "LocalIdentity", next, record).map_err(store)?;
        match self.table.transact(vec![Write::Put { item, cond }]).await {
            Ok(()) => Ok(()),
            // Lost a race with another sign-in step: the caller retries the step.
            Err(StoreError::ConditionFailed { .. }) => Err(IdentityError::SessionExpired),
            Err(e) => Err(store(e)),
        }
    }

    async fn new_session(&self, user: UserId, kind: SessionKind) -> Result<String, IdentityError> {
        let token = LinkToken::generate();
        let expires_at = self.clock.now() + Duration::minutes(SESSION_MINUTES);
        let item = Item::new(
            session_key(token.expose()),
            "LocalIdentitySession",
            1,
            &Session {
                user_id: user,
                kind,
                expires_at,
            },
        )
        .map_err(store)?
        .with_ttl(expires_at.timestamp());
        self.table
            .transact(vec![Write::Put {
                item,
                cond: Cond::MustNotExist,
            }])
            .await
            .map_err(store)?;
        Ok(token.expose().to_string())
    }

    async fn session(&self, session: &str, kind: SessionKind) -> Result<Session, IdentityError> {
        let s: Session = match self.table.get(&session_key(session)).await.map_err(store)? {
            Some(item) => item.decode().map_err(store)?,
            None => return Err(IdentityError::SessionExpired),
        };
        if s.kind != kind || s.expires_at <= self.clock.now() {
            return Err(IdentityError::SessionExpired);
        }
        Ok(s)
    }

    async fn end_session(&self, session: &str) -> Result<(), IdentityError> {
        let w = Write::Delete {
            key: session_key(session),
            cond: Cond::MustExist,
        };
        match self.table.transact(vec![w]).await {
            Ok(()) => Ok(()),
            Err(StoreError::ConditionFailed { .. }) => Err(IdentityError::SessionExpired),
            Err(e) => Err(store(e)),
        }
    }

    fn tokens(&self, user: UserId, org: OrgId, kind: OrgKind) -> Result<Tokens, IdentityError> {
        let issued = self
            .tokens
            .issue(user, org, kind, TOKEN_MINUTES)
            .map_err(|e| IdentityError::Unavailable(e.to_string()))?;
        Ok(Tokens {
            user_id: user,
            id_token: issued.token,
            expires_in: TOKEN_MINUTES * 60,
            session_id: issued.session_id,
            access_token: None,
        })
    }

    /// Checks a code against `secret` (`enrolled`: the user's own, whose
    /// last accepted step counts; else a pending one), counting failures
    /// towards the lock. Records the accepted step; returns the record and
    /// its version after that write.
    async fn check_code(
        &self,
        user: UserId,
        secret: &str,
        code: &str,
        enrolled: bool,
    ) -> Result<(Record, u64), IdentityError> {
        let (mut rec, version) = self.load(user).await?.ok_or(IdentityError::SessionExpired)?;
        let now = self.clock.now();
        if rec.locked_until.is_some_and(|t| t > now) {
            return Err(IdentityError::Locked);
        }
        let step = if super::code_shape(code) {
            totp(secret, &rec.email)?.check(code, unix_seconds(now)?)
        } else {
            None
        };
        let after_last = |s: u64| !enrolled || rec.last_step.is_none_or(|last| s > last);
        if let Some(step) = step.filter(|s| after_last(*s)) {
            rec.failed_codes = 0;
            rec.locked_until = None;
            rec.last_step = Some(step);
            self.save(user, &rec, Some(version)).await?;
            return Ok((rec, version + 1));
        }
        rec.failed_codes += 1;
        let locked = rec.failed_codes >= MAX_FAILED_CODES;
        if locked {
            rec.failed_codes = 0;
            rec.locked_until = Some(now + Duration::minutes(LOCK_MINUTES));
        }
        self.save(user, &rec, Some(version)).await?;
        Err(if locked {
            IdentityError::Locked
        } else {
            IdentityError::CodeMismatch
        })
    }

    /// The current code for a secret (tests and the local portal's helper).
    /// The local portal's stand-in for a phone: the code the authenticator
    /// of the user an MFA session (`session`) is for would show at `at`.
    /// Only where this identity's records are in `table` (the embedded store).
    pub async fn demo_code(
        table: &dyn Table,
        session: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<String>, IdentityError> {
        let Some(item) = table.get(&session_key(session)).await.map_err(store)? else {
            return Ok(None);
        };
        let s: Session = item.decode().map_err(store)?;
        let Some(item) = table.get(&record_key(s.user_id)).await.map_err(store)? else {
            return Ok(None);
        };
        let rec: Record = item.decode().map_err(store)?;
        rec.totp_secret.map(|secret| Self::code_at(&secret, at)).transpose()
    }

    pub fn code_at(secret_b32: &str, at: DateTime<Utc>) -> Result<String, IdentityError> {
        Ok(totp(secret_b32, "portico")?.generate(unix_seconds(at)?).to_string())
    }
}

#[async_trait]
impl Identity for LocalIdentity {
    async fn set_password(&self, user: IdentityUser<'_>, password: &Password) -> Result<(), IdentityError> {
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map_err(|e| IdentityError::Unavailable(format!("argon2: {e}")))?
            .to_string();
        match self.load(user.id).await? {
            Some((mut rec, version)) => {
                rec.password_hash = hash;
                self.save(user.id, &rec, Some(version)).await
            }
            None => {
                let rec = Record {
                    org_id: user.org_id,
                    org_kind: user.org_kind,
                    password_hash: hash,
                    totp_secret: None,
                    pending_secret: None,
                    failed_codes: 0,
                    locked_until: None,
                    last_step: None,
                    disabled: false,
                    email: user.email.to_string(),
                };
                self.save(user.id, &rec, None).await
            }
        }
    }

    async fn sign_in(&self, user: UserId, password: &str) -> Result<SignIn, IdentityError> {
        let record = self.load(user).await?;
        // The password first, at the same cost whether or not the user exists:
        // nothing else about the account is told before it is right.
        let hash = record.as_ref().map_or(DUMMY_HASH, |(r, _)| r.password_hash.as_str());
        let parsed = PasswordHash::new(hash).map_err(|_| IdentityError::Unavailable("stored hash".into()))?;
        let right = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        let Some((rec, _)) = record.filter(|_| right) else {
            return Err(IdentityError::BadCredentials);
        };
        if rec.locked_until.is_some_and(|t| t > self.clock.now()) {
            return Err(IdentityError::Locked);
        }
        if rec.disabled {
            return Err(IdentityError::Disabled);
        }
        if rec.totp_secret.is_some() {
            Ok(SignIn::MfaCode {
                session: self.new_session(user, SessionKind::Mfa).await?,
            })
        } else {
            Ok(SignIn::Done(self.tokens(user, rec.org_id, rec.org_kind)?))
        }
    }

    async fn enrolment_session(&self, tokens: &Tokens) -> Result<String, IdentityError> {
        self.new_session(tokens.user_id, SessionKind::Setup).await
    }

    async fn begin_totp(&self, session: &str) -> Result<TotpSetup, IdentityError> {
        let s = self.session(session, SessionKind::Setup).await?;
        let (mut rec, version) = self.load(s.user_id).await?.ok_or(IdentityError::SessionExpired)?;
        let secret = Secret::generate().to_base32();
        rec.pending_secret = Some(secret.clone());
        self.save(s.user_id, &rec, Some(version)).await?;
        Ok(TotpSetup {
            secret,
            session: session.to_string(),
        })
    }

    async fn confirm_totp(&self, session: &str, code: &str) -> Result<Tokens, IdentityError> {
        let s = self.session(session, SessionKind::Setup).await?;
        let (rec, _) = self.load(s.user_id).await?.ok_or(IdentityError::SessionExpired)?;
        let pending = rec.pending_secret.clone().ok_or(IdentityError::SessionExpired)?;
        let (mut rec, version) = self.check_code(s.user_id, &pending, code, false).await?;
        rec.totp_secret = Some(pending);
        rec.pending_secret = None;
        self.save(s.user_id, &rec, Some(version)).await?;
        self.end_session(session).await?;
        self.tokens(s.user_id, rec.org_id, rec.org_kind)
    }

    async fn answer_mfa(&self, session: &str, code: &str) -> Result<Tokens, IdentityError> {
        let s = self.session(session, SessionKind::Mfa).await?;
        let (rec, _) = self.load(s.user_id).await?.ok_or(IdentityError::SessionExpired)?;
        let secret = rec.totp_secret.clone().ok_or(IdentityError::SessionExpired)?;
        let (rec, _) = self.check_code(s.user_id, &secret, code, true).await?;
        self.end_session(session).await?;
        self.tokens(s.user_id, rec.org_id, rec.org_kind)
    }

    async fn reset_mfa(&self, user: UserId) -> Result<(), IdentityError> {
        let (mut rec, version) = self.load(user).await?.ok_or(IdentityError::BadCredentials)?;
        rec.totp_secret = None;
        rec.pending_secret = None;
        self.save(user, &rec, Some(version)).await
    }

    async fn disable(&self, user: UserId) -> Result<(), IdentityError> {
        self.set_disabled(user, true).await
    }

    async fn enable(&self, user: UserId) -> Result<(), IdentityError> {
        self.set_disabled(user, false).await
    }

    async fn sign_out_everywhere(&self, _user: UserId) -> Result<(), IdentityError> {
        // Local tokens are short-lived and every request re-reads the user's
        // state, as with Cognito's ID tokens after a global sign-out.
        Ok(())
    }
}

impl LocalIdentity {
    async fn set_disabled(&self, user: UserId, disabled: bool) -> Result<(), IdentityError> {
        match self.load(user).await? {
            Some((mut rec, version)) => {
                rec.disabled = disabled;
                self.save(user, &rec, Some(version)).await
            }
            // No password yet: nothing to disable.
            None => Ok(()),
        }
    }
}

/// Seconds since the Unix epoch, as TOTP counts them; a clock before 1970
/// is a fault to report, not a time to count codes from.
fn unix_seconds(t: DateTime<Utc>) -> Result<u64, IdentityError> {
    u64::try_from(t.timestamp()).map_err(|_| IdentityError::Unavailable(format!("the clock reads {t}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_costs_what_a_stored_one_does() {
        let dummy = PasswordHash::new(DUMMY_HASH).expect("the dummy hash parses");
        let salt = SaltString::generate(&mut OsRng);
        let stored = Argon2::default().hash_password(b"some password", &salt).unwrap();
        assert_eq!(dummy.algorithm, stored.algorithm);
        assert_eq!(dummy.version, stored.version);
        assert_eq!(dummy.params, stored.params, "same memory, time and parallelism costs");
        assert_eq!(dummy.hash.map(|h| h.len()), stored.hash.map(|h| h.len()));
        assert!(Argon2::default().verify_password(b"", &dummy).is_err());
    }
}
