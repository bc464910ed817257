//! Entities of getting people in: invitations, user requests, emailed links
//! and the login record. No I/O here.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::domain::{EmailAddress, InvitationId, OrgId, RequestId, Role, UserId};
use crate::error::AppError;
use crate::store::{Item, Key, StoreError, keys};

/// The raw token of an emailed link: 256 bits from the OS CSPRNG, base64url.
/// It exists only in the email and in the request that redeems it; the table
/// holds its SHA-256. Never logged (its `Debug` is redacted).
pub struct LinkToken(String);

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken(<redacted>)")
    }
}

impl LinkToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        // ThreadRng: ChaCha12 seeded from the OS, reseeded periodically (a CSPRNG).
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }
    /// A token as received; only its shape is checked here.
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let ok = raw.len() == 43 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(AppError::LinkInvalid)
        }
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// What its stored link goes by.
    pub fn hash(&self) -> crate::domain::LinkHash {
        crate::domain::LinkHash::of(&self.0)
    }
    /// The key its link is stored under.
    pub fn key(&self) -> Key {
        keys::link(&self.hash())
    }
}

/// What an emailed link lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    /// Set the first password of an invited user (partner manager invitation).
    Invitation,
    /// Set a password: after approval, on request ("forgot password").
    PasswordSetup,
    /// Create a customer organisation linked to the inviting partner.
    CustomerInvitation,
    /// Reset the password of a user who has set one before ("forgot password").
    PasswordReset,
    /// Re-confirm the email address (every rolling 24 hours for partner users).
    EmailConfirmation,
    /// Finish a self-registration: the organisation and its manager are
    /// created from the templates when it is used (seed 002).
    Signup,
}

/// A stored link: keyed by the token's hash, single use, expiring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub purpose: LinkPurpose,
    /// Who it is for (absent for a customer invitation: that user does not exist yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    pub org_id: OrgId,
    pub email: EmailAddress,
    /// The user's role (absent for a customer invitation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_id: Option<InvitationId>,
    pub expires_at: DateTime<Utc>,
    /// Set when redeemed: a second use is told "already used".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<DateTime<Utc>>,
    /// A self-registration's answers, kept until the link is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signup: Option<PendingSignup>,
}

/// What a self-registration asked for, carried by its emailed link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingSignup {
    pub organization_name: crate::domain::OrgName,
    pub display_name: String,
    /// The group its organisation key named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<OrgId>,
    /// The signup link it came through: a replaced link's sign-ups are not finished.
    pub link_id: String,
}

impl Link {
    /// The item; TTL removes it a day after expiry (the redemption checks expiry itself).
    pub fn item(&self, token: &LinkToken) -> Result<Item, StoreError> {
        Ok(Item::new(token.key(), keys::LINK, 1, self)?.with_ttl((self.expires_at + Duration::days(1)).timestamp()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationKind {
    /// A platform admin invites a new partner organisation's first Partner Manager.
    PartnerManager,
    /// A partner invites a customer to create its own organisation.
    Customer,
}

/// As stored; `expired` is derived from `expiresAt` when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    Pending,
    Accepted,
    Expired,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    pub id: InvitationId,
    pub kind: InvitationKind,
    /// The organisation whose invitation list shows it: the new partner, or the inviting partner.
    pub org_id: OrgId,
    /// That organisation's name (for the emails) and kind (for authorization).
    pub org_name: String,
    pub org_kind: crate::domain::OrgKind,
    pub email: EmailAddress,
    /// The invited user, when the invitation is for an existing (pending) user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    pub invited_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub state: InvitationState,
    /// The customer organisation an accepted customer invitation created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_org_id: Option<OrgId>,
    /// Key of the live link (hash of its token; never shown to clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_key: Option<Key>,
    pub version: u64,
}

/// An invitation as clients see it: the state as of now, no link key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    pub id: InvitationId,
    pub kind: InvitationKind,
    pub org_id: OrgId,
    pub email: EmailAddress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    pub invited_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub state: InvitationState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_org_id: Option<OrgId>,
}

impl Invitation {
    /// The state a reader sees at `now`.
    pub fn state_at(&self, now: DateTime<Utc>) -> InvitationState {
        match self.state {
            InvitationState::Pending if self.expires_at <= now => InvitationState::Expired,
            s => s,
        }
    }
    pub fn view(&self, now: DateTime<Utc>) -> InvitationView {
        InvitationView {
            id: self.id,
            kind: self.kind,
            org_id: self.org_id,
            email: self.email.clone(),
            user_id: self.user_id,
            invited_by: self.invited_by,
            created_at: self.created_at,
            expires_at: self.expires_at,
            state: self.state_at(now),
            created_org_id: self.created_org_id,
        }
    }
    pub fn item(&self) -> Result<Item, StoreError> {
        Ok(
            Item::new(keys::invitation(self.id), keys::INVITATION, self.version, self)?.with_gsi1(
                keys::org_invitations(self.org_id),
                keys::newest_first(self.created_at, self.id),
            ),
        )
    }
}

/// Bounds and default of an invitation's lifetime.
pub const INVITATION_DEFAULT_HOURS: i64 = 7 * 24;
pub const INVITATION_MIN_HOURS: i64 = 1;
pub const INVITATION_MAX_HOURS: i64 = 30 * 24;
/// The Password Setup link's lifetime (seed 000: "verify within 60 minutes").
pub const PASSWORD_SETUP_MINUTES: i64 = 60;

pub fn invitation_lifetime(hours: Option<i64>) -> Result<Duration, AppError> {
    let h = hours.unwrap_or(INVITATION_DEFAULT_HOURS);
    if !(INVITATION_MIN_HOURS..=INVITATION_MAX_HOURS).contains(&h) {
        return Err(AppError::invalid("expiresInHours must be between 1 and 720 (30 days)"));
    }
    Ok(Duration::hours(h))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Pending,
    Approved,
    Rejected,
}

/// A Partner Manager's request that the platform add a user to their partner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRequest {
    pub id: RequestId,
    pub org_id: OrgId,
    pub email: EmailAddress,
    pub display_name: String,
    pub role: Role,
    pub requested_by: UserId,
    pub created_at: DateTime<Utc>,
    pub state: RequestState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    pub version: u64,
}

impl UserRequest {
    pub fn item(&self) -> Result<Item, StoreError> {
        let mut item = Item::new(keys::user_request(self.id), keys::USER_REQUEST, self.version, self)?.with_gsi1(
            keys::org_user_requests(self.org_id),
            keys::newest_first(self.created_at, self.id),
        );
        if self.state == RequestState::Pending {
            // Sparse: only pending requests are in the platform's queue.
            item = item.with_gsi2(
                keys::PENDING_USER_REQUESTS,
                keys::newest_first(self.created_at, self.id),
            );
        }
        Ok(item)
    }
}

/// What sign-in needs, keyed by email so that one read finds it: which user,
/// which organisation, whether MFA is required, the live password-setup link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Login {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub role: Role,
    pub org_kind: crate::domain::OrgKind,
    pub mfa_required: bool,
    /// Whether the user has set a password (a later link is a reset).
    #[serde(default)]
    pub activated: bool,
    /// The live password link, killed when another is issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_link: Option<Key>,
    /// The invitation that created the user, while it governs their setup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation: Option<InvitationId>,
    /// Suspended for inactivity: sign-in is refused until reinstated.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
    /// Their self-registered organisation waits for the platform's approval.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_approval: bool,
    /// A Model User (seed 002 Step 3): never signs in, never gets a password link.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub template: bool,
}

impl Login {
    pub fn of(u: &crate::domain::User) -> Self {
        Self {
            user_id: u.id,
            org_id: u.org_id,
            role: u.role,
            org_kind: u.org_kind,
            mfa_required: u.mfa_required,
            activated: u.status != crate::domain::UserStatus::Pending,
            setup_link: None,
            invitation: None,
            suspended: u.status == crate::domain::UserStatus::Suspended,
            awaiting_approval: false,
            template: false,
        }
    }
    pub fn item(&self, email: &EmailAddress) -> Result<Item, StoreError> {
        Item::new(keys::login(email), keys::LOGIN, 1, self)
    }
}

/// Hashes of a user's unused recovery codes, keyed by email so that a
/// sign-in reads them with the login record in one round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodes {
    pub user_id: UserId,
    pub hashes: Vec<String>,
}

/// Ten fresh recovery codes (80 bits each, shown once) and their hashes.
pub fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let codes: Vec<String> = (0..10)
        .map(|_| {
            let mut bytes = [0u8; 16];
            rng.fill_bytes(&mut bytes);
            let chars: String = bytes.iter().map(|b| ALPHABET[usize::from(*b) % 32] as char).collect();
            format!("{}-{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12], &chars[12..16])
        })
        .collect();
    let hashes = codes.iter().map(|c| hash_recovery_code(c)).collect();
    (codes, hashes)
}

/// Recovery codes are compared case-insensitively and without dashes or spaces.
pub fn hash_recovery_code(code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hex::encode(Sha256::digest(norm.as_bytes()))
}

/// SHA-256 of a string, hex (TOTP replay keys).
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Wrong passwords given for one email address, whether or not it belongs to
/// anyone (so that a lock says nothing about the address). After
/// [`SignInFailures::FREE`] failures each further one locks the address for
/// 2^(n-5) seconds, up to [`SignInFailures::MAX_LOCK_SECONDS`] (as Cognito
/// does); a right password clears the record, and it expires a day after
/// the last failure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInFailures {
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl SignInFailures {
    /// Failures allowed before the first lock.
    pub const FREE: u32 = 5;
    /// The longest lock: 15 minutes.
    pub const MAX_LOCK_SECONDS: i64 = 15 * 60;
    /// How long a failure is remembered.
    pub const REMEMBERED_HOURS: i64 = 24;

    /// How long the address is locked after `count` failures.
    pub fn lock_seconds(count: u32) -> Option<i64> {
        (count >= Self::FREE).then(|| {
            let n = count - Self::FREE;
            if n >= 10 {
                Self::MAX_LOCK_SECONDS
            } else {
                (1i64 << n).min(Self::MAX_LOCK_SECONDS)
            }
        })
    }

    /// The record after one more failure at `now`.
    pub fn after_failure(&self, now: chrono::DateTime<chrono::Utc>) -> Self {
        let count = self.count.saturating_add(1);
        Self {
            count,
            locked_until: Self::lock_seconds(count).map(|s| now + chrono::Duration::seconds(s)),
        }
    }

    /// Seconds until the address may try again, if it is locked at `now`.
    pub fn retry_after(&self, now: chrono::DateTime<chrono::Utc>) -> Option<u64> {
        self.locked_until.filter(|t| *t > now).map(|t| {
            u64::try_from(((t - now).num_milliseconds() + 999) / 1000)
                .unwrap_or(1)
                .max(1)
        })
    }

    pub fn item(
        &self,
        email: &EmailAddress,
        version: u64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Item, StoreError> {
        Ok(
            Item::new(keys::sign_in_failures(email), keys::SIGN_IN_FAILURES, version, self)?
                .with_ttl((now + chrono::Duration::hours(Self::REMEMBERED_HOURS)).timestamp()),
        )
    }
}

#[cfg(test)]
mod sign_in_failures_tests {
    use super::SignInFailures;

    #[test]
    fn five_free_then_doubling_up_to_fifteen_minutes() {
        let locks: Vec<Option<i64>> = (1..=17).map(SignInFailures::lock_seconds).collect();
        assert_eq!(
            locks,
            vec![
                None,
                None,
                None,
                None,
                Some(1),
                Some(2),
                Some(4),
                Some(8),
                Some(16),
                Some(32),
                Some(64),
                Some(128),
                Some(256),
                Some(512),
                Some(900),
                Some(900),
                Some(900)
            ]
        );
        assert_eq!(SignInFailures::lock_seconds(u32::MAX), Some(900));
    }
}
