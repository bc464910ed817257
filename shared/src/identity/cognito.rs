//! Cognito adapter. Portico's user id is the Cognito username; the user's
//! organisation is the read-only custom attribute `org`, so both reach the
//! API through the ID token's claims (`cognito:username`, `custom:org`).
//! Users are created with `MessageAction=SUPPRESS`: Portico sends its own
//! Password Setup links (Cognito's temporary passwords last at least a day).

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, AuthenticationResultType, ChallengeNameType, MessageActionType,
    SoftwareTokenMfaSettingsType,
};
use std::sync::Arc;

use base64::Engine;
use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Identity, IdentityError, IdentityUser, SignIn, Tokens, TotpSetup};
use crate::accounts::LinkToken;
use crate::clock::Clock;
use crate::domain::{Password, UserId};
use crate::store::{Cond, Item, Key, StoreError, Table, Write};

pub struct CognitoIdentity {
    client: Client,
    user_pool_id: String,
    client_id: String,
    /// Where sign-in sessions wait between steps: the client holds only a
    /// random handle, never Cognito's session, tokens or the username.
    sessions: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
}

/// How long a sign-in step may take (Cognito's own sessions last 3 minutes).
const SESSION_MINUTES: i64 = 5;

/// What a sign-in session holds between steps (in memory).
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
    expires_at: DateTime<Utc>,
}

/// What the table keeps of a sign-in session: Cognito's challenge session
/// and tokens only sealed (ChaCha20-Poly1305) under a key derived from the
/// handle the client holds, which the table never sees (its key is another
/// hash of the handle). Reading the table yields no token.
#[derive(Debug, Serialize, Deserialize)]
struct Sealed {
    /// base64(nonce || ciphertext of the JSON `Session`).
    sealed: String,
    expires_at: DateTime<Utc>,
}

fn session_key(handle: &str) -> Key {
    Key::new(
        format!("IDSESSION#{}", hex::encode(Sha256::digest(handle.as_bytes()))),
        "IDSESSION",
    )
}

fn cipher(handle: &str) -> ChaCha20Poly1305 {
    let key = Sha256::new()
        .chain_update(b"portico/cognito-session/key\0")
        .chain_update(handle.as_bytes())
        .finalize();
    ChaCha20Poly1305::new(&key)
}

fn seal(handle: &str, s: &Session) -> Result<Sealed, IdentityError> {
    let plain = serde_json::to_vec(s).map_err(|e| IdentityError::Unavailable(e.to_string()))?;
    let nonce = ChaCha20Poly1305::generate_nonce(&mut chacha20poly1305::aead::OsRng);
    let mut out = nonce.to_vec();
    out.extend(
        cipher(handle)
            .encrypt(&nonce, plain.as_slice())
            .map_err(|_| IdentityError::Unavailable("sealing a sign-in session".into()))?,
    );
    Ok(Sealed {
        sealed: base64::engine::general_purpose::STANDARD.encode(out),
        expires_at: s.expires_at,
    })
}

fn unseal(handle: &str, sealed: &Sealed) -> Result<Session, IdentityError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&sealed.sealed)
        .map_err(|_| IdentityError::SessionExpired)?;
    if bytes.len() < 12 {
        return Err(IdentityError::SessionExpired);
    }
    let (nonce, ct) = bytes.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| IdentityError::SessionExpired)?;
    let plain = cipher(handle)
        .decrypt(&nonce.into(), ct)
        .map_err(|_| IdentityError::SessionExpired)?;
    serde_json::from_slice(&plain).map_err(|_| IdentityError::SessionExpired)
}

fn store(e: StoreError) -> IdentityError {
    IdentityError::Unavailable(e.to_string())
}

impl Session {
    fn user(&self) -> Result<UserId, IdentityError> {
        UserId::parse(&self.u).map_err(|_| IdentityError::SessionExpired)
    }
}

fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(e: SdkError<E, R>) -> IdentityError {
    IdentityError::Unavailable(DisplayErrorContext(&e).to_string())
}

/// Done, or nothing to do: a user with no identity (never set a password)
/// has nothing to disable, enable or sign out, as with the local identity.
fn done_unless_failed<T, E, R>(r: Result<T, SdkError<E, R>>) -> Result<(), IdentityError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("UserNotFoundException") => Ok(()),
        Err(e) => Err(unavailable(e)),
    }
}

fn tokens(user: UserId, r: Option<AuthenticationResultType>) -> Result<Tokens, IdentityError> {
    let r = r.ok_or_else(|| IdentityError::Unavailable("no authentication result".into()))?;
    let id_token = r
        .id_token
        .ok_or_else(|| IdentityError::Unavailable("no ID token".into()))?;
    Tokens::issued(user, id_token, r.access_token)
}

impl CognitoIdentity {
    pub fn new(
        client: Client,
        user_pool_id: impl Into<String>,
        client_id: impl Into<String>,
        sessions: Arc<dyn Table>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            client,
            user_pool_id: user_pool_id.into(),
            client_id: client_id.into(),
            sessions,
            clock,
        }
    }

    fn session(&self, user: UserId, s: Option<String>, a: Option<String>, i: Option<String>) -> Session {
        Session {
            u: user.to_string(),
            s,
            a,
            i,
            expires_at: self.clock.now() + chrono::Duration::minutes(SESSION_MINUTES),
        }
    }

    /// Stores a session; the client gets a random handle to it.
    async fn save(&self, handle: Option<&str>, session: &Session) -> Result<String, IdentityError> {
        let handle = handle
            .map(str::to_string)
            .unwrap_or_else(|| LinkToken::generate().expose().to_string());
        let item = Item::new(session_key(&handle), "CognitoSession", 1, &seal(&handle, session)?)
            .map_err(store)?
            .with_ttl(session.expires_at.timestamp());
        self.sessions
            .transact(vec![Write::Put { item, cond: Cond::None }])
            .await
            .map_err(store)?;
        Ok(handle)
    }

    async fn load(&self, handle: &str) -> Result<Session, IdentityError> {
        let s = match self.sessions.get(&session_key(handle)).await.map_err(store)? {
            Some(item) => unseal(handle, &item.decode().map_err(|_| IdentityError::SessionExpired)?)?,
            None => return Err(IdentityError::SessionExpired),
        };
        if s.expires_at <= self.clock.now() {
            return Err(IdentityError::SessionExpired);
        }
        Ok(s)
    }

    /// A session works once to completion.
    async fn end(&self, handle: &str) -> Result<(), IdentityError> {
        match self
            .sessions
            .transact(vec![Write::Delete {
                key: session_key(handle),
                cond: Cond::MustExist,
            }])
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::ConditionFailed { .. }) => Err(IdentityError::SessionExpired),
            Err(e) => Err(store(e)),
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
            .user_attributes(
                attr("custom:org_kind", user.org_kind.as_str().into())
                    .map_err(|e| IdentityError::Unavailable(e.to_string()))?,
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
        use aws_sdk_cognitoidentityprovider::operation::admin_initiate_auth::AdminInitiateAuthError as E;
        // The admin flow (IAM-signed, from the session function only): the
        // app client allows no public sign-in flow.
        let out = self
            .client
            .admin_initiate_auth()
            .user_pool_id(&self.user_pool_id)
            .auth_flow(AuthFlowType::AdminUserPasswordAuth)
            .client_id(&self.client_id)
            .auth_parameters("USERNAME", user.to_string())
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .map_err(|e| match e.into_service_error() {
                // Users disabled at Cognito before suspension stopped doing so.
                E::NotAuthorizedException(n) if n.message().is_some_and(|m| m.contains("disabled")) => {
                    IdentityError::Disabled
                }
                E::NotAuthorizedException(_)
                | E::UserNotFoundException(_)
                | E::UserNotConfirmedException(_)
                | E::PasswordResetRequiredException(_) => IdentityError::BadCredentials,
                E::TooManyRequestsException(_) => IdentityError::Locked,
                other => IdentityError::Unavailable(DisplayErrorContext(&other).to_string()),
            })?;
        match out.challenge_name {
            Some(ChallengeNameType::SoftwareTokenMfa) => Ok(SignIn::MfaCode {
                session: self.save(None, &self.session(user, out.session, None, None)).await?,
            }),
            Some(ChallengeNameType::MfaSetup) => Ok(SignIn::MfaSetup {
                session: self.save(None, &self.session(user, out.session, None, None)).await?,
            }),
            Some(other) => Err(IdentityError::Unavailable(format!("unexpected challenge {other:?}"))),
            None => Ok(SignIn::Done(tokens(user, out.authentication_result)?)),
        }
    }

    async fn enrolment_session(&self, t: &Tokens) -> Result<String, IdentityError> {
        let access = t.access_token.clone().ok_or(IdentityError::SessionExpired)?;
        self.save(
            None,
            &self.session(t.user_id, None, Some(access), Some(t.id_token.clone())),
        )
        .await
    }

    async fn begin_totp(&self, session: &str) -> Result<TotpSetup, IdentityError> {
        let mut s = self.load(session).await?;
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
        let handle = self.save(Some(session), &s).await?;
        Ok(TotpSetup {
            secret,
            session: handle,
        })
    }

    async fn confirm_totp(&self, session: &str, code: &str) -> Result<Tokens, IdentityError> {
        use aws_sdk_cognitoidentityprovider::operation::verify_software_token::VerifySoftwareTokenError as E;
        let s = self.load(session).await?;
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
                    .admin_respond_to_auth_challenge()
                    .user_pool_id(&self.user_pool_id)
                    .client_id(&self.client_id)
                    .challenge_name(ChallengeNameType::MfaSetup)
                    .set_session(out.session)
                    .challenge_responses("USERNAME", &s.u)
                    .send()
                    .await
                    .map_err(unavailable)?;
                self.set_software_token(&s.u, true).await?;
                self.end(session).await?;
                tokens(user, r.authentication_result)
            }
            // Signed in without MFA: turn TOTP on for the next sign-ins.
            (None, Some(id_token)) => {
                self.set_software_token(&s.u, true).await?;
                self.end(session).await?;
                Tokens::issued(user, id_token, None)
            }
            (None, None) => Err(IdentityError::SessionExpired),
        }
    }

    async fn answer_mfa(&self, session: &str, code: &str) -> Result<Tokens, IdentityError> {
        use aws_sdk_cognitoidentityprovider::operation::admin_respond_to_auth_challenge::AdminRespondToAuthChallengeError as E;
        let s = self.load(session).await?;
        let user = s.user()?;
        let out = self
            .client
            .admin_respond_to_auth_challenge()
            .user_pool_id(&self.user_pool_id)
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
        self.end(session).await?;
        tokens(user, out.authentication_result)
    }

    async fn reset_mfa(&self, user: UserId) -> Result<(), IdentityError> {
        self.set_software_token(&user.to_string(), false).await
    }

    /// Ends the user's Cognito sessions (refresh tokens). The user stays
    /// enabled at Cognito: the app client admits no sign-in but Portico's
    /// (AdminInitiateAuth), which refuses a suspended login after checking
    /// the password, and the API accepts no token whose session Portico did
    /// not open. A disabled Cognito user would be refused before the
    /// password is checked, telling anyone that the account is suspended.
    async fn disable(&self, user: UserId) -> Result<(), IdentityError> {
        self.sign_out_everywhere(user).await
    }

    /// Nothing to undo at Cognito (see [`Self::disable`]).
    async fn enable(&self, _user: UserId) -> Result<(), IdentityError> {
        Ok(())
    }

    async fn sign_out_everywhere(&self, user: UserId) -> Result<(), IdentityError> {
        done_unless_failed(
            self.client
                .admin_user_global_sign_out()
                .user_pool_id(&self.user_pool_id)
                .username(user.to_string())
                .send()
                .await,
        )
    }
}
