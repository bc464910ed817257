//! Token code for the local portal and the tests (the `local` feature):
//! HS256 tokens the local portal signs, standing in for Cognito's ID tokens,
//! and an RS256 verifier for Cognito ID tokens that does what API Gateway's
//! JWT authorizer does in AWS. Lambdas never verify tokens themselves.

use std::path::Path;

use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::{CLAIM_ORG, CLAIM_ORG_KIND, CLAIM_USER, Claimed};
use crate::domain::{OrgId, OrgKind, UserId};
use crate::error::AppError;

/// RS256 ID-token verification against a JWKS (issuer, audience, `token_use=id`).
pub struct JwtVerifier {
    keys: std::collections::HashMap<String, DecodingKey>,
    issuer: String,
    audience: String,
}

impl JwtVerifier {
    pub fn from_jwks(jwks: &str, issuer: impl Into<String>, audience: impl Into<String>) -> Result<Self, String> {
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(jwks).map_err(|e| format!("JWKS: {e}"))?;
        let mut keys = std::collections::HashMap::new();
        for jwk in &set.keys {
            let kid = jwk.common.key_id.clone().unwrap_or_default();
            keys.insert(kid, DecodingKey::from_jwk(jwk).map_err(|e| format!("JWKS key: {e}"))?);
        }
        Ok(Self {
            keys,
            issuer: issuer.into(),
            audience: audience.into(),
        })
    }

    /// Fetches the pool's JWKS (`<issuer>/.well-known/jwks.json`, or `jwks_url`).
    pub async fn fetch(jwks_url: &str, issuer: impl Into<String>, audience: impl Into<String>) -> Result<Self, String> {
        crate::outbound::install_tls_provider();
        let body = reqwest::get(jwks_url)
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("JWKS fetch: {e}"))?
            .text()
            .await
            .map_err(|e| format!("JWKS read: {e}"))?;
        Self::from_jwks(&body, issuer, audience)
    }

    fn verify_raw(&self, token: &str) -> Result<std::collections::HashMap<String, serde_json::Value>, AppError> {
        let bad = || AppError::Unauthenticated("The bearer token is not valid or has expired.");
        let header = jsonwebtoken::decode_header(token).map_err(|_| bad())?;
        let key = self
            .keys
            .get(header.kid.as_deref().unwrap_or_default())
            .ok_or_else(bad)?;
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "iat"]);
        v.validate_nbf = true;
        let claims = jsonwebtoken::decode::<std::collections::HashMap<String, serde_json::Value>>(token, key, &v)
            .map_err(|_| bad())?
            .claims;
        if claims.get("token_use").and_then(|t| t.as_str()) != Some("id") {
            return Err(bad());
        }
        let time = |k: &str| claims.get(k).and_then(|t| t.as_i64());
        check_times(time("iat"), time("exp"), COGNITO_TOKEN_SECONDS)?;
        Ok(claims)
    }
}

/// The lifetime of the ID tokens the template's app client issues.
pub const COGNITO_TOKEN_SECONDS: i64 = 3600;
/// Clock skew tolerated on `iat` and `nbf`.
const LEEWAY_SECONDS: i64 = 60;

/// Refuses a token issued in the future or living longer than Portico issues
/// tokens for (`exp` itself is checked by the verifier).
fn check_times(iat: Option<i64>, exp: Option<i64>, max_lifetime: i64) -> Result<(), AppError> {
    let bad = AppError::Unauthenticated("The bearer token is not valid or has expired.");
    let (Some(iat), Some(exp)) = (iat, exp) else {
        return Err(bad);
    };
    if iat > Utc::now().timestamp() + LEEWAY_SECONDS || exp - iat > max_lifetime || exp <= iat {
        return Err(bad);
    }
    Ok(())
}

const LOCAL_ISSUER: &str = "portico-local";
const LOCAL_AUDIENCE: &str = "portico";

#[derive(Debug, Serialize, Deserialize)]
struct LocalClaims {
    sub: String,
    org: String,
    /// The organisation's kind (lets listings start before the user is read).
    #[serde(default)]
    kind: Option<OrgKind>,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
    /// When the user last proved password (and MFA): "fresh sign-in" checks use it.
    auth_time: i64,
    /// The session this token belongs to (see `sessions`).
    #[serde(default)]
    jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
}

/// A token the local portal signed, and the session it opens.
pub struct Issued {
    pub token: String,
    pub session_id: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").finish_non_exhaustive()
    }
}

/// HS256 tokens for the local portal, standing in for Cognito's ID tokens.
/// The secret lives in the data folder (created on first start, readable by
/// its owner only).
pub struct LocalTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl LocalTokens {
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn load_or_create(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("local-token-secret");
        let b64 = base64::engine::general_purpose::STANDARD;
        if let Ok(existing) = std::fs::read_to_string(&path)
            && let Ok(secret) = b64.decode(existing.trim())
            && secret.len() >= 32
        {
            return Ok(Self::from_secret(&secret));
        }
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        crate::files::write_private(&path, b64.encode(secret).as_bytes())?;
        Ok(Self::from_secret(&secret))
    }

    /// A token for `user` of `org`, valid for `minutes`, signed in now. It
    /// works only once its session is open (`sessions::open`).
    pub fn issue(&self, user: UserId, org: OrgId, kind: OrgKind, minutes: i64) -> Result<Issued, AppError> {
        let now = Utc::now().timestamp();
        let jti = uuid::Uuid::new_v4().to_string();
        let claims = LocalClaims {
            sub: user.to_string(),
            org: org.to_string(),
            kind: Some(kind),
            iss: LOCAL_ISSUER.into(),
            aud: LOCAL_AUDIENCE.into(),
            iat: now,
            exp: now + minutes * 60,
            auth_time: now,
            jti: Some(jti.clone()),
            nbf: None,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("token signing: {e}")))?;
        Ok(Issued { token, session_id: jti })
    }

    /// Signs arbitrary claims (tests forge tokens with it).
    pub fn sign_claims(&self, claims: &serde_json::Value) -> Result<String, AppError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("token signing: {e}")))
    }

    fn verify_raw(&self, token: &str) -> Result<LocalClaims, AppError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[LOCAL_ISSUER]);
        v.set_audience(&[LOCAL_AUDIENCE]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.validate_nbf = true;
        let c = jsonwebtoken::decode::<LocalClaims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|_| AppError::Unauthenticated("The bearer token is not valid or has expired."))?;
        check_times(Some(c.iat), Some(c.exp), crate::sessions::MAX_TOKEN_SECONDS)?;
        Ok(c)
    }
}

impl LocalTokens {
    /// What a token this portal signed says of its caller.
    pub fn verify(&self, token: &str) -> Result<Claimed, AppError> {
        let c = self.verify_raw(token)?;
        Ok(Claimed {
            user: c.sub,
            org: c.org,
            auth_time: Some(c.auth_time),
            org_kind: c.kind,
            session_id: c.jti,
        })
    }
}

impl JwtVerifier {
    /// What a Cognito ID token says of its caller.
    pub fn verify(&self, token: &str) -> Result<Claimed, AppError> {
        let claims = self.verify_raw(token)?;
        let get = |k: &str| {
            claims
                .get(k)
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .ok_or_else(super::unauthenticated_subject)
        };
        let kind = claims
            .get(CLAIM_ORG_KIND)
            .and_then(|k| serde_json::from_value(k.clone()).ok());
        let session_id = claims
            .get("origin_jti")
            .or_else(|| claims.get("jti"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        Ok(Claimed {
            user: get(CLAIM_USER)?,
            org: get(CLAIM_ORG)?,
            auth_time: claims.get("auth_time").and_then(|t| t.as_i64()),
            org_kind: kind,
            session_id,
        })
    }
}

/// Whether a token is RS256-signed (Cognito's) rather than HS256 (the local portal's).
pub fn is_rs256(token: &str) -> bool {
    jsonwebtoken::decode_header(token).is_ok_and(|h| h.alg == Algorithm::RS256)
}
