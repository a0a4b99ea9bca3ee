//! `AkilesOAuth` alone: code exchange, refresh with rotation, and error sorting.

use akiles_oauth::{AkilesOAuth, OAuthError, TransientError};
use hr_domain::Clock;
use secrecy::ExposeSecret;

use crate::harness::{ACCESS_TTL, TestOAuth};

#[tokio::test]
async fn approved_code_yields_tokens_that_work_on_the_api() {
    let test = TestOAuth::spawn().await;

    let tokens = test.connect().await;

    assert_eq!(test.api_status(&tokens.access_token).await, 200);
    assert!(
        tokens.refresh_token.is_some(),
        "`offline` yields a refresh token"
    );
    assert_eq!(tokens.expires_at, Some(test.clock.now() + ACCESS_TTL));
    assert_eq!(tokens.scope.as_deref(), Some("full_read_write offline"));
}

#[tokio::test]
async fn denied_consent_returns_access_denied_with_the_state() {
    let test = TestOAuth::spawn().await;
    let request = test.oauth.authorization_request();

    let callback = test.deny(&request.url).await;

    assert_eq!(callback.error.as_deref(), Some("access_denied"));
    assert_eq!(callback.state.as_deref(), Some(request.state.as_str()));
    assert!(callback.code.is_none());
}

#[tokio::test]
async fn a_code_works_once_and_only_with_its_verifier() {
    let test = TestOAuth::spawn().await;
    let request = test.oauth.authorization_request();
    let code = test.approve(&request.url).await.code.unwrap();
    let other = test.oauth.authorization_request();

    let wrong_verifier = test.oauth.exchange_code(&code, &other.pkce_verifier).await;
    let second = test.oauth.authorization_request();
    let code2 = test.approve(&second.url).await.code.unwrap();
    let first_use = test
        .oauth
        .exchange_code(&code2, &second.pkce_verifier)
        .await;
    let reuse = test
        .oauth
        .exchange_code(&code2, &second.pkce_verifier)
        .await;

    assert!(matches!(wrong_verifier, Err(OAuthError::InvalidGrant)));
    assert!(first_use.is_ok());
    assert!(matches!(reuse, Err(OAuthError::InvalidGrant)));
}

#[tokio::test]
async fn refresh_rotates_and_the_old_refresh_token_stops_working() {
    let test = TestOAuth::spawn().await;
    let first = test.connect().await;
    let old = first.refresh_token.clone().unwrap();

    let second = test.oauth.refresh(&old).await.unwrap();
    let again = test.oauth.refresh(&old).await;

    let new = second.refresh_token.clone().unwrap();
    assert_ne!(new.expose_secret(), old.expose_secret());
    assert_ne!(
        second.access_token.expose_secret(),
        first.access_token.expose_secret()
    );
    assert_eq!(test.api_status(&second.access_token).await, 200);
    assert!(matches!(again, Err(OAuthError::InvalidGrant)));
    assert!(test.oauth.refresh(&new).await.is_ok());
    assert_eq!(test.emulator.token_refreshes(), 2);
    assert_eq!(test.token_requests(), 4, "one exchange and three refreshes");
}

#[tokio::test]
async fn revoked_grant_is_invalid_grant() {
    let test = TestOAuth::spawn().await;
    let tokens = test.connect().await;

    test.emulator.revoke_oauth_grants();
    let refreshed = test
        .oauth
        .refresh(tokens.refresh_token.as_ref().unwrap())
        .await;

    assert!(matches!(refreshed, Err(OAuthError::InvalidGrant)));
}

#[tokio::test]
async fn wrong_client_secret_is_invalid_client() {
    let test = TestOAuth::spawn().await;
    let tokens = test.connect().await;
    let settings = test.settings_with_secret("not-the-secret");
    let impostor = AkilesOAuth::new(settings).unwrap();

    let refreshed = impostor
        .refresh(tokens.refresh_token.as_ref().unwrap())
        .await;

    assert!(matches!(refreshed, Err(OAuthError::InvalidClient)));
}

#[tokio::test]
async fn unavailable_token_endpoint_is_transient_with_its_status() {
    let test = TestOAuth::spawn().await;
    let tokens = test.connect().await;
    let refresh_token = tokens.refresh_token.unwrap();

    for status in [503, 429, 500] {
        test.fail_token_endpoint(status);
        let refreshed = test.oauth.refresh(&refresh_token).await;
        let Err(OAuthError::Transient(TransientError::Status {
            status: got,
            retry_after,
        })) = refreshed
        else {
            panic!("{status} must be transient, got {refreshed:?}");
        };
        assert_eq!(got, status);
        assert_eq!(retry_after, Some(std::time::Duration::from_secs(3)));
    }

    test.heal_token_endpoint();
    assert!(test.oauth.refresh(&refresh_token).await.is_ok());
}

#[tokio::test]
async fn unreachable_token_endpoint_is_transient() {
    let test = TestOAuth::spawn().await;
    let tokens = test.connect().await;
    test.emulator.shutdown().await;

    let refreshed = test
        .oauth
        .refresh(tokens.refresh_token.as_ref().unwrap())
        .await;

    assert!(matches!(
        refreshed,
        Err(OAuthError::Transient(TransientError::Transport(_)))
    ));
}

#[tokio::test]
async fn errors_never_show_the_tokens_they_were_about() {
    let test = TestOAuth::spawn().await;
    let tokens = test.connect().await;
    let refresh_token = tokens.refresh_token.clone().unwrap();
    test.emulator.revoke_oauth_grants();

    let error = test.oauth.refresh(&refresh_token).await.unwrap_err();

    let printed = format!("{error} {error:?} {tokens:?}");
    assert!(!printed.contains(refresh_token.expose_secret()));
    assert!(!printed.contains(tokens.access_token.expose_secret()));
}
