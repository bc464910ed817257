//! The SSRF-safe client against real sockets: each refusal sends nothing,
//! redirects are not followed, answers are capped, calls time out at 5 s.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use portico_core::outbound::Outbound as _;
use portico_core::outbound::{CallError, Client, Policy, Refusal};

/// A server on 127.0.0.1 answering every request with `answer`, counting them.
async fn server(answer: axum::response::Response<String>, delay: std::time::Duration) -> (u16, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let (status, headers, body) = {
        let (parts, body) = answer.into_parts();
        (parts.status, parts.headers, body)
    };
    let app = axum::Router::new().fallback(move || {
        let (h, headers, body) = (h.clone(), headers.clone(), body.clone());
        async move {
            h.fetch_add(1, SeqCst);
            tokio::time::sleep(delay).await;
            (status, headers, body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, hits)
}

fn ok(body: &str) -> axum::response::Response<String> {
    axum::response::Response::builder()
        .status(200)
        .body(body.to_string())
        .unwrap()
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_and_nothing_is_sent() {
    let (port, hits) = server(ok("{}"), Default::default()).await;
    let strict = Client::new(Policy::default()).unwrap();
    let refused = strict
        .post_json(
            &format!("https://localhost:{port}/.well-known/portico/verify"),
            &[],
            b"{}".to_vec(),
        )
        .await;
    match refused {
        Err(CallError::Refused(Refusal::NotPublic(ip, "loopback"))) => assert!(ip.is_loopback()),
        other => panic!("{other:?}"),
    }
    assert_eq!(hits.load(SeqCst), 0, "nothing was sent");
}

#[tokio::test]
async fn the_cloud_metadata_address_is_refused_before_any_connection() {
    let strict = Client::new(Policy::default()).unwrap();
    let refused = strict
        .post_json("https://169.254.169.254/latest/meta-data/", &[], Vec::new())
        .await;
    assert_eq!(
        refused,
        Err(CallError::Refused(Refusal::NotPublic(
            "169.254.169.254".parse().unwrap(),
            "link-local (cloud metadata)"
        )))
    );
    let plain = strict.post_json("http://instance.example.com/", &[], Vec::new()).await;
    assert_eq!(plain, Err(CallError::Refused(Refusal::NotHttps)));
}

#[tokio::test]
async fn redirects_are_not_followed_answers_are_capped_and_slow_ones_time_out() {
    // Loopback allowed (the local reference instance's policy), to serve the cases.
    let local = Client::new(Policy { allow_loopback: true }).unwrap();
    let (elsewhere, elsewhere_hits) = server(ok("{}"), Default::default()).await;
    let redirect = axum::response::Response::builder()
        .status(302)
        .header("location", format!("http://127.0.0.1:{elsewhere}/"))
        .body(String::new())
        .unwrap();
    let (port, hits) = server(redirect, Default::default()).await;
    let answer = local
        .post_json(&format!("http://127.0.0.1:{port}/"), &[], b"{}".to_vec())
        .await;
    assert_eq!(answer, Err(CallError::Redirected(302)));
    assert_eq!(
        (hits.load(SeqCst), elsewhere_hits.load(SeqCst)),
        (1, 0),
        "the redirect was not followed"
    );

    let (port, _) = server(ok(&"x".repeat(100 * 1024)), Default::default()).await;
    let answer = local
        .post_json(&format!("http://127.0.0.1:{port}/"), &[], Vec::new())
        .await;
    assert_eq!(answer, Err(CallError::TooLarge(64 * 1024)));

    let (port, _) = server(ok("{\"ok\":true}"), Default::default()).await;
    let answer = local
        .post_json(
            &format!("http://127.0.0.1:{port}/"),
            &[("x-portico-signature", "v1=abc".into())],
            b"{}".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!((answer.status, answer.body.as_slice()), (200, &b"{\"ok\":true}"[..]));

    let started = std::time::Instant::now();
    let (port, _) = server(ok("{}"), std::time::Duration::from_secs(8)).await;
    let answer = local
        .post_json(&format!("http://127.0.0.1:{port}/"), &[], Vec::new())
        .await;
    assert_eq!(answer, Err(CallError::NoAnswer("timed out after 5 s".into())));
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(7),
        "gave up at the 5 s limit, not later: {took:?}"
    );
}
