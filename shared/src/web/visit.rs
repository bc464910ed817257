//! The browser's one cookie, and what a page handler gets from a request.
//!
//! The cookie (`__Host-portico`: `Secure`, `HttpOnly`, `SameSite=Lax`,
//! `Path=/`) holds an opaque value: 256 random bits, and once signed in the
//! user's and organisation's ids and the organisation's kind, so that the
//! session item is read in the same batch as the user
//! (`ops::authenticate_full`) and a listing's query starts with it. Nothing in it is
//! believed until that item is read: the session is the item keyed by the
//! SHA-256 of the random part (see `sessions`), for that user, of the
//! user's current generation, used within 30 minutes and opened within 12
//! hours. The local portal on plain `http://` drops `Secure` and the
//! `__Host-` prefix (browsers refuse both over HTTP) and says so when it starts.
//!
//! The anti-CSRF token of a form is derived from the cookie's random part
//! (a SHA-256 under its own label), so it needs no storage and changes when
//! the cookie does (at sign-in and sign-out). Every `POST` also passes the
//! Fetch Metadata / `Origin` check in [`layer`].

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::app::{AppState, Settings};
use crate::domain::{OrgId, OrgKind, UserId};
use crate::http::principal::{Caller, Seen, SourceIp};
use crate::inactivity::PendingTouch;
use crate::store::Key;

/// The cookie's name over HTTPS, and over plain HTTP (the local portal).
pub const COOKIE_SECURE: &str = "__Host-portico";
pub const COOKIE_PLAIN: &str = "portico";

/// Who is at the browser, as the cookie says (not yet checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visitor {
    /// Not signed in; `id` keys a sign-in in progress and the CSRF token.
    Anonymous { id: String },
    /// Signed in, if the session `id` names is live for `user`. The
    /// organisation's kind is a hint for starting reads early, as a token's
    /// claim is (authorization uses the stored organisation).
    SignedIn {
        user: UserId,
        org: OrgId,
        kind: OrgKind,
        id: String,
    },
}

fn kind_byte(kind: OrgKind) -> u8 {
    match kind {
        OrgKind::Platform => 0,
        OrgKind::Partner => 1,
        OrgKind::Customer => 2,
    }
}

fn kind_of(b: u8) -> Option<OrgKind> {
    match b {
        0 => Some(OrgKind::Platform),
        1 => Some(OrgKind::Partner),
        2 => Some(OrgKind::Customer),
        _ => None,
    }
}

fn random_id() -> (String, [u8; 32]) {
    let raw: [u8; 32] = rand::random();
    (URL_SAFE_NO_PAD.encode(raw), raw)
}

impl Visitor {
    pub fn anonymous() -> Self {
        Visitor::Anonymous { id: random_id().0 }
    }

    /// A new signed-in visitor (a new random part: no session fixation).
    pub fn signed_in(user: UserId, org: OrgId, kind: OrgKind) -> Self {
        Visitor::SignedIn {
            user,
            org,
            kind,
            id: random_id().0,
        }
    }

    /// The random part.
    pub fn id(&self) -> &str {
        match self {
            Visitor::Anonymous { id } | Visitor::SignedIn { id, .. } => id,
        }
    }

    /// The session id, if signed in.
    pub fn session_id(&self) -> Option<String> {
        match self {
            Visitor::SignedIn { id, .. } => Some(id.clone()),
            Visitor::Anonymous { .. } => None,
        }
    }

    /// The anti-CSRF token of this cookie.
    pub fn csrf(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"portico-csrf\0");
        h.update(self.id().as_bytes());
        hex::encode(h.finalize())
    }

    /// The key of this visitor's sign-in in progress.
    pub fn flow_key(&self) -> Key {
        let mut h = Sha256::new();
        h.update(b"portico-sign-in\0");
        h.update(self.id().as_bytes());
        Key::new(format!("SIGNIN#{}", hex::encode(h.finalize())), "SIGNIN")
    }

    /// The cookie's value.
    pub fn encode(&self) -> String {
        match self {
            Visitor::Anonymous { id } => format!("a.{id}"),
            Visitor::SignedIn { user, org, kind, id } => {
                let mut raw = Vec::with_capacity(33);
                raw.extend_from_slice(user.0.as_bytes());
                raw.extend_from_slice(org.0.as_bytes());
                raw.push(kind_byte(*kind));
                format!("s.{}.{id}", URL_SAFE_NO_PAD.encode(raw))
            }
        }
    }

    /// Reads a cookie value; anything malformed is no visitor.
    pub fn decode(value: &str) -> Option<Self> {
        let well_formed = |id: &str| URL_SAFE_NO_PAD.decode(id).is_ok_and(|b| b.len() == 32);
        if let Some(id) = value.strip_prefix("a.") {
            return well_formed(id).then(|| Visitor::Anonymous { id: id.to_string() });
        }
        let (ids, id) = value.strip_prefix("s.")?.split_once('.')?;
        let raw = URL_SAFE_NO_PAD.decode(ids).ok()?;
        if raw.len() != 33 || !well_formed(id) {
            return None;
        }
        let user = uuid::Uuid::from_slice(&raw[..16]).ok()?;
        let org = uuid::Uuid::from_slice(&raw[16..32]).ok()?;
        Some(Visitor::SignedIn {
            user: UserId(user),
            org: OrgId(org),
            kind: kind_of(raw[32])?,
            id: id.to_string(),
        })
    }

    /// The `Set-Cookie` header that gives the browser this visitor.
    pub fn set_cookie(&self, settings: &Settings) -> HeaderValue {
        let secure = secure(settings);
        let c = cookie::Cookie::build((cookie_name(settings), self.encode()))
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(cookie::SameSite::Lax)
            .build();
        HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static("portico=; Path=/"))
    }
}

/// Whether the pages are served over HTTPS (`PORTICO_PUBLIC_URL`).
pub fn secure(settings: &Settings) -> bool {
    settings.public_url.starts_with("https://")
}

pub fn cookie_name(settings: &Settings) -> &'static str {
    if secure(settings) { COOKIE_SECURE } else { COOKIE_PLAIN }
}

/// The origin the pages are served from (scheme, host, port of `PORTICO_PUBLIC_URL`).
pub fn public_origin(settings: &Settings) -> &str {
    let url = settings.public_url.trim_end_matches('/');
    match url.find("://") {
        Some(i) => match url[i + 3..].find('/') {
            Some(j) => &url[..i + 3 + j],
            None => url,
        },
        None => url,
    }
}

fn visitor_of(headers: &HeaderMap, settings: &Settings) -> Option<Visitor> {
    let name = cookie_name(settings);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| cookie::Cookie::split_parse(v.to_string()))
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .and_then(|c| Visitor::decode(c.value()))
}

/// Whether a state-changing request comes from Portico's own pages. The
/// browser's Fetch Metadata says so when it sends it (`Sec-Fetch-Site:
/// same-origin`; a page cannot forge it); otherwise the `Origin` must be
/// Portico's. (`Referrer-Policy: no-referrer` makes browsers send `Origin:
/// null` on a same-origin form post, which is why Fetch Metadata comes first.)
pub fn same_origin(headers: &HeaderMap, settings: &Settings) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    headers
        .get(header::ORIGIN)
        .is_some_and(|o| o.as_bytes() == public_origin(settings).as_bytes())
}

/// The visitor layer: reads (or gives) the cookie, and refuses a
/// state-changing request from another site before any handler runs.
pub async fn layer(State(deps): State<AppState>, mut req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !same_origin(req.headers(), &deps.settings) {
        return super::render::plain_error(
            StatusCode::FORBIDDEN,
            "This form was sent from another site, so Portico did not act on it. Open Portico and try again there.",
        );
    }
    let (visitor, fresh) = match visitor_of(req.headers(), &deps.settings) {
        Some(v) => (v, false),
        None => (Visitor::anonymous(), true),
    };
    req.extensions_mut().insert(visitor.clone());
    let mut resp = next.run(req).await;
    // Not on answers a shared cache may keep (the static files): one
    // anonymous id (and its CSRF token) must not reach many visitors.
    let public = resp
        .headers()
        .get(header::CACHE_CONTROL)
        .is_some_and(|v| v.as_bytes().starts_with(b"public"));
    if fresh && !public && !resp.headers().contains_key(header::SET_COOKIE) {
        resp.headers_mut()
            .append(header::SET_COOKIE, visitor.set_cookie(&deps.settings));
    }
    resp
}

/// What every page handler gets: the visitor, whether htmx asked (a
/// fragment will do), where from, and the cells authentication fills.
#[derive(Clone)]
pub struct Visit {
    pub visitor: Visitor,
    pub hx: bool,
    pub source_ip: String,
    pub seen: Seen,
    pub touch: PendingTouch,
    pub path: String,
    pub local: bool,
}

impl Visit {
    pub fn csrf(&self) -> String {
        self.visitor.csrf()
    }

    /// The operations' caller, if the cookie says someone is signed in
    /// (checked by the operation's one read).
    pub fn caller(&self) -> Option<Caller> {
        match &self.visitor {
            Visitor::SignedIn { user, org, kind, id } => Some(Caller {
                user_id: *user,
                org_id: *org,
                source_ip: self.source_ip.clone(),
                auth_time: None,
                org_kind: Some(*kind),
                touch: self.touch.clone(),
                session_id: Some(id.clone()),
                seen: self.seen.clone(),
            }),
            Visitor::Anonymous { .. } => None,
        }
    }
}

impl FromRequestParts<AppState> for Visit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let SourceIp(source_ip) = SourceIp::of(&parts.extensions, &parts.headers, state.settings.trusted_proxy);
        let visitor = parts
            .extensions
            .get::<Visitor>()
            .cloned()
            .ok_or_else(|| super::render::plain_error(StatusCode::INTERNAL_SERVER_ERROR, "no visitor layer"))?;
        #[cfg(feature = "local")]
        let local = state.outbox.is_some();
        #[cfg(not(feature = "local"))]
        let local = false;
        Ok(Visit {
            local,
            visitor,
            hx: parts.headers.contains_key("hx-request"),
            source_ip,
            seen: parts.extensions.get::<Seen>().cloned().unwrap_or_default(),
            touch: parts.extensions.get::<PendingTouch>().cloned().unwrap_or_default(),
            path: parts.uri.path().to_string(),
        })
    }
}

/// A signed-in visit: its caller for the operations. Anyone else goes to
/// the sign-in page, and comes back here after.
pub struct SignedIn(pub Visit, pub Caller);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let visit = Visit::from_request_parts(parts, state).await?;
        match visit.caller() {
            Some(caller) => Ok(SignedIn(visit, caller)),
            None => Err(Redirect::to("/sign-in").into_response()),
        }
    }
}

/// A posted form (`application/x-www-form-urlencoded`) whose `_csrf` field
/// is the token of the request's cookie. Anything else is refused before
/// the handler runs: a form from an old page (the cookie changed since) is
/// told to reload.
pub struct Form<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for Form<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let expected = req
            .extensions()
            .get::<Visitor>()
            .map(Visitor::csrf)
            .ok_or_else(|| super::render::plain_error(StatusCode::INTERNAL_SERVER_ERROR, "no visitor layer"))?;
        let form_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form_type {
            return Err(super::render::plain_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Send this form from Portico's page.",
            ));
        }
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| super::render::plain_error(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."))?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|_| super::render::plain_error(StatusCode::BAD_REQUEST, "The form could not be read."))?;
        let sent = pairs.iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v.as_str());
        if !sent.is_some_and(|s| constant_time_eq(s.as_bytes(), expected.as_bytes())) {
            return Err(super::render::plain_error(
                StatusCode::FORBIDDEN,
                "This form is out of date (your session changed since the page was shown), or it did not come from Portico. Go back, reload the page and try again.",
            ));
        }
        serde_urlencoded::from_bytes(&body).map(Form).map_err(|e| {
            super::render::plain_error(StatusCode::BAD_REQUEST, &format!("The form could not be read: {e}."))
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A query string, read leniently (unknown parameters are ignored); one
/// that cannot be read at all is a 400 page.
pub struct Query<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(Query)
            .map_err(|_| super::render::plain_error(StatusCode::BAD_REQUEST, "The address's query could not be read."))
    }
}

/// Path parameters of a page, parsed into their domain types; a value the
/// type refuses is the "not found" page (it names no page that exists).
pub struct PagePath<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PagePath<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(PagePath(v)),
            Err(_) => Err(super::render::plain_error(
                StatusCode::NOT_FOUND,
                "There is no page at this address. If you followed a link, it may be out of date.",
            )),
        }
    }
}
