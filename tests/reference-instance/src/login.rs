//! The instance side of LogMeIn (`docs/instance-integration.md`, "LogMeIn"):
//! the partner user's browser POSTs Portico's assertion here as a form
//! field; the instance
//! 1. finds the key named by the assertion's `kid` in Portico's JWKS, kept
//!    for 300 s and fetched again for a `kid` it does not know (at most once
//!    a minute);
//! 2. checks the ES256 signature (with the `jsonwebtoken` crate, not
//!    Portico's code), `typ`, `iss`, `aud` (exactly its id), `exp` and
//!    `iat` (60 s of clock skew at most), and that `sub` is its Partner
//!    Support profile;
//! 3. keeps each `jti` until `exp` plus the 60 s of skew and refuses it a
//!    second time;
//! 4. opens a session as the Partner Support profile, whose pages show a
//!    banner naming the partner user acting, which cannot be dismissed.

use std::collections::HashMap;

use axum::Form;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use portico_core::instances::SupportProfile;
use portico_core::login_keys::TYP;
use portico_core::ops::logmein::LoginClaims;

use crate::{Instance, escape};

/// How long a fetched JWKS is used before it is fetched again.
pub const JWKS_CACHE_SECONDS: i64 = 300;
/// An unknown `kid` fetches the JWKS again, at most this often.
pub const REFETCH_AT_MOST_EVERY_SECONDS: i64 = 60;
/// Clock skew tolerated on `exp` and `iat`.
pub const SKEW_SECONDS: i64 = 60;

/// A session opened by an assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerSession {
    pub profile: String,
    pub acting_email: String,
    pub acting_org: String,
    pub roles: Vec<String>,
    /// What the partner user's delegated roles allow here: the session is
    /// limited to them (this instance shows them in the banner).
    pub capabilities: Vec<String>,
    pub reason: Option<String>,
    pub jti: String,
}

#[derive(Default)]
pub(crate) struct State {
    /// The JWKS and when it was fetched.
    jwks: Option<(JwkSet, i64)>,
    /// When the JWKS was last fetched (for the once-a-minute limit).
    last_fetch: Option<i64>,
    /// How many times it was fetched (tests).
    fetches: u64,
    /// `jti` → its `exp`.
    used: HashMap<String, i64>,
    /// Session id → session.
    sessions: HashMap<String, PartnerSession>,
    /// Where Portico issues from, when it differs from where it is reached.
    issuer: Option<String>,
}

impl Instance {
    /// The issuer assertions must name (default: the Portico base URL given to `set_portico`).
    pub fn set_issuer(&self, issuer: &str) {
        self.inner().login.issuer = Some(issuer.trim_end_matches('/').to_string());
    }
    /// Sessions opened by assertions, so far.
    pub fn partner_sessions(&self) -> Vec<PartnerSession> {
        self.inner().login.sessions.values().cloned().collect()
    }
    /// How many times the JWKS was fetched.
    pub fn jwks_fetches(&self) -> u64 {
        self.inner().login.fetches
    }
    /// Redeems an assertion as the login endpoint does: the new session's
    /// id, or why not (the status and the reason).
    pub async fn redeem(&self, assertion: &str) -> Result<String, (StatusCode, String)> {
        let refused = |why: &str| (StatusCode::UNAUTHORIZED, why.to_string());
        let head = jsonwebtoken::decode_header(assertion).map_err(|_| refused("not an assertion"))?;
        if head.alg != Algorithm::ES256 || head.typ.as_deref() != Some(TYP) {
            return Err(refused("not a Portico LogMeIn assertion (alg, typ)"));
        }
        let kid = head.kid.ok_or_else(|| refused("the assertion names no key"))?;
        let key = self.key(&kid).await.map_err(|e| refused(&e))?;
        let (setup, issuer) = {
            let inner = self.inner();
            let issuer = inner.login.issuer.clone().or_else(|| inner.portico.clone());
            (inner.setup.clone(), issuer)
        };
        let setup = setup.ok_or((StatusCode::SERVICE_UNAVAILABLE, "not set up yet".to_string()))?;
        let issuer = issuer.ok_or((StatusCode::SERVICE_UNAVAILABLE, "no Portico configured".to_string()))?;
        let mut v = Validation::new(Algorithm::ES256);
        v.set_audience(&[&setup.instance_id]);
        v.set_issuer(&[&issuer]);
        v.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub", "jti"]);
        // Time is checked below against the instance's clock (tests share Portico's).
        v.validate_exp = false;
        v.validate_nbf = false;
        let claims = jsonwebtoken::decode::<LoginClaims>(assertion, &key, &v)
            .map_err(|e| refused(&format!("the assertion does not hold: {e}")))?
            .claims;
        let now = self.now();
        if claims.exp + SKEW_SECONDS < now {
            return Err(refused("the assertion has expired"));
        }
        if claims.iat > now + SKEW_SECONDS || claims.exp - claims.iat > 300 {
            return Err(refused("the assertion's times are not believable"));
        }
        let expected = SupportProfile::subject(
            setup
                .instance_id
                .parse()
                .map_err(|_| refused("this instance's id is not Portico's"))?,
        );
        let mut inner = self.inner();
        let profile = inner.support.as_ref().map(|p| p.subject.clone()).ok_or((
            StatusCode::FORBIDDEN,
            "this instance has no Partner Support profile".to_string(),
        ))?;
        if claims.sub != expected || claims.sub != profile {
            return Err(refused(
                "the assertion is not for this instance's Partner Support profile",
            ));
        }
        let state = &mut inner.login;
        state.used.retain(|_, exp| *exp + SKEW_SECONDS >= now);
        if state.used.insert(claims.jti.clone(), claims.exp).is_some() {
            return Err(refused("this assertion was used already"));
        }
        let id = uuid::Uuid::new_v4().to_string();
        state.sessions.insert(
            id.clone(),
            PartnerSession {
                profile: claims.sub,
                acting_email: claims.act.email,
                acting_org: claims.act.org_name,
                roles: claims.roles,
                capabilities: claims.capabilities,
                reason: claims.reason,
                jti: claims.jti,
            },
        );
        Ok(id)
    }

    /// The key `kid` from the JWKS: the cached set if it has it and is
    /// fresh, else fetched again (an unknown `kid` at most once a minute).
    async fn key(&self, kid: &str) -> Result<DecodingKey, String> {
        let now = self.now();
        let (cached, may_fetch, portico) = {
            let inner = self.inner();
            let s = &inner.login;
            let cached = s
                .jwks
                .as_ref()
                .filter(|(_, at)| now - at < JWKS_CACHE_SECONDS)
                .and_then(|(set, _)| set.find(kid).cloned());
            let may_fetch = s.last_fetch.is_none_or(|t| now - t >= REFETCH_AT_MOST_EVERY_SECONDS)
                || s.jwks.as_ref().is_none_or(|(_, at)| now - at >= JWKS_CACHE_SECONDS);
            (cached, may_fetch, inner.portico.clone())
        };
        let jwk = match cached {
            Some(j) => j,
            None if may_fetch => {
                let portico = portico.ok_or("no Portico configured")?;
                let set = fetch(&portico).await?;
                let found = set.find(kid).cloned();
                let mut inner = self.inner();
                inner.login.jwks = Some((set, now));
                inner.login.last_fetch = Some(now);
                inner.login.fetches += 1;
                found.ok_or("the assertion's key is not in Portico's key set")?
            }
            None => {
                return Err("the assertion's key is unknown (the key set was fetched less than a minute ago)".into());
            }
        };
        DecodingKey::from_jwk(&jwk).map_err(|e| format!("an unusable key: {e}"))
    }
}

async fn fetch(portico: &str) -> Result<JwkSet, String> {
    portico_core::outbound::install_tls_provider();
    let resp = reqwest::Client::new()
        .get(format!("{portico}/.well-known/jwks.json"))
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| format!("Portico's key set did not load: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("Portico's key set answered {}", resp.status()));
    }
    resp.json()
        .await
        .map_err(|e| format!("Portico's key set is unreadable: {e}"))
}

#[derive(serde::Deserialize)]
pub(crate) struct LoginForm {
    assertion: String,
}

/// The name of this instance's session cookie (each instance its own, as
/// the demo instances share the portal's host).
fn cookie_name(instance: &Instance) -> String {
    let id = instance.setup().map(|s| s.instance_id).unwrap_or_default();
    format!(
        "ri_{}",
        id.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(12)
            .collect::<String>()
    )
}

/// `POST /.well-known/portico/login`: a session, then the instance's page.
pub(crate) async fn redeem(AxumState(instance): AxumState<Instance>, Form(form): Form<LoginForm>) -> Response {
    match instance.redeem(&form.assertion).await {
        Ok(session) => {
            let home = instance
                .setup()
                .map(|s| format!("{}/", s.url))
                .unwrap_or_else(|| "/".into());
            (
                StatusCode::SEE_OTHER,
                [
                    (
                        header::SET_COOKIE,
                        format!("{}={session}; HttpOnly; SameSite=Lax; Path=/", cookie_name(&instance)),
                    ),
                    (header::LOCATION, home),
                ],
            )
                .into_response()
        }
        Err((status, why)) => (status, why).into_response(),
    }
}

/// The banner of a Partner Support session (empty without one).
pub(crate) fn banner(instance: &Instance, headers: &HeaderMap) -> String {
    let name = cookie_name(instance);
    let session = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| instance.inner().login.sessions.get(v).cloned());
    match session {
        None => String::new(),
        Some(s) => format!(
            "<div role=\"status\" id=\"partner-support-banner\" style=\"background:#5b2a86;color:#fff;padding:.75rem 1rem;font-weight:600\">\
             Partner Support — acting: {} ({})<br><small>Roles: {} · May: {}{}</small></div>",
            escape(&s.acting_email),
            escape(&s.acting_org),
            escape(&s.roles.join(", ")),
            escape(&s.capabilities.join(", ")),
            s.reason
                .map(|r| format!(" · Reason: {}", escape(&r)))
                .unwrap_or_default()
        ),
    }
}
