//! Who is calling. In Lambda: the `sub` claim the API Gateway JWT authorizer
//! verified (from the request context). Locally: a bearer token the local
//! portal signed. Either way the user item is then read and the same
//! [`Principal`] comes out; a user who is not active is refused.

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
use crate::authz::Principal;
use crate::domain::{User, UserId, UserStatus};
use crate::error::AppError;
use crate::store::keys;

/// How requests prove who they are.
#[derive(Clone)]
pub enum Auth {
    /// Trust only the API Gateway JWT authorizer's claims (Lambda).
    ApiGateway,
    /// Verify a bearer token signed by the local portal.
    LocalToken(Arc<LocalTokens>),
}

const LOCAL_ISSUER: &str = "portico-local";
const LOCAL_AUDIENCE: &str = "portico";

#[derive(Debug, Serialize, Deserialize)]
struct LocalClaims {
    sub: String,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
}

/// HS256 development tokens for the local portal. The secret lives in the data
/// folder (created on first start, readable by its owner only).
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
        std::fs::write(&path, b64.encode(secret))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(Self::from_secret(&secret))
    }

    /// A token for `user`, valid for `hours`.
    pub fn issue(&self, user: UserId, hours: i64) -> Result<String, AppError> {
        let now = Utc::now().timestamp();
        let claims = LocalClaims {
            sub: user.to_string(),
            iss: LOCAL_ISSUER.into(),
            aud: LOCAL_AUDIENCE.into(),
            iat: now,
            exp: now + hours * 3600,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("token signing: {e}")))
    }

    fn verify(&self, token: &str) -> Result<String, AppError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[LOCAL_ISSUER]);
        v.set_audience(&[LOCAL_AUDIENCE]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<LocalClaims>(token, &self.decoding, &v)
            .map(|d| d.claims.sub)
            .map_err(|_| AppError::Unauthenticated("The bearer token is not valid or has expired."))
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

fn gateway_subject(parts: &Parts) -> Option<String> {
    match parts.extensions.get::<RequestContext>()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.authorizer.as_ref()?.jwt.as_ref()?.claims.get("sub").cloned(),
        _ => None,
    }
}

/// The subject (user id) the request proves.
fn subject(parts: &Parts, auth: &Auth) -> Result<UserId, AppError> {
    let sub = match auth {
        Auth::ApiGateway => gateway_subject(parts).ok_or(AppError::Unauthenticated(
            "Sign in first: no verified identity came with the request.",
        ))?,
        Auth::LocalToken(tokens) => {
            let token = bearer(parts).ok_or(AppError::Unauthenticated("Send an Authorization: Bearer token."))?;
            tokens.verify(token)?
        }
    };
    UserId::parse(&sub).map_err(|_| AppError::Unauthenticated("The token's subject is not a Portico user."))
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let id = subject(parts, &state.auth)?;
        let user: User = match state.table.get(&keys::user(id)).await? {
            Some(item) => item.decode()?,
            None => return Err(AppError::Unauthenticated("The token's subject is not a Portico user.")),
        };
        if user.status != UserStatus::Active {
            return Err(AppError::Unauthenticated("This account is not active."));
        }
        Ok(Principal {
            user_id: user.id,
            email: user.email,
            org_id: user.org_id,
            org_kind: user.org_kind,
            role: user.role,
        })
    }
}

/// The caller's source IP: API Gateway's `sourceIp` in Lambda, the socket's
/// peer locally. Forwarding headers are not trusted.
#[derive(Debug, Clone)]
pub struct SourceIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for SourceIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(RequestContext::ApiGatewayV2(ctx)) = parts.extensions.get::<RequestContext>()
            && let Some(ip) = &ctx.http.source_ip
        {
            return Ok(SourceIp(ip.clone()));
        }
        if let Some(ConnectInfo(addr)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            return Ok(SourceIp(addr.ip().to_string()));
        }
        Ok(SourceIp("unknown".into()))
    }
}
