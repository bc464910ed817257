//! The web pages: server-rendered HTML on the same core. Each page handler
//! is a thin adapter, as an HTTP handler is: the visitor in, an `ops::*`
//! call, a template out. htmx swaps fragments where it helps (a thumb
//! toggle, a dialog), and every control is a real link or form first.
//!
//! Sessions follow the backend-for-frontend pattern: the browser holds only
//! an opaque cookie (see [`visit`]); the sign-in's tokens and the identity's
//! sessions stay on the server. Every state-changing request passes an
//! Origin / Fetch Metadata check and carries the anti-CSRF token of its
//! cookie. Every answer carries a strict CSP and the other headers below.
//!
//! Paths: the pages own the paths the JSON API does not use (`/`,
//! `/sign-in`, `/customers/{id}`, ...); the emailed links (`/setup-password`,
//! `/accept-invitation`, `/confirm-email`) land on pages. In AWS the `web`
//! Lambda serves the HTTP API's default route, so a path no API route
//! claims comes here; `tests/tests/all/web.rs` checks that no page path is
//! also an API route.

pub mod account;
pub mod activity;
pub mod admin;
pub mod assets;
pub mod consent;
pub mod customers;
pub mod instances;
#[cfg(feature = "local")]
pub mod local;
pub mod login_keys;
pub mod logmein;
pub mod partner;
pub mod portal_admin;
pub mod relationships;
pub mod render;
pub mod signup;
pub mod staff;
pub mod visit;
pub mod work;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::app::AppState;
use crate::http::principal::{Seen, SourceIp};
use crate::http::throttle::PublicLimiter;

/// The Content-Security-Policy of every answer: scripts, styles and
/// everything else from Portico itself only, no inline script or style,
/// never framed, forms post only to Portico.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The pages anyone may post to without being signed in: throttled per
/// source IP like the API's public routes.
pub const PUBLIC_POSTS: [&str; 12] = [
    "/sign-in",
    "/sign-in/code",
    "/sign-in/authenticator",
    "/sign-in/recovery",
    "/setup-password",
    "/accept-invitation",
    "/confirm-email",
    "/forgot-password",
    "/restore-access",
    "/sign-out",
    "/signup",
    "/finish-signup",
];

/// Every page route (method, path), for the route checks.
pub fn page_routes() -> Vec<(Method, &'static str)> {
    let mut out = Vec::new();
    for (path, methods) in ROUTES {
        for m in *methods {
            out.push((m.clone(), *path));
        }
    }
    out
}

const GP: &[Method] = &[Method::GET, Method::POST];
const G: &[Method] = &[Method::GET];
const P: &[Method] = &[Method::POST];

/// The pages and the methods each answers (the router below must agree; a test checks it).
pub const ROUTES: &[(&str, &[Method])] = &[
    ("/", G),
    ("/assets/{file}", G),
    ("/sign-in", GP),
    ("/sign-in/code", GP),
    ("/sign-in/authenticator", GP),
    ("/sign-in/recovery", GP),
    ("/sign-out", P),
    ("/setup-password", GP),
    ("/accept-invitation", GP),
    ("/confirm-email", GP),
    ("/forgot-password", GP),
    ("/signup", GP),
    ("/finish-signup", GP),
    ("/help", G),
    ("/welcome", P),
    ("/restore-access", GP),
    ("/customers", G),
    ("/customers/{id}", G),
    ("/customers/{id}/toggle/{key}", P),
    ("/customers/{id}/edit/{key}", GP),
    ("/customers/{id}/verify/{instance}", P),
    ("/customers/{id}/recreate/{instance}", GP),
    ("/customers/{id}/instances/{instance}/logmein", P),
    ("/customers/{id}/instances/{instance}/ask-access", GP),
    ("/access", G),
    ("/access/instances/{instance}", P),
    ("/access/notices", P),
    ("/access/requests/{id}", P),
    ("/permissions", GP),
    ("/permissions/delete", GP),
    ("/team", G),
    ("/team/ask", P),
    ("/team/seats", P),
    ("/team/add", P),
    ("/team/users/{id}/remove", P),
    ("/team/invitations/{id}/resend", P),
    ("/team/invitations/{id}/revoke", P),
    ("/team/users/{id}/restore", P),
    ("/invite-customer", GP),
    ("/trusted-ranges", GP),
    ("/mfa-policy", GP),
    ("/activity-log", G),
    ("/activity-log/export", G),
    ("/activity-log/verify", G),
    ("/admin/organizations", GP),
    ("/admin/invite-partner", P),
    ("/admin/requests", G),
    ("/admin/requests/{id}", P),
    ("/admin/restore/{org}/{user}", P),
    ("/admin/recreate/{customer}/{instance}", P),
    ("/admin/catalogue", GP),
    ("/admin/sweep", GP),
    ("/admin/login-keys", G),
    ("/admin/partner-portal", GP),
    ("/admin/partner-portal/link", P),
    ("/admin/partner-portal/texts/{name}", P),
    ("/admin/signups/{id}", P),
    ("/admin/seat-requests/{id}", P),
    ("/work", G),
    ("/work/projects", P),
    ("/work/projects/{id}", G),
    ("/work/projects/{id}/health", P),
    ("/work/projects/{id}/members", P),
    ("/work/projects/{id}/reports", P),
    ("/work/projects/{id}/phases/{phase}/log", P),
    ("/work/projects/{id}/phases/{phase}/{kind}", P),
    ("/work/projects/{id}/phases/{phase}/tasks/{item}/status", P),
    ("/work/week", G),
    ("/work/week/submit", P),
    ("/work/week/entries/{entry}/delete", P),
    ("/work/people/{org}/{user}/weeks/{week}", G),
    ("/work/approvals", G),
    ("/work/approvals/timesheets/{org}/{user}/{week}", P),
    ("/work/approvals/expenses/{org}/{user}/{id}", P),
    ("/work/expenses", GP),
    ("/work/profile", GP),
];

/// The page routes, without layers (the portal merges them with the API).
pub fn routes() -> Router<AppState> {
    let r = Router::new()
        .route("/", get(account::home))
        .route("/assets/{file}", get(assets::serve))
        .route("/sign-in", get(account::sign_in_page).post(account::sign_in))
        .route("/sign-in/code", get(account::code_page).post(account::code))
        .route("/sign-in/authenticator", get(account::enrol_page).post(account::enrol))
        .route("/sign-in/recovery", get(account::recovery_page).post(account::recovery))
        .route("/sign-out", post(account::sign_out))
        .route(
            "/setup-password",
            get(account::setup_password_page).post(account::setup_password),
        )
        .route("/accept-invitation", get(account::accept_page).post(account::accept))
        .route(
            "/confirm-email",
            get(account::confirm_email_page).post(account::confirm_email),
        )
        .route("/forgot-password", get(account::forgot_page).post(account::forgot))
        .route("/signup", get(signup::signup_page).post(signup::sign_up))
        .route("/finish-signup", get(signup::finish_page).post(signup::finish))
        .route("/help", get(signup::help))
        .route("/welcome", post(signup::welcomed))
        .route("/restore-access", get(account::restore_page).post(account::restore))
        .route("/customers", get(customers::list))
        .route("/customers/{id}", get(customers::settings))
        .route("/customers/{id}/toggle/{key}", post(customers::toggle))
        .route(
            "/customers/{id}/edit/{key}",
            get(customers::edit_page).post(customers::edit),
        )
        .route("/customers/{id}/verify/{instance}", post(instances::verify_now))
        .route(
            "/customers/{id}/recreate/{instance}",
            get(instances::ask_recreate_page).post(instances::ask_recreate),
        )
        .route("/customers/{id}/instances/{instance}/logmein", post(logmein::log_me_in))
        .route(
            "/customers/{id}/instances/{instance}/ask-access",
            get(logmein::ask_access_page).post(logmein::ask_access),
        )
        .route("/relationships", get(relationships::list))
        .route("/relationships/bulk", post(relationships::bulk))
        .route("/relationships/{id}", post(relationships::set))
        .route("/relationships/{id}/decision", post(relationships::decide))
        .route("/relationships/{id}/holders", post(relationships::holders))
        .route("/staff/{customer}", get(staff::list))
        .route("/staff/{customer}/invite", post(staff::invite))
        .route("/staff/{customer}/users/{user}/role", post(staff::set_role))
        .route("/staff/{customer}/users/{user}/remove", post(staff::remove))
        .route("/groups/{customer}/{role}", get(relationships::group))
        .route("/groups/{customer}/{role}/members", post(relationships::add_member))
        .route(
            "/groups/{customer}/{role}/members/{user}/remove",
            post(relationships::remove_member),
        )
        .route("/access", get(consent::access_page))
        .route("/access/instances/{instance}", post(consent::set_consent))
        .route("/access/notices", post(consent::set_notices))
        .route("/access/requests/{id}", post(consent::decide))
        .route("/permissions", get(partner::permissions).post(partner::grant))
        .route(
            "/permissions/delete",
            get(partner::delete_grant_page).post(partner::delete_grant),
        )
        .route("/team", get(partner::team))
        .route("/team/ask", post(partner::ask_for_user))
        .route("/team/seats", post(partner::ask_for_seats))
        .route("/team/add", post(partner::add_user))
        .route("/team/users/{id}/remove", post(partner::remove_user))
        .route("/team/invitations/{id}/resend", post(partner::resend_invitation))
        .route("/team/invitations/{id}/revoke", post(partner::revoke_invitation))
        .route("/team/users/{id}/restore", post(partner::ask_restore))
        .route(
            "/invite-customer",
            get(partner::invite_customer_page).post(partner::invite_customer),
        )
        .route(
            "/trusted-ranges",
            get(partner::trusted_ranges).post(partner::set_trusted_ranges),
        )
        .route("/mfa-policy", get(partner::mfa_policy).post(partner::set_mfa_policy))
        .route("/activity-log", get(activity::log))
        .route("/activity-log/export", get(activity::export))
        .route("/activity-log/verify", get(activity::verify))
        .route(
            "/admin/organizations",
            get(admin::organizations).post(admin::create_organization),
        )
        .route("/admin/invite-partner", post(admin::invite_partner))
        .route("/admin/requests", get(admin::requests))
        .route("/admin/requests/{id}", post(admin::decide))
        .route("/admin/restore/{org}/{user}", post(admin::reinstate))
        .route("/admin/recreate/{customer}/{instance}", post(instances::recreate))
        .route("/admin/catalogue", get(admin::catalogue).post(admin::put_entry))
        .route("/admin/sweep", get(admin::sweep_page).post(admin::run_sweep))
        .route("/admin/login-keys", get(login_keys::keys_page))
        .route(
            "/admin/partner-portal",
            get(portal_admin::portal).post(portal_admin::save),
        )
        .route("/admin/partner-portal/link", post(portal_admin::new_link))
        .route("/admin/partner-portal/texts/{name}", post(portal_admin::save_text))
        .route("/admin/signups/{id}", post(portal_admin::decide_signup))
        .route("/admin/seat-requests/{id}", post(portal_admin::decide_seats))
        .route("/work", get(work::projects))
        .route("/work/projects", post(work::create_project))
        .route("/work/projects/{id}", get(work::project))
        .route("/work/projects/{id}/health", post(work::set_health))
        .route("/work/projects/{id}/members", post(work::add_member))
        .route("/work/projects/{id}/reports", post(work::file_report))
        .route("/work/projects/{id}/phases/{phase}/log", post(work::log_time))
        .route("/work/projects/{id}/phases/{phase}/{kind}", post(work::add_item))
        .route(
            "/work/projects/{id}/phases/{phase}/tasks/{item}/status",
            post(work::task_status),
        )
        .route("/work/week", get(work::week))
        .route("/work/week/submit", post(work::submit_week))
        .route("/work/week/entries/{entry}/delete", post(work::delete_entry))
        .route("/work/people/{org}/{user}/weeks/{week}", get(work::person_week_page))
        .route("/work/approvals", get(work::approvals))
        .route(
            "/work/approvals/timesheets/{org}/{user}/{week}",
            post(work::decide_week),
        )
        .route("/work/approvals/expenses/{org}/{user}/{id}", post(work::decide_expense))
        .route("/work/expenses", get(work::expenses).post(work::claim))
        .route("/work/profile", get(work::profile).post(work::save_profile));
    #[cfg(feature = "local")]
    let r = r.merge(local::routes());
    r
}

/// The `web` Lambda's router: the pages with their layers and a 404 page.
pub fn router(state: AppState) -> Router {
    layered(routes().fallback(render::not_found), state)
}

/// The layers every page shares (also around the pages the portal merges).
pub fn layered(routes: Router<AppState>, state: AppState) -> Router {
    let limiter = PublicLimiter::new(state.settings.public_rate, state.settings.trusted_proxy);
    routes
        .method_not_allowed_fallback(render::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(crate::http::MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(limiter, throttle))
        .layer(axum::middleware::from_fn_with_state(state.clone(), record_activity))
        .layer(axum::middleware::from_fn_with_state(state.clone(), visit::layer))
        .layer(axum::middleware::from_fn(crate::http::log_request))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            render::plain_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side; it has been logged.",
            )
        }))
        // Outermost: even a panic's answer carries the headers.
        .layer(axum::middleware::from_fn(headers))
        .with_state(state)
}

/// Throttles the public posts per source IP (429 page with `Retry-After`).
async fn throttle(State(limiter): State<std::sync::Arc<PublicLimiter>>, req: Request, next: Next) -> Response {
    let public = req.method() == Method::POST
        && req
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .is_some_and(|p| PUBLIC_POSTS.contains(&p.as_str()));
    if public {
        let SourceIp(ip) = SourceIp::of(req.extensions(), req.headers(), limiter.trusted_proxy());
        if let Err(retry_after) = limiter.check(ip) {
            let mut resp = render::plain_error(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too many attempts from your network address. Try again in {retry_after} seconds."),
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return resp;
        }
    }
    next.run(req).await
}

/// The user's activity record (see `inactivity`), and a browser session's
/// idle clock: written after the page if due, not on every request.
async fn record_activity(State(deps): State<AppState>, mut req: Request, next: Next) -> Response {
    let touch = crate::inactivity::PendingTouch::default();
    let seen = Seen::watching();
    req.extensions_mut().insert(touch.clone());
    req.extensions_mut().insert(seen.clone());
    let session_id = req.extensions().get::<visit::Visitor>().and_then(|v| v.session_id());
    let resp = next.run(req).await;
    let mut writes = Vec::new();
    if let Some(w) = touch.take() {
        writes.push(w);
    }
    let now = deps.clock.now();
    if let (Some(viewer), Some(id)) = (seen.get(), session_id)
        && crate::sessions::refresh_due(&viewer.session, now)
    {
        match crate::sessions::refresh(&id, now) {
            Ok(w) => writes.push(w),
            Err(e) => tracing::warn!(error = %e, "session not refreshed"),
        }
    }
    for w in writes {
        match deps.table.transact(vec![w]).await {
            Ok(()) | Err(crate::store::StoreError::ConditionFailed { .. }) => {}
            Err(e) => tracing::warn!(error = %e, "activity or session not recorded"),
        }
    }
    resp
}

/// The headers of every answer: CSP, no referrer (links carry tokens), no
/// sniffing, not framed, not cached (pages are personal), and `Vary:
/// HX-Request` (a page and its fragment share a URL). A redirect answering
/// an htmx request becomes `HX-Redirect`, so the whole page moves.
async fn headers(req: Request, next: Next) -> Response {
    let hx = req.headers().contains_key("hx-request");
    let mut resp = next.run(req).await;
    if hx
        && resp.status() == StatusCode::SEE_OTHER
        && let Some(to) = resp.headers().get(header::LOCATION).cloned()
    {
        let mut moved = StatusCode::NO_CONTENT.into_response();
        moved.headers_mut().insert("hx-redirect", to);
        for c in resp.headers().get_all(header::SET_COOKIE) {
            moved.headers_mut().append(header::SET_COOKIE, c.clone());
        }
        resp = moved;
    }
    if hx && (resp.status().is_client_error() || resp.status().is_server_error()) {
        // An error page answering htmx replaces the whole page (the meta
        // htmx-config lets htmx swap 4xx and 5xx answers).
        resp.headers_mut()
            .insert("hx-retarget", HeaderValue::from_static("body"));
        resp.headers_mut()
            .insert("hx-reswap", HeaderValue::from_static("innerHTML"));
    }
    let h = resp.headers_mut();
    // A page may set its own (LogMeIn's form posts to the instance's origin).
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    h.append(header::VARY, HeaderValue::from_static("HX-Request"));
    resp
}
