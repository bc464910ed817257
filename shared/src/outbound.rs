//! Calls to URLs customers gave (their instances), safe against SSRF: the
//! policy every outbound call obeys, before any I/O.
//!
//! - HTTPS only, a host name or address, no user info, no fragment.
//! - Every address the host resolves to must be public: loopback, private
//!   (RFC 1918), link-local (169.254/16 with the cloud metadata address,
//!   fe80::/10), CGNAT (100.64/10), unique-local (fc00::/7), multicast,
//!   documentation, benchmarking, reserved and unspecified ranges are
//!   refused, and so are IPv4-mapped, IPv4-compatible and NAT64 IPv6 forms
//!   (they reach IPv4 hosts the IPv4 rules would judge). One refused
//!   address refuses the host: the client then connects only to the
//!   addresses checked, so a second lookup (DNS rebinding) cannot change them.
//! - No redirects, no proxy, a 5 s connect and total timeout, and a 64 KiB
//!   cap on the answer ([`LIMITS`]), applied by the client.
//!
//! Loopback may be allowed for the local portal's reference instance
//! ([`Policy::allow_loopback`]); the Lambdas never set it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// What an outbound call may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub connect_timeout: std::time::Duration,
    pub total_timeout: std::time::Duration,
    pub max_response_bytes: usize,
}

pub const LIMITS: Limits = Limits {
    connect_timeout: std::time::Duration::from_secs(5),
    total_timeout: std::time::Duration::from_secs(5),
    max_response_bytes: 64 * 1024,
};

/// Which addresses an outbound call may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// Loopback and `http://` allowed: the local portal's reference instance only.
    pub allow_loopback: bool,
}

/// Why a URL or an address may not be called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the URL is not valid: {0}")]
    NotAUrl(String),
    #[error("only https:// URLs may be called")]
    NotHttps,
    #[error("the URL must not carry a user name or password")]
    UserInfo,
    #[error("the URL has no host")]
    NoHost,
    #[error("{0} is not a public address ({1})")]
    NotPublic(IpAddr, &'static str),
    #[error("the host has no address")]
    NoAddress,
}

/// A URL that passed the policy's checks that need no lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: url::Url,
    /// The host to resolve (or the address itself).
    pub host: String,
    pub port: u16,
}

/// Checks a URL before anything is resolved or sent.
pub fn check_url(raw: &str, policy: Policy) -> Result<Target, Refusal> {
    let url = url::Url::parse(raw).map_err(|e| Refusal::NotAUrl(e.to_string()))?;
    // Plain HTTP only to the local reference instance: a loopback host.
    let loopback_host = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        None => false,
    };
    if url.scheme() != "https" && !(policy.allow_loopback && url.scheme() == "http" && loopback_host) {
        return Err(Refusal::NotHttps);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::UserInfo);
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(a)) => {
            check_address(IpAddr::V4(a), policy)?;
            a.to_string()
        }
        Some(url::Host::Ipv6(a)) => {
            check_address(IpAddr::V6(a), policy)?;
            a.to_string()
        }
        None => return Err(Refusal::NoHost),
    };
    let port = url.port_or_known_default().ok_or(Refusal::NoHost)?;
    Ok(Target { url, host, port })
}

/// Checks every address a host resolved to: all must be public (one that
/// is not refuses the host), and there must be at least one.
pub fn check_addresses(addresses: &[IpAddr], policy: Policy) -> Result<(), Refusal> {
    if addresses.is_empty() {
        return Err(Refusal::NoAddress);
    }
    addresses.iter().try_for_each(|a| check_address(*a, policy))
}

/// A range (checked when compiled: a bad prefix length does not build).
const fn v4(a: [u8; 4], len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a[0], a[1], a[2], a[3]), len)
}

const fn v6(a: [u16; 8], len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]), len)
}

/// The IPv4 ranges no outbound call may reach, and why.
const REFUSED_V4: [(Ipv4Net, &str); 15] = [
    (v4([0, 0, 0, 0], 8), "this network"),
    (v4([10, 0, 0, 0], 8), "private"),
    (v4([100, 64, 0, 0], 10), "carrier-grade NAT"),
    (v4([127, 0, 0, 0], 8), "loopback"),
    (v4([169, 254, 0, 0], 16), "link-local (cloud metadata)"),
    (v4([172, 16, 0, 0], 12), "private"),
    (v4([192, 0, 0, 0], 24), "IETF protocol assignments"),
    (v4([192, 0, 2, 0], 24), "documentation"),
    (v4([192, 88, 99, 0], 24), "6to4 relay"),
    (v4([192, 168, 0, 0], 16), "private"),
    (v4([198, 18, 0, 0], 15), "benchmarking"),
    (v4([198, 51, 100, 0], 24), "documentation"),
    (v4([203, 0, 113, 0], 24), "documentation"),
    (v4([224, 0, 0, 0], 4), "multicast"),
    (v4([240, 0, 0, 0], 4), "reserved or broadcast"),
];

/// The IPv6 ranges no outbound call may reach, and why.
const REFUSED_V6: [(Ipv6Net, &str); 12] = [
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 128), "unspecified"),
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), "loopback"),
    (v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96), "IPv4-mapped"),
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 96), "IPv4-compatible"),
    (v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96), "NAT64"),
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), "NAT64 (local use)"),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), "discard"),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), "documentation"),
    (v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16), "6to4"),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), "unique local"),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), "link-local"),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), "multicast"),
];

/// Whether one address may be called.
pub fn check_address(address: IpAddr, policy: Policy) -> Result<(), Refusal> {
    if policy.allow_loopback && address.is_loopback() {
        return Ok(());
    }
    let why = match address {
        IpAddr::V4(a) => REFUSED_V4.iter().find(|(net, _)| net.contains(&a)).map(|(_, why)| *why),
        IpAddr::V6(a) => REFUSED_V6.iter().find(|(net, _)| net.contains(&a)).map(|(_, why)| *why),
    };
    match why {
        Some(why) => Err(Refusal::NotPublic(address, why)),
        None => Ok(()),
    }
}

/// The client every call to a customer instance goes through.
#[cfg(feature = "outbound")]
pub use client::{Client, install_tls_provider};

/// What an instance answered (any status but a redirect), its body capped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why a call got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The policy refused the URL or an address it resolves to (nothing was sent).
    #[error("{0}")]
    Refused(Refusal),
    /// The instance answered with a redirect, which is not followed.
    #[error("the instance answered with a redirect (HTTP {0}), which Portico does not follow")]
    Redirected(u16),
    /// The answer is over the size cap.
    #[error("the answer is over {0} bytes")]
    TooLarge(usize),
    /// No answer: the name did not resolve, the connection failed or timed out.
    #[error("no answer: {0}")]
    NoAnswer(String),
}

/// The port operations call instances through: [`Client`] (feature
/// `outbound`), or [`NotLinked`] in a function built without it.
#[async_trait::async_trait]
pub trait Outbound: Send + Sync {
    /// POSTs `body` (JSON) to `url` with `headers`, within the policy and [`LIMITS`].
    async fn post_json(&self, url: &str, headers: &[(&str, String)], body: Vec<u8>) -> Result<Answer, CallError>;
}

/// The outbound port of a function built without it: every call is
/// refused (nothing is sent), and counted.
#[derive(Default)]
pub struct NotLinked {
    pub calls: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl Outbound for NotLinked {
    async fn post_json(&self, _: &str, _: &[(&str, String)], _: Vec<u8>) -> Result<Answer, CallError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Err(CallError::NoAnswer(
            "this function is built without outbound calls".into(),
        ))
    }
}

#[cfg(feature = "outbound")]
mod client {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use super::{Answer, CallError, LIMITS, Policy, check_addresses, check_url};

    /// The SSRF-safe client (see the module's documentation). Cheap to
    /// clone; each call builds its connection for the addresses it checked.
    #[derive(Clone)]
    pub struct Client {
        policy: Policy,
        tls: Arc<rustls::ClientConfig>,
    }

    impl Client {
        /// A client trusting the system's root certificates (rustls with aws-lc-rs).
        pub fn new(policy: Policy) -> Result<Self, String> {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // A certificate the store cannot parse is left out, as browsers do.
                let _ = roots.add(cert);
            }
            let tls =
                rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                    .with_safe_default_protocol_versions()
                    .map_err(|e| format!("TLS: {e}"))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
            Ok(Self {
                policy,
                tls: Arc::new(tls),
            })
        }
    }

    #[async_trait::async_trait]
    impl super::Outbound for Client {
        /// POSTs `body` (JSON) to `url` with `headers`, after the policy's
        /// checks; connects only to the addresses checked.
        async fn post_json(&self, url: &str, headers: &[(&str, String)], body: Vec<u8>) -> Result<Answer, CallError> {
            let target = check_url(url, self.policy).map_err(CallError::Refused)?;
            let addresses: Vec<SocketAddr> = tokio::time::timeout(
                LIMITS.connect_timeout,
                tokio::net::lookup_host((target.host.as_str(), target.port)),
            )
            .await
            .map_err(|_| CallError::NoAnswer(format!("looking up {} timed out", target.host)))?
            .map_err(|e| CallError::NoAnswer(format!("{} does not resolve: {e}", target.host)))?
            .collect();
            let ips: Vec<std::net::IpAddr> = addresses.iter().map(SocketAddr::ip).collect();
            check_addresses(&ips, self.policy).map_err(CallError::Refused)?;
            let client = reqwest::Client::builder()
                .use_preconfigured_tls((*self.tls).clone())
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .connect_timeout(LIMITS.connect_timeout)
                .timeout(LIMITS.total_timeout)
                .resolve_to_addrs(&target.host, &addresses)
                .build()
                .map_err(|e| CallError::NoAnswer(format!("client: {e}")))?;
            let mut request = client
                .post(target.url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            let mut response = request.send().await.map_err(|e| CallError::NoAnswer(no_answer(&e)))?;
            let status = response.status();
            if status.is_redirection() {
                return Err(CallError::Redirected(status.as_u16()));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| CallError::NoAnswer(no_answer(&e)))? {
                if body.len() + chunk.len() > LIMITS.max_response_bytes {
                    return Err(CallError::TooLarge(LIMITS.max_response_bytes));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Answer {
                status: status.as_u16(),
                body,
            })
        }
    }

    /// Makes aws-lc-rs (the SDK's provider) the process's rustls provider,
    /// for HTTPS clients built without a preconfigured TLS setup (the
    /// local portal's JWKS fetch, the tests' clients). Idempotent.
    pub fn install_tls_provider() {
        // Err: a provider is installed already, which is all this wants.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }

    /// A failed call in words (never the URL's query: it could carry a nonce).
    fn no_answer(e: &reqwest::Error) -> String {
        if e.is_timeout() {
            "timed out after 5 s".into()
        } else if e.is_connect() {
            "could not connect".into()
        } else {
            "the connection failed".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_loopback_link_local_cgnat_ula_and_mapped_addresses_are_refused() {
        let strict = Policy::default();
        for (a, why) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local (cloud metadata)"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("100.127.255.254", "carrier-grade NAT"),
            ("0.0.0.0", "this network"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "reserved or broadcast"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fc00::1", "unique local"),
            ("fd12:3456::1", "unique local"),
            ("fe80::1", "link-local"),
            ("::ffff:127.0.0.1", "IPv4-mapped"),
            ("::ffff:169.254.169.254", "IPv4-mapped"),
            ("::ffff:8.8.8.8", "IPv4-mapped"),
            ("64:ff9b::a9fe:a9fe", "NAT64"),
            ("ff02::1", "multicast"),
        ] {
            assert_eq!(check_address(ip(a), strict), Err(Refusal::NotPublic(ip(a), why)), "{a}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
        ] {
            assert_eq!(check_address(ip(a), Policy::default()), Ok(()), "{a}");
        }
    }

    #[test]
    fn loopback_only_when_the_local_policy_allows_it() {
        let local = Policy { allow_loopback: true };
        assert_eq!(check_address(ip("127.0.0.1"), local), Ok(()));
        assert_eq!(check_address(ip("::1"), local), Ok(()));
        // Nothing else opens up.
        assert!(check_address(ip("169.254.169.254"), local).is_err());
        assert!(check_address(ip("10.0.0.1"), local).is_err());
    }

    #[test]
    fn one_private_address_refuses_the_host() {
        let mixed = [ip("93.184.216.34"), ip("127.0.0.1")];
        assert!(matches!(
            check_addresses(&mixed, Policy::default()),
            Err(Refusal::NotPublic(..))
        ));
        assert_eq!(check_addresses(&[], Policy::default()), Err(Refusal::NoAddress));
        assert_eq!(check_addresses(&[ip("93.184.216.34")], Policy::default()), Ok(()));
    }

    #[test]
    fn urls_must_be_https_without_user_info() {
        let strict = Policy::default();
        assert_eq!(
            check_url("http://instance.example.com/", strict),
            Err(Refusal::NotHttps)
        );
        assert_eq!(check_url("ftp://instance.example.com/", strict), Err(Refusal::NotHttps));
        assert_eq!(
            check_url("https://user:pw@instance.example.com/", strict),
            Err(Refusal::UserInfo)
        );
        assert!(matches!(check_url("not a url", strict), Err(Refusal::NotAUrl(_))));
        assert!(matches!(
            check_url("https://169.254.169.254/latest/meta-data/", strict),
            Err(Refusal::NotPublic(..))
        ));
        assert!(matches!(
            check_url("https://[::1]:8443/", strict),
            Err(Refusal::NotPublic(..))
        ));
        let t = check_url("https://contoso.instances.example.com:8443/base", strict).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("contoso.instances.example.com", 8443));
        // The local portal's reference instance: http on loopback.
        let local = Policy { allow_loopback: true };
        assert_eq!(check_url("http://127.0.0.1:9100/", local).unwrap().port, 9100);
        assert_eq!(check_url("http://10.0.0.1/", local), Err(Refusal::NotHttps));
        assert_eq!(check_url("http://instance.example.com/", local), Err(Refusal::NotHttps));
        assert_eq!(
            check_url("https://10.0.0.1/", local),
            Err(Refusal::NotPublic(ip("10.0.0.1"), "private"))
        );
    }
}
