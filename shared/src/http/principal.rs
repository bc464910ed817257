//! Who is calling. In Lambda: the claims the API Gateway JWT authorizer
//! verified (from the request context). Locally: a bearer token the local
//! portal signed. Either way the same [`Caller`] comes out, and
//! `ops::authenticate` reads the user to make the `Principal`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use lambda_http::request::RequestContext;

use crate::app::AppState;
use crate::domain::{OrgId, OrgKind, UserId};
use crate::error::AppError;
#[cfg(feature = "local")]
use crate::identity::tokens::{JwtVerifier, LocalTokens};
use crate::identity::{CLAIM_ORG, CLAIM_ORG_KIND, CLAIM_USER, Claimed, unauthenticated_subject};

/// How requests prove who they are.
#[derive(Clone)]
pub enum Auth {
    /// Trust only the API Gateway JWT authorizer's claims (Lambda).
    ApiGateway,
    /// Verify a bearer token signed by the local portal.
    #[cfg(feature = "local")]
    LocalToken(Arc<LocalTokens>),
    /// Either: RS256 Cognito ID tokens go to the JWT verifier (as API
    /// Gateway's authorizer does), HS256 ones to the local tokens (the local
    /// portal on the AWS backend, whose demo users hold local tokens; tests on moto).
    #[cfg(feature = "local")]
    Both(Arc<LocalTokens>, Arc<JwtVerifier>),
}

#[cfg(feature = "local")]
fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

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
    /// For the web pages: what authentication read (see [`Seen`]).
    pub seen: Seen,
}

/// What [`crate::ops::authenticate_full`] read about the caller: the user,
/// their organisation and their session. The web pages' header (who you are,
/// your organisation) and idle-timeout refresh come from it, so a page costs
/// no read besides its operation's. Inactive (kept empty) for API callers.
#[derive(Clone, Default)]
pub struct Seen(Option<Arc<std::sync::Mutex<Option<Viewer>>>>);

/// A signed-in browser user, as authentication read them.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: crate::domain::User,
    pub org: crate::domain::Organization,
    pub session: crate::sessions::Session,
}

impl Viewer {
    /// Who the viewer is, for authorization.
    pub fn principal(&self) -> crate::authz::Principal {
        crate::authz::Principal {
            user_id: self.user.id,
            email: self.user.email.clone(),
            org_id: self.org.id,
            org_kind: self.org.kind,
            role: self.user.role,
            settings_hidden: self.user.hide_org_settings,
        }
    }
}

impl std::fmt::Debug for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Seen(watching)"
        } else {
            "Seen(off)"
        })
    }
}

impl Seen {
    /// A cell that keeps what authentication reads.
    pub fn watching() -> Self {
        Seen(Some(Default::default()))
    }
    /// Keeps `viewer` if watching (built only then).
    pub fn set(&self, viewer: impl FnOnce() -> Viewer) {
        if let Some(cell) = &self.0 {
            *cell.lock().unwrap_or_else(|p| p.into_inner()) = Some(viewer());
        }
    }
    /// What authentication read, if it ran.
    pub fn get(&self) -> Option<Viewer> {
        self.0
            .as_ref()
            .and_then(|cell| cell.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }
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
            #[cfg(feature = "local")]
            Auth::LocalToken(tokens) => {
                let token = bearer(parts).ok_or(AppError::Unauthenticated("Send an Authorization: Bearer token."))?;
                tokens.verify(token)?
            }
            #[cfg(feature = "local")]
            Auth::Both(tokens, verifier) => {
                let token = bearer(parts).ok_or(AppError::Unauthenticated("Send an Authorization: Bearer token."))?;
                if crate::identity::tokens::is_rs256(token) {
                    verifier.verify(token)?
                } else {
                    tokens.verify(token)?
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
            seen: Seen::default(),
        })
    }
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
