//! Routes of the `session` function: sign-in, MFA, recovery, and the
//! password links. None needs a token (they are how one gets a token).

use crate::app::AppState;
use crate::error::{AppError, Problem};
use crate::http::JsonBody;
use crate::http::principal::{Caller, SourceIp};
use crate::ops::accounts::{self, ConfirmEmail, EmailConfirmed, Forgot, PasswordSet, SetPassword};
use crate::ops::inactivity::{self, AskRestore};
use crate::ops::session::{
    self, Enrolled, Enrolment, EnrolmentConfirm, EnrolmentStart, MfaAnswer, Recover, ResetMfa, SignInRequest,
    SignInStep, SignOut,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What this function uses besides the table (sign-in, passwords and MFA; password-reset links are emailed); its Lambda builds only that.
pub struct Uses;

impl crate::app::Uses for Uses {
    const USING: crate::app::Using = crate::app::Using {
        identity: true,
        mail: true,
        secrets: false,
        outbound: false,
        signer: false,
    };
}

/// The function's routes, with their OpenAPI descriptions: the one place a route is added.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in))
        .routes(routes!(answer_mfa))
        .routes(routes!(begin_enrolment))
        .routes(routes!(confirm_enrolment))
        .routes(routes!(recover))
        .routes(routes!(set_password))
        .routes(routes!(forgot_password))
        .routes(routes!(confirm_email))
        .routes(routes!(reset_mfa))
        .routes(routes!(sign_out))
        .routes(routes!(ask_restore))
}

/// The router the Lambda runs.
pub fn router(state: AppState) -> axum::Router {
    crate::http::function(routes(), state)
}

/// Sign in with email and password; the answer says the next step (a TOTP code, enrolment) or carries the token.
#[utoipa::path(post, path = "/session", tag = "session", request_body = SignInRequest,
    responses(
        (status = 200, body = SignInStep),
        (status = 401, description = "Wrong email or password", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Locked after too many wrong codes", body = Problem, content_type = "application/problem+json"),
    ))]
async fn sign_in(
    State(deps): State<AppState>,
    SourceIp(ip): SourceIp,
    JsonBody(input): JsonBody<SignInRequest>,
) -> Result<Json<SignInStep>, AppError> {
    Ok(Json(
        session::sign_in(&deps, &ip, input, session::Opening::Token).await?,
    ))
}

/// Answer the MFA step with a code from the authenticator app.
#[utoipa::path(post, path = "/session/mfa", tag = "session", request_body = MfaAnswer,
    responses(
        (status = 200, body = SignInStep),
        (status = 401, description = "Wrong, expired or reused code", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
async fn answer_mfa(
    State(deps): State<AppState>,
    SourceIp(ip): SourceIp,
    JsonBody(input): JsonBody<MfaAnswer>,
) -> Result<Json<SignInStep>, AppError> {
    Ok(Json(
        session::answer_mfa(&deps, &ip, input, session::Opening::Token).await?,
    ))
}

/// Start enrolling an authenticator app: the secret, its otpauth:// URI and a QR code.
#[utoipa::path(post, path = "/session/mfa-setup", tag = "session", request_body = EnrolmentStart,
    responses(
        (status = 200, body = Enrolment),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn begin_enrolment(
    State(deps): State<AppState>,
    JsonBody(input): JsonBody<EnrolmentStart>,
) -> Result<Json<Enrolment>, AppError> {
    Ok(Json(session::begin_enrolment(&deps, input).await?))
}

/// Confirm the app with a current code: signed in, with ten recovery codes shown once.
#[utoipa::path(post, path = "/session/mfa-setup/confirm", tag = "session", request_body = EnrolmentConfirm,
    responses(
        (status = 200, body = Enrolled),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
async fn confirm_enrolment(
    State(deps): State<AppState>,
    SourceIp(ip): SourceIp,
    JsonBody(input): JsonBody<EnrolmentConfirm>,
) -> Result<Json<Enrolled>, AppError> {
    Ok(Json(
        session::confirm_enrolment(&deps, &ip, input, session::Opening::Token).await?,
    ))
}

/// Sign in with a recovery code instead of a TOTP code (once per code); a new app must be enrolled next.
#[utoipa::path(post, path = "/session/recover", tag = "session", request_body = Recover,
    responses(
        (status = 200, body = SignInStep),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn recover(
    State(deps): State<AppState>,
    SourceIp(ip): SourceIp,
    JsonBody(input): JsonBody<Recover>,
) -> Result<Json<SignInStep>, AppError> {
    Ok(Json(session::recover(&deps, &ip, input).await?))
}

/// Set a password with the token of an invitation, Password Setup or reset link (single use).
#[utoipa::path(post, path = "/password/setup", tag = "session", request_body = SetPassword,
    responses(
        (status = 200, body = PasswordSet),
        (status = 400, description = "Password breaks a rule", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown or replaced link", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Expired or used link", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_password(
    State(deps): State<AppState>,
    SourceIp(ip): SourceIp,
    JsonBody(input): JsonBody<SetPassword>,
) -> Result<Json<PasswordSet>, AppError> {
    Ok(Json(accounts::set_password(&deps, &ip, input).await?))
}

/// Ask for a new password link. The answer is the same whether or not the address has an account.
#[utoipa::path(post, path = "/password/forgot", tag = "session", request_body = Forgot,
    responses(
        (status = 202, description = "If the address has an account, a link is on its way"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn forgot_password(
    State(deps): State<AppState>,
    SourceIp(ip): SourceIp,
    JsonBody(input): JsonBody<Forgot>,
) -> Result<StatusCode, AppError> {
    crate::ops::no_sooner_than_floor(accounts::forgot_password(&deps, &ip, input)).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Confirm your email address with the token of the emailed link (partner users, every 24 hours).
#[utoipa::path(post, path = "/email/confirm", tag = "session", request_body = ConfirmEmail,
    responses(
        (status = 200, body = EmailConfirmed),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 410, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn confirm_email(
    State(deps): State<AppState>,
    SourceIp(ip): SourceIp,
    JsonBody(input): JsonBody<ConfirmEmail>,
) -> Result<Json<EmailConfirmed>, AppError> {
    Ok(Json(accounts::confirm_email(&deps, &ip, input).await?))
}

/// Replace your authenticator app (needs a sign-in from the last 10 minutes and your password); enrolment follows.
#[utoipa::path(post, path = "/me/mfa/reset", tag = "session", request_body = ResetMfa, security(("bearer" = [])),
    responses(
        (status = 200, body = SignInStep),
        (status = 401, description = "Not signed in, not freshly, or wrong password", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn reset_mfa(
    State(deps): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<ResetMfa>,
) -> Result<Json<SignInStep>, AppError> {
    Ok(Json(session::reset_mfa(&deps, &caller, input).await?))
}

/// Sign out: this token (or, with `everywhere=true`, every token of yours) stops working at once.
#[utoipa::path(delete, path = "/session", tag = "session", params(SignOut), security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ))]
async fn sign_out(
    State(deps): State<AppState>,
    caller: Caller,
    axum::extract::Query(input): axum::extract::Query<SignOut>,
) -> Result<StatusCode, AppError> {
    session::sign_out(&deps, &caller, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A suspended user asks the platform to restore their access (always 202; once a day per address).
#[utoipa::path(post, path = "/session/restore-request", tag = "session", request_body = AskRestore,
    responses(
        (status = 202, description = "If the account is suspended, the platform has the request"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn ask_restore(
    State(deps): State<AppState>,
    SourceIp(ip): SourceIp,
    JsonBody(input): JsonBody<AskRestore>,
) -> Result<StatusCode, AppError> {
    crate::ops::no_sooner_than_floor(inactivity::ask_restore(&deps, &ip, input)).await?;
    Ok(StatusCode::ACCEPTED)
}
