//! The `Identity` port's contract on both adapters: the local identity, and
//! Cognito on moto. moto accepts any TOTP code and ignores turning a
//! software token off, so wrong codes, lockout and MFA reset are checked on
//! the local identity (in `accounts.rs`), not here.

use std::sync::Arc;

use chrono::Utc;
use portico_core::clock::SystemClock;
use portico_core::domain::{EmailAddress, OrgId, OrgKind, Password, UserId};
use portico_core::identity::cognito::CognitoIdentity;
use portico_core::identity::local::LocalIdentity;
use portico_core::identity::tokens::LocalTokens;
use portico_core::identity::{Identity, IdentityError, IdentityUser, SignIn};
use portico_tests::{Backend, fresh_table, moto_user_pool};

const PW: &str = "Correct horse battery staple 42!";

async fn identity(b: Backend) -> Arc<dyn Identity> {
    match b {
        Backend::Sqlite => {
            let table = fresh_table(Backend::Sqlite, Arc::new(SystemClock)).await;
            Arc::new(LocalIdentity::new(
                table,
                Arc::new(LocalTokens::from_secret(&[9u8; 32])),
                Arc::new(SystemClock),
            ))
        }
        Backend::Dynamo => {
            let (client, pool, app) = moto_user_pool().await;
            let sessions = fresh_table(Backend::Dynamo, Arc::new(SystemClock)).await;
            Arc::new(CognitoIdentity::new(client, pool, app, sessions, Arc::new(SystemClock)))
        }
    }
}

fn code(secret: &str, steps: i64) -> String {
    let at = Utc::now() + chrono::Duration::seconds(30 * steps);
    LocalIdentity::code_at(secret, at).unwrap_or_else(|_| format!("{:06}", (at.timestamp() / 30) % 1_000_000))
}

pub async fn password_then_enrolment_then_mfa(b: Backend) {
    let idp = identity(b).await;
    let email = EmailAddress::parse(&format!("{}@contract.example.com", uuid::Uuid::new_v4().simple())).unwrap();
    let user = IdentityUser {
        id: UserId(uuid::Uuid::now_v7()),
        org_id: OrgId(uuid::Uuid::now_v7()),
        org_kind: OrgKind::Partner,
        email: &email,
    };
    // No identity yet: refused like a wrong password.
    assert!(matches!(
        idp.sign_in(user.id, PW).await,
        Err(IdentityError::BadCredentials)
    ));
    idp.set_password(user, &Password::parse(PW, &email).unwrap())
        .await
        .unwrap();
    // Setting it again (a reset) is fine.
    idp.set_password(user, &Password::parse(PW, &email).unwrap())
        .await
        .unwrap();
    assert!(matches!(
        idp.sign_in(user.id, "wrong password!!").await,
        Err(IdentityError::BadCredentials)
    ));
    let tokens = match idp.sign_in(user.id, PW).await.unwrap() {
        SignIn::Done(t) => t,
        other => panic!("no MFA enrolled yet: {other:?}"),
    };
    assert_eq!(tokens.user_id, user.id);
    assert!(!tokens.id_token.is_empty());
    let session = idp.enrolment_session(&tokens).await.unwrap();
    let setup = idp.begin_totp(&session).await.unwrap();
    assert!(!setup.secret.is_empty(), "a secret for the app");
    let enrolled = idp.confirm_totp(&setup.session, &code(&setup.secret, 0)).await.unwrap();
    assert_eq!(enrolled.user_id, user.id);
    // From now on a code is required.
    let session = match idp.sign_in(user.id, PW).await.unwrap() {
        SignIn::MfaCode { session } => session,
        other => panic!("MFA is enrolled: {other:?}"),
    };
    let t = idp.answer_mfa(&session, &code(&setup.secret, 1)).await.unwrap();
    assert_eq!(t.user_id, user.id);
    assert!(matches!(
        idp.answer_mfa("not a session", "123456").await,
        Err(IdentityError::SessionExpired)
    ));
    // A disabled identity tells nothing to a wrong password. (The local one
    // says Disabled to the right one; Cognito keeps users enabled and ends
    // their sessions, as Portico's login record refuses suspended users
    // after the password: see CognitoIdentity::disable.)
    idp.disable(user.id).await.unwrap();
    assert!(matches!(
        idp.sign_in(user.id, "wrong password, long enough").await,
        Err(IdentityError::BadCredentials)
    ));
    assert!(!matches!(
        idp.sign_in(user.id, PW).await,
        Err(IdentityError::BadCredentials)
    ));
    // A user without an identity: as a wrong password.
    assert!(matches!(
        idp.sign_in(portico_core::domain::UserId(uuid::Uuid::new_v4()), PW)
            .await,
        Err(IdentityError::BadCredentials)
    ));
    idp.enable(user.id).await.unwrap();
    assert!(matches!(idp.sign_in(user.id, PW).await, Ok(SignIn::MfaCode { .. })));
    idp.sign_out_everywhere(user.id).await.unwrap();
}

mod local_identity {
    #[tokio::test]
    async fn password_then_enrolment_then_mfa() {
        super::password_then_enrolment_then_mfa(super::Backend::Sqlite).await
    }
}

mod cognito_on_moto {
    #[tokio::test]
    async fn password_then_enrolment_then_mfa() {
        super::password_then_enrolment_then_mfa(super::Backend::Dynamo).await
    }
}
