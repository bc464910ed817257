//! The keys that sign LogMeIn assertions: ES256 (ECDSA over P-256 with
//! SHA-256), each known by its `kid`, the RFC 7638 thumbprint of its public
//! key. A port with two adapters:
//! - [`KmsSigner`] (AWS): asymmetric KMS keys (`ECC_NIST_P256`,
//!   `SIGN_VERIFY`); `kms:Sign` signs, so the private key never enters the
//!   function;
//! - [`LocalSigner`] (the local portal): key files in
//!   `<data dir>/login-keys/`, created 0600.
//!
//! Which keys are published and which one signs is the key ring, one item
//! in the table ([`KeyRing`]); the rotation operations are in
//! `ops::login_keys`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::{Item, Key, StoreError};

/// Where Portico publishes its keys (under its issuer URL).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// The JWS algorithm of every assertion.
pub const ALG: &str = "ES256";
/// The assertions' JWS `typ` (RFC 8725 §3.11: explicit typing, so a LogMeIn
/// assertion cannot pass for another kind of token).
pub const TYP: &str = "portico-login+jwt";
/// A new key is published this long before it signs, and a retired key
/// stays published this long after it stopped (verifiers cache a JWKS).
pub const OVERLAP_HOURS: i64 = 24;
/// The tag (KMS) that marks a key as one of Portico's login keys: the IAM
/// policy lets the functions sign with, and destroy, only keys so tagged.
pub const PURPOSE_TAG: (&str, &str) = ("portico:purpose", "login-assertions");

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The key service did not answer, or refused.
    #[error("the signing key is unavailable: {0}")]
    Unavailable(String),
    /// A key or signature that does not decode.
    #[error("the signing key answered something unusable: {0}")]
    Malformed(String),
}

/// A P-256 public key as a JWK (RFC 7517/7518), with its `kid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwk {
    /// `EC`.
    #[schema(example = "EC")]
    pub kty: String,
    /// `P-256`.
    #[schema(example = "P-256")]
    pub crv: String,
    /// The x coordinate, base64url.
    pub x: String,
    /// The y coordinate, base64url.
    pub y: String,
    /// The key's id: its RFC 7638 thumbprint.
    pub kid: String,
    /// `ES256`.
    #[schema(example = "ES256")]
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    pub use_: String,
}

impl Jwk {
    /// The JWK of `key`, its `kid` the RFC 7638 SHA-256 thumbprint.
    pub fn of(key: &p256::PublicKey) -> Self {
        use sha2::Digest;
        // Uncompressed SEC1: 0x04, then x and y, 32 bytes each.
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let point = key.to_encoded_point(false);
        let bytes = point.as_bytes();
        let (x, y) = (B64.encode(&bytes[1..33]), B64.encode(&bytes[33..65]));
        // The thumbprint's input: the required members, sorted, no spaces.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = B64.encode(sha2::Sha256::digest(canonical.as_bytes()));
        Self {
            kty: "EC".into(),
            crv: "P-256".into(),
            x,
            y,
            kid,
            alg: ALG.into(),
            use_: "sig".into(),
        }
    }
}

/// A JWK set: what `GET /.well-known/jwks.json` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// A key pair just made: where its private key is, and its public key.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// A KMS key ARN, or `local:<file stem>`.
    pub key_ref: String,
    pub jwk: Jwk,
}

/// The port: make keys, sign with them, destroy them.
#[async_trait]
pub trait Signer: Send + Sync {
    /// Makes a new key pair.
    async fn create(&self) -> Result<NewKey, SignerError>;
    /// The public key of an existing key (the ring's first key, when the
    /// deployment provides one).
    async fn public_key(&self, key_ref: &str) -> Result<Jwk, SignerError>;
    /// Signs `message` with the key at `key_ref`: the JWS ES256 signature
    /// (r and s, 32 bytes each).
    async fn sign(&self, key_ref: &str, message: &[u8]) -> Result<Vec<u8>, SignerError>;
    /// Destroys a key that is no longer published (never one the
    /// deployment provided: that one is the deployment's to remove).
    async fn destroy(&self, key_ref: &str) -> Result<(), SignerError>;
    /// The key the deployment provides to start the ring with, if any (AWS:
    /// the template's key); otherwise the first key is made.
    fn provided(&self) -> Option<String>;
}

/// JWS compact serialisation of `claims`, signed with `key` (ES256, its `kid`).
pub async fn sign_jwt(signer: &dyn Signer, key: &RingKey, claims: &impl Serialize) -> Result<String, SignerError> {
    let header = serde_json::json!({ "alg": ALG, "typ": TYP, "kid": key.jwk.kid });
    let malformed = |e: serde_json::Error| SignerError::Malformed(e.to_string());
    let input = format!(
        "{}.{}",
        B64.encode(serde_json::to_vec(&header).map_err(malformed)?),
        B64.encode(serde_json::to_vec(claims).map_err(malformed)?)
    );
    let signature = signer.sign(&key.key_ref, input.as_bytes()).await?;
    Ok(format!("{input}.{}", B64.encode(signature)))
}

// The key ring -----------------------------------------------------------------

/// One key of the ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RingKey {
    /// Where the private key is (a KMS key ARN, or `local:<stem>`).
    pub key_ref: String,
    pub jwk: Jwk,
    /// Since when verifiers can fetch it.
    pub published_at: DateTime<Utc>,
    /// Since when it signs (none: staged, not signing yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_since: Option<DateTime<Utc>>,
    /// When it stopped signing (still published until unpublished).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<DateTime<Utc>>,
}

/// Where a key stands in its rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Published, not signing yet.
    Next,
    /// Signing.
    Current,
    /// Retired: published, no longer signing.
    Previous,
}

impl RingKey {
    pub fn state(&self) -> KeyState {
        match (self.signing_since, self.retired_at) {
            (_, Some(_)) => KeyState::Previous,
            (Some(_), None) => KeyState::Current,
            (None, None) => KeyState::Next,
        }
    }
}

/// The keys that are published, and the one that signs: one item, read
/// with the LogMeIn request's other items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct KeyRing {
    pub keys: Vec<RingKey>,
}

impl KeyRing {
    pub fn key() -> Key {
        crate::store::keys::login_keys()
    }

    pub fn item(&self, version: u64) -> Result<Item, StoreError> {
        Item::new(Self::key(), crate::store::keys::LOGIN_KEYS, version, self)
    }

    fn with(&self, state: KeyState) -> Option<&RingKey> {
        self.keys.iter().find(|k| k.state() == state)
    }
    /// The key that signs now.
    pub fn current(&self) -> Option<&RingKey> {
        self.with(KeyState::Current)
    }
    /// The staged key, published ahead of signing.
    pub fn next(&self) -> Option<&RingKey> {
        self.with(KeyState::Next)
    }
    /// The retired key, still published.
    pub fn previous(&self) -> Option<&RingKey> {
        self.with(KeyState::Previous)
    }
    pub fn find(&self, kid: &str) -> Option<&RingKey> {
        self.keys.iter().find(|k| k.jwk.kid == kid)
    }

    /// Every published key: next, current and previous.
    pub fn jwks(&self) -> Jwks {
        let mut keys: Vec<&RingKey> = self.keys.iter().collect();
        keys.sort_by_key(|k| match k.state() {
            KeyState::Current => 0,
            KeyState::Next => 1,
            KeyState::Previous => 2,
        });
        Jwks {
            keys: keys.into_iter().map(|k| k.jwk.clone()).collect(),
        }
    }

    /// When the staged key may start signing (published long enough).
    pub fn activate_from(key: &RingKey) -> DateTime<Utc> {
        key.published_at + Duration::hours(OVERLAP_HOURS)
    }
    /// When a retired key may be unpublished (retired long enough).
    pub fn unpublish_from(key: &RingKey) -> Option<DateTime<Utc>> {
        key.retired_at.map(|t| t + Duration::hours(OVERLAP_HOURS))
    }
}

// The local adapter --------------------------------------------------------------

/// Key files in `<data dir>/login-keys/<stem>.pem` (PKCS#8, mode 0600).
pub struct LocalSigner {
    dir: PathBuf,
    loaded: Mutex<HashMap<String, p256::ecdsa::SigningKey>>,
}

impl LocalSigner {
    pub fn new(data_dir: &std::path::Path) -> Self {
        Self {
            dir: data_dir.join("login-keys"),
            loaded: Mutex::default(),
        }
    }

    fn path(&self, key_ref: &str) -> Result<PathBuf, SignerError> {
        let stem = key_ref
            .strip_prefix("local:")
            .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            .ok_or_else(|| SignerError::Unavailable(format!("not a local key: {key_ref}")))?;
        Ok(self.dir.join(format!("{stem}.pem")))
    }

    fn load(&self, key_ref: &str) -> Result<p256::ecdsa::SigningKey, SignerError> {
        use p256::pkcs8::DecodePrivateKey;
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = loaded.get(key_ref) {
            return Ok(k.clone());
        }
        let pem = std::fs::read_to_string(self.path(key_ref)?)
            .map_err(|e| SignerError::Unavailable(format!("the key file of {key_ref}: {e}")))?;
        let key = p256::ecdsa::SigningKey::from_pkcs8_pem(&pem).map_err(|e| SignerError::Malformed(e.to_string()))?;
        loaded.insert(key_ref.to_string(), key.clone());
        Ok(key)
    }
}

#[async_trait]
impl Signer for LocalSigner {
    async fn create(&self) -> Result<NewKey, SignerError> {
        use p256::pkcs8::EncodePrivateKey;
        use rand::RngCore;
        let key = loop {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            // All but a 2^-128 sliver of 32-byte strings are valid scalars.
            if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&bytes) {
                break k;
            }
        };
        let key_ref = format!("local:{}", uuid::Uuid::now_v7());
        let pem = key
            .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
            .map_err(|e| SignerError::Malformed(e.to_string()))?;
        let unavailable = |e: std::io::Error| SignerError::Unavailable(format!("writing a key file: {e}"));
        std::fs::create_dir_all(&self.dir).map_err(unavailable)?;
        crate::files::write_private(&self.path(&key_ref)?, pem.as_bytes()).map_err(unavailable)?;
        let jwk = Jwk::of(&p256::PublicKey::from(key.verifying_key()));
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key_ref.clone(), key);
        Ok(NewKey { key_ref, jwk })
    }

    async fn public_key(&self, key_ref: &str) -> Result<Jwk, SignerError> {
        Ok(Jwk::of(&p256::PublicKey::from(self.load(key_ref)?.verifying_key())))
    }

    async fn sign(&self, key_ref: &str, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        use p256::ecdsa::signature::Signer as _;
        let signature: p256::ecdsa::Signature = self.load(key_ref)?.sign(message);
        Ok(signature.to_bytes().to_vec())
    }

    async fn destroy(&self, key_ref: &str) -> Result<(), SignerError> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner()).remove(key_ref);
        match std::fs::remove_file(self.path(key_ref)?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(SignerError::Unavailable(format!("removing a key file: {e}")))
            }
            _ => Ok(()),
        }
    }

    fn provided(&self) -> Option<String> {
        None
    }
}

// The KMS adapter ----------------------------------------------------------------

/// Asymmetric KMS keys. The deployment's first key (`PORTICO_LOGIN_KEY`,
/// the template's) starts the ring; rotation makes more with `CreateKey`,
/// tagged [`PURPOSE_TAG`], and schedules their deletion when unpublished.
pub struct KmsSigner {
    client: aws_sdk_kms::Client,
    provided: Option<String>,
}

/// Days KMS waits before deleting an unpublished key (the most it allows:
/// time to notice a mistake; the key is disabled meanwhile).
pub const KMS_DELETION_DAYS: i32 = 30;

impl KmsSigner {
    pub fn new(client: aws_sdk_kms::Client, provided: Option<String>) -> Self {
        Self { client, provided }
    }
}

fn kms_error<E: std::error::Error + 'static>(e: aws_sdk_kms::error::SdkError<E>) -> SignerError {
    SignerError::Unavailable(aws_sdk_kms::error::DisplayErrorContext(e).to_string())
}

/// The JWS signature (r ‖ s) of a DER ECDSA signature, with s in its low
/// form (both verify; some verifiers accept only the low one).
pub fn jws_signature(der: &[u8]) -> Result<Vec<u8>, SignerError> {
    let sig = p256::ecdsa::Signature::from_der(der).map_err(|e| SignerError::Malformed(e.to_string()))?;
    let sig = sig.normalize_s().unwrap_or(sig);
    Ok(sig.to_bytes().to_vec())
}

/// The JWK of a DER SubjectPublicKeyInfo (what KMS's `GetPublicKey` answers).
pub fn jwk_of_spki(der: &[u8]) -> Result<Jwk, SignerError> {
    use p256::pkcs8::DecodePublicKey;
    let key = p256::PublicKey::from_public_key_der(der).map_err(|e| SignerError::Malformed(e.to_string()))?;
    Ok(Jwk::of(&key))
}

#[async_trait]
impl Signer for KmsSigner {
    async fn create(&self) -> Result<NewKey, SignerError> {
        use aws_sdk_kms::types::{KeySpec, KeyUsageType, Tag};
        let tag = Tag::builder()
            .tag_key(PURPOSE_TAG.0)
            .tag_value(PURPOSE_TAG.1)
            .build()
            .map_err(|e| SignerError::Malformed(e.to_string()))?;
        let out = self
            .client
            .create_key()
            .key_spec(KeySpec::EccNistP256)
            .key_usage(KeyUsageType::SignVerify)
            .description("Portico: signs LogMeIn assertions (ES256)")
            .tags(tag)
            .send()
            .await
            .map_err(kms_error)?;
        let key_ref = out
            .key_metadata()
            .and_then(|m| m.arn())
            .ok_or_else(|| SignerError::Malformed("CreateKey answered no key ARN".into()))?
            .to_string();
        let jwk = self.public_key(&key_ref).await?;
        Ok(NewKey { key_ref, jwk })
    }

    async fn public_key(&self, key_ref: &str) -> Result<Jwk, SignerError> {
        let out = self
            .client
            .get_public_key()
            .key_id(key_ref)
            .send()
            .await
            .map_err(kms_error)?;
        let der = out
            .public_key()
            .ok_or_else(|| SignerError::Malformed("GetPublicKey answered no key".into()))?;
        jwk_of_spki(der.as_ref())
    }

    async fn sign(&self, key_ref: &str, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
        let out = self
            .client
            .sign()
            .key_id(key_ref)
            .message(aws_sdk_kms::primitives::Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(kms_error)?;
        let der = out
            .signature()
            .ok_or_else(|| SignerError::Malformed("Sign answered no signature".into()))?;
        jws_signature(der.as_ref())
    }

    async fn destroy(&self, key_ref: &str) -> Result<(), SignerError> {
        if self.provided.as_deref() == Some(key_ref) {
            return Ok(());
        }
        // The key id (KMS takes it or the ARN; moto 5 only the id).
        let id = key_ref.rsplit_once(":key/").map_or(key_ref, |(_, id)| id);
        self.client
            .schedule_key_deletion()
            .key_id(id)
            .pending_window_in_days(KMS_DELETION_DAYS)
            .send()
            .await
            .map_err(kms_error)?;
        Ok(())
    }

    fn provided(&self) -> Option<String> {
        self.provided.clone()
    }
}

/// The signer of a function built without one ([`crate::app::Using`]):
/// every call is refused, and counted.
#[derive(Default)]
pub struct NotLinked {
    pub calls: std::sync::atomic::AtomicUsize,
}

impl NotLinked {
    fn refuse(&self) -> SignerError {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        SignerError::Unavailable("this function is built without the login signer".into())
    }
}

#[async_trait]
impl Signer for NotLinked {
    async fn create(&self) -> Result<NewKey, SignerError> {
        Err(self.refuse())
    }
    async fn public_key(&self, _: &str) -> Result<Jwk, SignerError> {
        Err(self.refuse())
    }
    async fn sign(&self, _: &str, _: &[u8]) -> Result<Vec<u8>, SignerError> {
        Err(self.refuse())
    }
    async fn destroy(&self, _: &str) -> Result<(), SignerError> {
        Err(self.refuse())
    }
    fn provided(&self) -> Option<String> {
        None
    }
}
