//! Connection secrets at rest. Portico needs each connection's secret to
//! sign what it sends and to check what an instance proves, so the secret
//! is encrypted, never stored plain: with KMS in AWS (`PORTICO_SECRETS_KEY`,
//! a key id, ARN or alias), with a key file in the data folder locally. Each
//! secret is bound to its connection (KMS encryption context, AEAD
//! associated data): a sealed secret copied onto another connection does
//! not open.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// A secret as stored: which key sealed it, and the ciphertext (base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sealed {
    pub key: String,
    pub blob: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The key service did not answer, or refused.
    #[error("the secrets key is unavailable: {0}")]
    Unavailable(String),
    /// The sealed secret does not open (another connection's, altered, another key).
    #[error("a sealed secret does not open")]
    Corrupt,
}

/// The port: seal and open a connection's secret, bound to `context`.
#[async_trait]
pub trait Sealer: Send + Sync {
    async fn seal(&self, plain: &[u8], context: &str) -> Result<Sealed, SealError>;
    async fn open(&self, sealed: &Sealed, context: &str) -> Result<Vec<u8>, SealError>;
}

/// The encryption context's (and associated data's) name.
const CONTEXT_NAME: &str = "portico:connection";

/// The local key file: XChaCha20-Poly1305 under a 256-bit key kept in
/// `<data dir>/connection-secrets.key` (mode 0600), created on first use.
pub struct LocalSealer {
    key: chacha20poly1305::Key,
    id: String,
}

impl LocalSealer {
    pub fn load_or_create(dir: &std::path::Path) -> std::io::Result<Self> {
        use rand::RngCore;
        std::fs::create_dir_all(dir)?;
        let path = dir.join("connection-secrets.key");
        let existing: Option<[u8; 32]> = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| STANDARD.decode(s.trim()).ok())
            .and_then(|k| k.try_into().ok());
        let key = match existing {
            Some(k) => k,
            None => {
                let mut k = [0u8; 32];
                rand::rng().fill_bytes(&mut k);
                crate::files::write_private(&path, STANDARD.encode(k).as_bytes())?;
                k
            }
        };
        use sha2::Digest;
        let id = format!("local:{}", &hex::encode(sha2::Sha256::digest(key))[..16]);
        Ok(Self {
            key: chacha20poly1305::Key::from(key),
            id,
        })
    }

    fn aad(context: &str) -> Vec<u8> {
        format!("{CONTEXT_NAME}\0{context}").into_bytes()
    }
}

#[async_trait]
impl Sealer for LocalSealer {
    async fn seal(&self, plain: &[u8], context: &str) -> Result<Sealed, SealError> {
        use chacha20poly1305::XChaCha20Poly1305;
        use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = Self::aad(context);
        let ct = XChaCha20Poly1305::new(&self.key)
            .encrypt(&nonce, Payload { msg: plain, aad: &aad })
            .map_err(|_| SealError::Unavailable("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(Sealed {
            key: self.id.clone(),
            blob: STANDARD.encode(out),
        })
    }

    async fn open(&self, sealed: &Sealed, context: &str) -> Result<Vec<u8>, SealError> {
        use chacha20poly1305::XChaCha20Poly1305;
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        if sealed.key != self.id {
            return Err(SealError::Corrupt);
        }
        let bytes = STANDARD.decode(&sealed.blob).map_err(|_| SealError::Corrupt)?;
        if bytes.len() < 24 {
            return Err(SealError::Corrupt);
        }
        let (nonce, ct) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| SealError::Corrupt)?;
        let aad = Self::aad(context);
        XChaCha20Poly1305::new(&self.key)
            .decrypt(&chacha20poly1305::XNonce::from(nonce), Payload { msg: ct, aad: &aad })
            .map_err(|_| SealError::Corrupt)
    }
}

/// KMS: `Encrypt` and `Decrypt` under one symmetric key, with the
/// connection as encryption context (so CloudTrail names the connection of
/// every use, and a key policy may condition on it).
pub struct KmsSealer {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl KmsSealer {
    pub fn new(client: aws_sdk_kms::Client, key_id: String) -> Self {
        Self { client, key_id }
    }
}

fn kms_error<E: std::error::Error + 'static>(e: aws_sdk_kms::error::SdkError<E>) -> SealError {
    SealError::Unavailable(aws_sdk_kms::error::DisplayErrorContext(e).to_string())
}

#[async_trait]
impl Sealer for KmsSealer {
    async fn seal(&self, plain: &[u8], context: &str) -> Result<Sealed, SealError> {
        let out = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(aws_sdk_kms::primitives::Blob::new(plain))
            .encryption_context(CONTEXT_NAME, context)
            .send()
            .await
            .map_err(kms_error)?;
        let blob = out
            .ciphertext_blob()
            .ok_or_else(|| SealError::Unavailable("KMS answered no ciphertext".into()))?;
        Ok(Sealed {
            key: out.key_id().unwrap_or(&self.key_id).to_string(),
            blob: STANDARD.encode(blob.as_ref()),
        })
    }

    async fn open(&self, sealed: &Sealed, context: &str) -> Result<Vec<u8>, SealError> {
        let blob = STANDARD.decode(&sealed.blob).map_err(|_| SealError::Corrupt)?;
        let out = self
            .client
            .decrypt()
            .key_id(&sealed.key)
            .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(blob))
            .encryption_context(CONTEXT_NAME, context)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_invalid_ciphertext_exception() || s.is_incorrect_key_exception() => SealError::Corrupt,
                _ => kms_error(e),
            })?;
        Ok(out
            .plaintext()
            .ok_or_else(|| SealError::Unavailable("KMS answered no plaintext".into()))?
            .as_ref()
            .to_vec())
    }
}

/// The sealer of a function built without one ([`crate::app::Using`]):
/// every call is refused, and counted.
#[derive(Default)]
pub struct NotLinked {
    pub calls: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl Sealer for NotLinked {
    async fn seal(&self, _: &[u8], _: &str) -> Result<Sealed, SealError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Err(SealError::Unavailable(
            "this function is built without connection secrets".into(),
        ))
    }
    async fn open(&self, _: &Sealed, _: &str) -> Result<Vec<u8>, SealError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Err(SealError::Unavailable(
            "this function is built without connection secrets".into(),
        ))
    }
}
