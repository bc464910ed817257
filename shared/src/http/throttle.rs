//! Per-source-IP throttling of the public routes (those that take no token:
//! sign-in and its steps, password links, accepting an invitation,
//! confirming an email, restore requests), in process, with the `governor`
//! crate's keyed GCRA limiter (the engine of tower-governor). Each Lambda
//! instance keeps its own; API Gateway's stage throttling (the template)
//! bounds the whole API. Per-account lockout is separate (`ops::session`).

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;
use crate::http::principal::SourceIp;

/// The routes (all `POST`) anyone may call without a token.
pub const PUBLIC_ROUTES: [&str; 12] = [
    "/session",
    "/session/mfa",
    "/session/mfa-setup",
    "/session/mfa-setup/confirm",
    "/session/recover",
    "/session/restore-request",
    "/password/setup",
    "/password/forgot",
    "/invitations/accept",
    "/email/confirm",
    "/signup-links/{link}/signups",
    "/signup/complete",
];

/// Routes without a token that instances call, signing each request with
/// their connection's secret (`GET`). The stage throttles them; the app does
/// not limit them per source IP (an instance's address is its own business,
/// and an unsigned request costs one read).
pub const INSTANCE_SIGNED_ROUTES: [&str; 1] = [crate::ops::deliveries::PULL_PATH];

/// Routes without a token that publish what anyone may read (`GET`):
/// Portico's LogMeIn keys, the portal texts. The stage throttles them.
pub const PUBLIC_KEY_ROUTES: [&str; 2] = [crate::login_keys::JWKS_PATH, "/portal-texts"];

/// Routes without a token that answer about a link (`GET`): the signup
/// link's page (404 for a link that is not the live one). The stage throttles them.
pub const PUBLIC_LINK_ROUTES: [&str; 1] = ["/signup-links/{link}"];

/// How many public requests one source IP may make (`PORTICO_PUBLIC_RATE_PER_MINUTE`,
/// `PORTICO_PUBLIC_BURST`): a sign-in takes two or three, so the default lets
/// an office behind one address sign in several people a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicRate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Default for PublicRate {
    fn default() -> Self {
        Self {
            per_minute: 30,
            burst: 15,
        }
    }
}

/// The limiter and what it is for.
pub struct PublicLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    trusted_proxy: Option<std::net::IpAddr>,
}

/// Keys kept before forgetting the idle ones.
const MAX_KEYS: usize = 100_000;

impl PublicLimiter {
    pub fn new(rate: PublicRate, trusted_proxy: Option<std::net::IpAddr>) -> Arc<Self> {
        let per_minute = NonZeroU32::new(rate.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(rate.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Arc::new(Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
            trusted_proxy,
        })
    }

    /// The proxy whose `X-Forwarded-For` counts (local portal only).
    pub fn trusted_proxy(&self) -> Option<std::net::IpAddr> {
        self.trusted_proxy
    }

    /// `Ok` if `ip` may make one more public request now, else the seconds to wait.
    pub fn check(&self, ip: String) -> Result<(), u64> {
        if self.limiter.len() > MAX_KEYS {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&ip).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .saturating_add(1)
        })
    }
}

/// The middleware: a public route over its source IP's rate gets 429 with `Retry-After`.
pub async fn public(
    axum::extract::State(limiter): axum::extract::State<Arc<PublicLimiter>>,
    req: Request,
    next: Next,
) -> Response {
    let public = req.method() == Method::POST
        && req
            .extensions()
            .get::<MatchedPath>()
            .is_some_and(|p| PUBLIC_ROUTES.contains(&p.as_str()));
    if public {
        let SourceIp(ip) = SourceIp::of(req.extensions(), req.headers(), limiter.trusted_proxy);
        if let Err(retry_after) = limiter.check(ip) {
            return AppError::TooManyRequests {
                retry_after,
                what: "Too many requests from your network address.",
            }
            .into_response();
        }
    }
    next.run(req).await
}
