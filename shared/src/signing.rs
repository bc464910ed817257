//! Signatures between Portico and a customer instance, with the secret of
//! their connection (HMAC-SHA256, as Stripe and Slack sign web hooks).
//!
//! A signed request carries `Portico-Signature: t=<unix seconds>,n=<nonce>,v1=<hex>`
//! where `<hex>` is the HMAC-SHA256, under the connection's secret, of
//! exactly these bytes (`\n` is one line feed, no trailing one):
//!
//! ```text
//! portico-v1\n<t>\n<METHOD>\n<path and query>\n<nonce>\n<hex SHA-256 of the body>
//! ```
//!
//! The receiver refuses a timestamp more than [`TOLERANCE_SECONDS`] away
//! from its clock and a nonce it has seen within that window, and compares
//! in constant time.
//!
//! An instance proves its identity to a verification challenge with
//! `proof = hex HMAC-SHA256(secret, "portico-verify\n<nonce>\n<instance id>\n<url>\n<profile>")`,
//! where `<url>` is the base URL the instance believes it lives at and
//! `<profile>` is `present` or `missing` (its Partner Support profile).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// How far a signature's timestamp may be from the receiver's clock.
pub const TOLERANCE_SECONDS: i64 = 300;

/// The signature header's name.
pub const HEADER: &str = "Portico-Signature";

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the signature is older or newer than {TOLERANCE_SECONDS} seconds")]
    Stale,
    #[error("the nonce was used already")]
    Replayed,
    #[error("the signature does not match")]
    Mismatch,
    #[error("the secret cannot key an HMAC")]
    BadSecret,
}

/// What a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path and query, as sent.
    pub path: &'a str,
    pub body: &'a [u8],
}

fn canonical(t: i64, nonce: &str, r: &Request<'_>) -> Vec<u8> {
    format!(
        "portico-v1\n{t}\n{}\n{}\n{nonce}\n{}",
        r.method.to_ascii_uppercase(),
        r.path,
        hex::encode(Sha256::digest(r.body))
    )
    .into_bytes()
}

/// The HMAC of `bytes` (HMAC takes keys of any length; the error the
/// constructor can name is kept rather than assumed away).
fn mac(secret: &[u8], bytes: &[u8]) -> Result<HmacSha256, SignatureError> {
    let mut m = <HmacSha256 as Mac>::new_from_slice(secret).map_err(|_| SignatureError::BadSecret)?;
    m.update(bytes);
    Ok(m)
}

/// The signature header's value for `request` at `t` with `nonce`.
pub fn sign(secret: &[u8], t: i64, nonce: &str, request: &Request<'_>) -> Result<String, SignatureError> {
    let tag = mac(secret, &canonical(t, nonce, request))?.finalize().into_bytes();
    Ok(format!("t={t},n={nonce},v1={}", hex::encode(tag)))
}

/// Checks a signature header for `request` at `now`; `fresh_nonce` says
/// whether the nonce is new (and remembers it): a replay is refused.
pub fn verify(
    secret: &[u8],
    header: &str,
    request: &Request<'_>,
    now: i64,
    fresh_nonce: impl FnOnce(&str) -> bool,
) -> Result<(), SignatureError> {
    let (mut t, mut nonce, mut tag) = (None, None, None);
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("n", v)) if !v.is_empty() && v.len() <= 128 => nonce = Some(v),
            Some(("v1", v)) => tag = hex::decode(v).ok(),
            _ => return Err(SignatureError::Malformed),
        }
    }
    let (Some(t), Some(nonce), Some(tag)) = (t, nonce, tag) else {
        return Err(SignatureError::Malformed);
    };
    if (now - t).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    mac(secret, &canonical(t, nonce, request))?
        .verify_slice(&tag)
        .map_err(|_| SignatureError::Mismatch)?;
    if !fresh_nonce(nonce) {
        return Err(SignatureError::Replayed);
    }
    Ok(())
}

fn proof_bytes(nonce: &str, instance_id: &str, url: &str, profile_present: bool) -> String {
    format!(
        "portico-verify\n{nonce}\n{instance_id}\n{url}\n{}",
        if profile_present { "present" } else { "missing" }
    )
}

/// An instance's answer to a verification challenge.
pub fn proof(
    secret: &[u8],
    nonce: &str,
    instance_id: &str,
    url: &str,
    profile_present: bool,
) -> Result<String, SignatureError> {
    let bytes = proof_bytes(nonce, instance_id, url, profile_present);
    Ok(hex::encode(mac(secret, bytes.as_bytes())?.finalize().into_bytes()))
}

/// Whether `given` is the proof for these values (constant-time).
pub fn proof_holds(
    secret: &[u8],
    given: &str,
    nonce: &str,
    instance_id: &str,
    url: &str,
    profile_present: bool,
) -> bool {
    let Ok(tag) = hex::decode(given) else {
        return false;
    };
    let bytes = proof_bytes(nonce, instance_id, url, profile_present);
    mac(secret, bytes.as_bytes()).is_ok_and(|m| m.verify_slice(&tag).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a connection's 32-byte secret...";

    fn req(body: &[u8]) -> Request<'_> {
        Request {
            method: "post",
            path: "/.well-known/portico/settings",
            body,
        }
    }

    #[test]
    fn a_signed_request_verifies_once() {
        let header = sign(SECRET, 1_795_600_000, "n-1", &req(b"{\"x\":1}")).unwrap();
        assert!(header.starts_with("t=1795600000,n=n-1,v1="));
        let mut seen = std::collections::HashSet::new();
        let ok = verify(SECRET, &header, &req(b"{\"x\":1}"), 1_795_600_100, |n| {
            seen.insert(n.to_string())
        });
        assert_eq!(ok, Ok(()));
        let again = verify(SECRET, &header, &req(b"{\"x\":1}"), 1_795_600_100, |n| {
            seen.insert(n.to_string())
        });
        assert_eq!(again, Err(SignatureError::Replayed));
    }

    #[test]
    fn tampering_stale_times_wrong_secrets_and_garbage_are_refused() {
        let header = sign(SECRET, 1_795_600_000, "n-2", &req(b"{\"x\":1}")).unwrap();
        let fresh = |_: &str| true;
        assert_eq!(
            verify(SECRET, &header, &req(b"{\"x\":2}"), 1_795_600_000, fresh),
            Err(SignatureError::Mismatch)
        );
        let other_path = Request {
            path: "/elsewhere",
            ..req(b"{\"x\":1}")
        };
        assert_eq!(
            verify(SECRET, &header, &other_path, 1_795_600_000, fresh),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"another secret", &header, &req(b"{\"x\":1}"), 1_795_600_000, fresh),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, &header, &req(b"{\"x\":1}"), 1_795_600_301, fresh),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(SECRET, &header, &req(b"{\"x\":1}"), 1_795_599_699, fresh),
            Err(SignatureError::Stale)
        );
        for bad in [
            "",
            "t=1",
            "t=x,n=a,v1=00",
            "t=1795600000,n=a,v1=zz",
            "t=1795600000,n=,v1=00",
            "t=1,n=a,v1=00,extra",
        ] {
            assert_eq!(
                verify(SECRET, bad, &req(b""), 1_795_600_000, fresh),
                Err(SignatureError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_signed_bytes_are_as_documented() {
        // Recomputed from the documented bytes, independently of `sign`.
        let body = b"{}";
        let text = format!(
            "portico-v1\n1795600000\nPOST\n/.well-known/portico/settings\nabc\n{}",
            hex::encode(Sha256::digest(body))
        );
        let tag = hex::encode(mac(SECRET, text.as_bytes()).unwrap().finalize().into_bytes());
        assert_eq!(
            sign(SECRET, 1_795_600_000, "abc", &req(body)).unwrap(),
            format!("t=1795600000,n=abc,v1={tag}")
        );
    }

    #[test]
    fn an_instance_proof_binds_nonce_id_url_and_profile() {
        let p = proof(SECRET, "nonce", "inst-1", "https://contoso.example.com", true).unwrap();
        assert!(proof_holds(
            SECRET,
            &p,
            "nonce",
            "inst-1",
            "https://contoso.example.com",
            true
        ));
        for (nonce, id, url, profile) in [
            ("other", "inst-1", "https://contoso.example.com", true),
            ("nonce", "inst-2", "https://contoso.example.com", true),
            ("nonce", "inst-1", "https://new.contoso.example.com", true),
            ("nonce", "inst-1", "https://contoso.example.com", false),
        ] {
            assert!(
                !proof_holds(SECRET, &p, nonce, id, url, profile),
                "{nonce} {id} {url} {profile}"
            );
        }
        assert!(!proof_holds(
            b"wrong",
            &p,
            "nonce",
            "inst-1",
            "https://contoso.example.com",
            true
        ));
        assert!(!proof_holds(
            SECRET,
            "not hex",
            "nonce",
            "inst-1",
            "https://contoso.example.com",
            true
        ));
    }
}
