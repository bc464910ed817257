//! Who is calling. In Lambda: the claims the API Gateway JWT authorizer
//! verified (from the request context). Locally: a bearer token the local
//! portal signed. Either way the same [`Caller`] comes out, and
//! `ops::authenticate` reads the user to make the `Principal`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lambda_http::request::RequestContext;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::domain::{OrgId, OrgKind, UserId};
use crate::error::AppError;

/// How requests prove who they are.
#[derive(Clone)]
pub enum Auth {
    /// Trust only the API Gateway JWT authorizer's claims (Lambda).
    ApiGateway,
    /// Verify a bearer token signed by the local portal.
    LocalToken(Arc<LocalTokens>),
    /// Verify a bearer Cognito ID token against the pool's keys, as API
    /// Gateway's JWT authorizer does (the local portal on the AWS backend, tests on moto).
    Jwt(Arc<JwtVerifier>),
    /// Either: RS256 tokens go to the JWT verifier, HS256 ones to the local
    /// tokens (the local portal on the AWS backend, whose demo users hold local tokens).
    Both(Arc<LocalTokens>, Arc<JwtVerifier>),
}

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
        let body = reqwest::get(jwks_url)
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("JWKS fetch: {e}"))?
            .text()
            .await
            .map_err(|e| format!("JWKS read: {e}"))?;
        Self::from_jwks(&body, issuer, audience)
    }

    fn verify(&self, token: &str) -> Result<std::collections::HashMap<String, serde_json::Value>, AppError> {
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

    fn verify(&self, token: &str) -> Result<LocalClaims, AppError> {
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

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// Claim names in Cognito ID tokens: Portico's user id is the Cognito
/// username; the organisation is a read-only custom attribute.
pub const CLAIM_USER: &str = "cognito:username";
pub const CLAIM_ORG: &str = "custom:org";
/// The organisation's kind, a read-only custom attribute too.
pub const CLAIM_ORG_KIND: &str = "custom:org_kind";

/// What the request proves about its caller, before anything is read: the
/// user and organisation its verified token names, and where it came from.
/// [`crate::ops::authenticate`] turns it into a [`crate::authz::Principal`]
/// with one read.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub source_ip: String,
    /// When the caller last signed in (epoch seconds), if the token says.
    pub auth_time: Option<i64>,
    /// The organisation's kind as the token claims it: only a hint for
    /// starting reads early; authorization uses the stored organisation.
    pub org_kind: Option<OrgKind>,
    /// The request's activity record write, if one is due (see `inactivity`).
    pub touch: crate::inactivity::PendingTouch,
    /// The session the token belongs to (`origin_jti` or `jti`); a token
    /// without one names no session and is refused by `authenticate`.
    pub session_id: Option<String>,
}

fn unauthenticated_subject() -> AppError {
    AppError::Unauthenticated("The token does not name a Portico user.")
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let SourceIp(source_ip) = SourceIp::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|e| match e {});
        let Claimed {
            user,
            org,
            auth_time,
            org_kind,
            session_id,
        } = match &state.auth {
            Auth::ApiGateway => {
                let claims = match parts.extensions.get::<RequestContext>() {
                    Some(RequestContext::ApiGatewayV2(ctx)) => {
                        ctx.authorizer.as_ref().and_then(|a| a.jwt.as_ref()).map(|j| &j.claims)
                    }
                    _ => None,
                }
                .ok_or(AppError::Unauthenticated(
                    "Sign in first: no verified identity came with the request.",
                ))?;
                // The authorizer accepts access tokens too (their `client_id`
                // matches the audience): only ID tokens name a Portico user.
                if claims.get("token_use").map(String::as_str) != Some("id") {
                    return Err(AppError::Unauthenticated("Send an ID token."));
                }
                let get = |k: &str| claims.get(k).cloned().ok_or_else(unauthenticated_subject);
                let kind = claims
                    .get(CLAIM_ORG_KIND)
                    .and_then(|k| serde_json::from_value(serde_json::Value::String(k.clone())).ok());
                Claimed {
                    user: get(CLAIM_USER)?,
                    org: get(CLAIM_ORG)?,
                    auth_time: claims.get("auth_time").and_then(|t| t.parse().ok()),
                    org_kind: kind,
                    session_id: claims.get("origin_jti").or_else(|| claims.get("jti")).cloned(),
                }
            }
            Auth::LocalToken(tokens) => {
                let token = bearer(parts).ok_or(AppError::Unauthenticated("Send an Authorization: Bearer token."))?;
                tokens.verify(token)?.into()
            }
            Auth::Jwt(verifier) => jwt_claims(parts, verifier)?,
            Auth::Both(tokens, verifier) => {
                let token = bearer(parts).ok_or(AppError::Unauthenticated("Send an Authorization: Bearer token."))?;
                let rs256 = jsonwebtoken::decode_header(token).is_ok_and(|h| h.alg == Algorithm::RS256);
                if rs256 {
                    jwt_claims(parts, verifier)?
                } else {
                    tokens.verify(token)?.into()
                }
            }
        };
        Ok(Caller {
            user_id: UserId::parse(&user).map_err(|_| unauthenticated_subject())?,
            org_id: OrgId::parse(&org).map_err(|_| unauthenticated_subject())?,
            source_ip,
            auth_time,
            org_kind,
            touch: parts
                .extensions
                .get::<crate::inactivity::PendingTouch>()
                .cloned()
                .unwrap_or_default(),
            session_id,
        })
    }
}

/// What a verified token says of its caller.
struct Claimed {
    user: String,
    org: String,
    auth_time: Option<i64>,
    org_kind: Option<OrgKind>,
    session_id: Option<String>,
}

impl From<LocalClaims> for Claimed {
    fn from(c: LocalClaims) -> Self {
        Self {
            user: c.sub,
            org: c.org,
            auth_time: Some(c.auth_time),
            org_kind: c.kind,
            session_id: c.jti,
        }
    }
}

fn jwt_claims(parts: &Parts, verifier: &JwtVerifier) -> Result<Claimed, AppError> {
    let token = bearer(parts).ok_or(AppError::Unauthenticated("Send an Authorization: Bearer token."))?;
    let claims = verifier.verify(token)?;
    let get = |k: &str| {
        claims
            .get(k)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(unauthenticated_subject)
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

/// The caller's source IP: API Gateway's `sourceIp` in Lambda, the socket's
/// peer locally. `X-Forwarded-For` counts only when the peer is the
/// configured trusted proxy (local portal only), and then its last entry.
#[derive(Debug, Clone)]
pub struct SourceIp(pub String);

impl FromRequestParts<AppState> for SourceIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(SourceIp::of(
            &parts.extensions,
            &parts.headers,
            state.settings.trusted_proxy,
        ))
    }
}

impl SourceIp {
    /// The source IP of a request with these extensions and headers.
    pub fn of(
        extensions: &axum::http::Extensions,
        headers: &axum::http::HeaderMap,
        trusted_proxy: Option<std::net::IpAddr>,
    ) -> Self {
        if let Some(RequestContext::ApiGatewayV2(ctx)) = extensions.get::<RequestContext>()
            && let Some(ip) = &ctx.http.source_ip
        {
            return SourceIp(ip.clone());
        }
        if let Some(ConnectInfo(addr)) = extensions.get::<ConnectInfo<SocketAddr>>() {
            if trusted_proxy == Some(addr.ip())
                && let Some(forwarded) = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok())
                && let Some(last) = forwarded
                    .rsplit(',')
                    .next()
                    .and_then(|ip| ip.trim().parse::<std::net::IpAddr>().ok())
            {
                return SourceIp(last.to_string());
            }
            return SourceIp(addr.ip().to_string());
        }
        SourceIp("unknown".into())
    }
}
