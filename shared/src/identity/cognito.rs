//! Cognito adapter. Portico's user id is the Cognito username; the user's
//! organisation is the read-only custom attribute `org`, so both reach the
//! API through the ID token's claims (`cognito:username`, `custom:org`).
//! Users are created with `MessageAction=SUPPRESS`: Portico sends its own
//! Password Setup links (Cognito's temporary passwords last at least a day).

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, SdkError};
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, AuthenticationResultType, ChallengeNameType, MessageActionType,
    SoftwareTokenMfaSettingsType,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::{Identity, IdentityError, IdentityUser, SignIn, Tokens, TotpSetup};
use crate::domain::{Password, UserId};

pub struct CognitoIdentity {
    client: Client,
    user_pool_id: String,
    client_id: String,
}

/// What Portico's opaque session carries for this adapter.
#[derive(Debug, Serialize, Deserialize)]
struct Session {
    /// The Cognito username (Portico's user id).
    u: String,
    /// A Cognito challenge session, or
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<String>,
    /// an access and ID token pair of a sign-in that needs enrolment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    a: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    i: Option<String>,
}

impl Session {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }
    fn decode(s: &str) -> Result<Self, IdentityError> {
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| IdentityError::SessionExpired)?;
        serde_json::from_slice(&bytes).map_err(|_| IdentityError::SessionExpired)
    }
    fn user(&self) -> Result<UserId, IdentityError> {
        UserId::parse(&self.u).map_err(|_| IdentityError::SessionExpired)
    }
}

fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(e: SdkError<E, R>) -> IdentityError {
    IdentityError::Unavailable(DisplayErrorContext(&e).to_string())
}

fn tokens(user: UserId, r: Option<AuthenticationResultType>) -> Result<Tokens, IdentityError> {
    let r = r.ok_or_else(|| IdentityError::Unavailable("no authentication result".into()))?;
    Ok(Tokens {
        user_id: user,
        id_token: r
            .id_token
            .ok_or_else(|| IdentityError::Unavailable("no ID token".into()))?,
        expires_in: i64::from(r.expires_in),
        access_token: r.access_token,
    })
}

impl CognitoIdentity {
    pub fn new(client: Client, user_pool_id: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            client,
            user_pool_id: user_pool_id.into(),
            client_id: client_id.into(),
        }
    }

    async fn set_software_token(&self, user: &str, enabled: bool) -> Result<(), IdentityError> {
        self.client
            .admin_set_user_mfa_preference()
            .user_pool_id(&self.user_pool_id)
            .username(user)
            .software_token_mfa_settings(
                SoftwareTokenMfaSettingsType::builder()
                    .enabled(enabled)
                    .preferred_mfa(enabled)
                    .build(),
            )
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl Identity for CognitoIdentity {
    async fn set_password(&self, user: IdentityUser<'_>, password: &Password) -> Result<(), IdentityError> {
        let attr = |n: &str, v: String| AttributeType::builder().name(n).value(v).build();
        let created = self
            .client
            .admin_create_user()
            .user_pool_id(&self.user_pool_id)
            .username(user.id.to_string())
            .message_action(MessageActionType::Suppress)
            .user_attributes(
                attr("email", user.email.to_string()).map_err(|e| IdentityError::Unavailable(e.to_string()))?,
            )
            .user_attributes(
                attr("email_verified", "true".into()).map_err(|e| IdentityError::Unavailable(e.to_string()))?,
            )
            .user_attributes(
                attr("custom:org", user.org_id.to_string()).map_err(|e| IdentityError::Unavailable(e.to_string()))?,
            )
            .send()
            .await;
        if let Err(e) = created {
            match e.into_service_error() {
                aws_sdk_cognitoidentityprovider::operation::admin_create_user::AdminCreateUserError::UsernameExistsException(_) => {}
                other => return Err(IdentityError::Unavailable(DisplayErrorContext(&other).to_string())),
            }
        }
        self.client
            .admin_set_user_password()
            .user_pool_id(&self.user_pool_id)
            .username(user.id.to_string())
            .password(password.expose())
            .permanent(true)
            .send()
            .await
            .map_err(|e| match e.into_service_error() {
                aws_sdk_cognitoidentityprovider::operation::admin_set_user_password::AdminSetUserPasswordError::InvalidPasswordException(p) => {
                    IdentityError::PasswordRefused(p.message().unwrap_or("password policy").to_string())
                }
                other => IdentityError::Unavailable(DisplayErrorContext(&other).to_string()),
            })?;
        Ok(())
    }

    async fn sign_in(&self, user: UserId, password: &str) -> Result<SignIn, IdentityError> {
        use aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthError as E;
        let out = self
            .client
            .initiate_auth()
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .client_id(&self.client_id)
            .auth_parameters("USERNAME", user.to_string())
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .map_err(|e| match e.into_service_error() {
                E::NotAuthorizedException(_)
                | E::UserNotFoundException(_)
                | E::UserNotConfirmedException(_)
                | E::PasswordResetRequiredException(_) => IdentityError::BadCredentials,
                E::TooManyRequestsException(_) => IdentityError::Locked,
                other => IdentityError::Unavailable(DisplayErrorContext(&other).to_string()),
            })?;
        let session = |s: Option<String>| {
            Session {
                u: user.to_string(),
                s,
                a: None,
                i: None,
            }
            .encode()
        };
        match out.challenge_name {
            Some(ChallengeNameType::SoftwareTokenMfa) => Ok(SignIn::MfaCode {
                session: session(out.session),
            }),
            Some(ChallengeNameType::MfaSetup) => Ok(SignIn::MfaSetup {
                session: session(out.session),
            }),
            Some(other) => Err(IdentityError::Unavailable(format!("unexpected challenge {other:?}"))),
            None => Ok(SignIn::Done(tokens(user, out.authentication_result)?)),
        }
    }

    async fn enrolment_session(&self, t: &Tokens) -> Result<String, IdentityError> {
        let access = t.access_token.clone().ok_or(IdentityError::SessionExpired)?;
        Ok(Session {
            u: t.user_id.to_string(),
            s: None,
            a: Some(access),
            i: Some(t.id_token.clone()),
        }
        .encode())
    }

    async fn begin_totp(&self, session: &str) -> Result<TotpSetup, IdentityError> {
        let mut s = Session::decode(session)?;
        let out = self
            .client
            .associate_software_token()
            .set_session(s.s.clone())
            .set_access_token(s.a.clone())
            .send()
            .await
            .map_err(|e| match e.into_service_error() {
                aws_sdk_cognitoidentityprovider::operation::associate_software_token::AssociateSoftwareTokenError::NotAuthorizedException(_) => IdentityError::SessionExpired,
                other => IdentityError::Unavailable(DisplayErrorContext(&other).to_string()),
            })?;
        if s.s.is_some() {
            s.s = out.session.or(s.s);
        }
        let secret = out
            .secret_code
            .ok_or_else(|| IdentityError::Unavailable("no secret".into()))?;
        Ok(TotpSetup {
            secret,
            session: s.encode(),
        })
    }

    async fn confirm_totp(&self, session: &str, code: &str) -> Result<Tokens, IdentityError> {
        use aws_sdk_cognitoidentityprovider::operation::verify_software_token::VerifySoftwareTokenError as E;
        let s = Session::decode(session)?;
        let user = s.user()?;
        let out = self
            .client
            .verify_software_token()
            .set_session(s.s.clone())
            .set_access_token(s.a.clone())
            .user_code(code)
            .friendly_device_name("Portico")
            .send()
            .await
            .map_err(|e| match e.into_service_error() {
                E::CodeMismatchException(_) | E::EnableSoftwareTokenMfaException(_) => IdentityError::CodeMismatch,
                E::NotAuthorizedException(_) | E::ResourceNotFoundException(_) => IdentityError::SessionExpired,
                other => IdentityError::Unavailable(DisplayErrorContext(&other).to_string()),
            })?;
        match (s.s, s.i) {
            // MFA_SETUP challenge (a pool that requires MFA): finish the challenge.
            (Some(_), _) => {
                let r = self
                    .client
                    .respond_to_auth_challenge()
                    .client_id(&self.client_id)
                    .challenge_name(ChallengeNameType::MfaSetup)
                    .set_session(out.session)
                    .challenge_responses("USERNAME", &s.u)
                    .send()
                    .await
                    .map_err(unavailable)?;
                self.set_software_token(&s.u, true).await?;
                tokens(user, r.authentication_result)
            }
            // Signed in without MFA: turn TOTP on for the next sign-ins.
            (None, Some(id_token)) => {
                self.set_software_token(&s.u, true).await?;
                Ok(Tokens {
                    user_id: user,
                    id_token,
                    expires_in: 3600,
                    access_token: s.a,
                })
            }
            (None, None) => Err(IdentityError::SessionExpired),
        }
    }

    async fn answer_mfa(&self, session: &str, code: &str) -> Result<Tokens, IdentityError> {
        use aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeError as E;
        let s = Session::decode(session)?;
        let user = s.user()?;
        let out = self
            .client
            .respond_to_auth_challenge()
            .client_id(&self.client_id)
            .challenge_name(ChallengeNameType::SoftwareTokenMfa)
            .set_session(s.s)
            .challenge_responses("USERNAME", &s.u)
            .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", code)
            .send()
            .await
            .map_err(|e| match e.into_service_error() {
                E::CodeMismatchException(_) | E::ExpiredCodeException(_) => IdentityError::CodeMismatch,
                E::NotAuthorizedException(_) | E::ResourceNotFoundException(_) => IdentityError::SessionExpired,
                E::TooManyRequestsException(_) => IdentityError::Locked,
                other => IdentityError::Unavailable(DisplayErrorContext(&other).to_string()),
            })?;
        tokens(user, out.authentication_result)
    }

    async fn reset_mfa(&self, user: UserId) -> Result<(), IdentityError> {
        self.set_software_token(&user.to_string(), false).await
    }

    async fn disable(&self, user: UserId) -> Result<(), IdentityError> {
        self.client
            .admin_disable_user()
            .user_pool_id(&self.user_pool_id)
            .username(user.to_string())
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn enable(&self, user: UserId) -> Result<(), IdentityError> {
        self.client
            .admin_enable_user()
            .user_pool_id(&self.user_pool_id)
            .username(user.to_string())
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn sign_out_everywhere(&self, user: UserId) -> Result<(), IdentityError> {
        self.client
            .admin_user_global_sign_out()
            .user_pool_id(&self.user_pool_id)
            .username(user.to_string())
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
