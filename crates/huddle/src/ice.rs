//! The ICE servers each participant is handed in `joined`: the operator's own (`--ice-server`), or
//! else huddle's built-in STUN/TURN with fresh, personal, expiring credentials.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::uri::Authority;

use crate::protocol::{IceServer, ParticipantId};

/// huddle's own STUN/TURN server as browsers should reach it.
#[derive(Debug, Clone)]
pub struct BuiltinTurn {
    pub port: u16,
    /// Shared secret of the REST-API credentials.
    pub secret: Vec<u8>,
    /// Host put in the URLs; `None` uses the host the browser reached the web server by.
    pub advertised_host: Option<String>,
    /// How long handed-out credentials stay valid; allocations cannot be refreshed after that.
    pub credential_ttl: Duration,
    /// Ports of TURN over TLS, advertised as `turns:` URLs (with HTTPS on).
    pub tls_ports: Vec<u16>,
}

#[derive(Debug, Clone, Default)]
pub struct IceServers {
    pub operator: Vec<IceServer>,
    pub builtin: Option<BuiltinTurn>,
}

/// How long the credentials of a connectivity test stay valid: the checks take seconds, and
/// allocations made with them cannot be refreshed past it.
const CONNECTIVITY_TEST_TTL: Duration = Duration::from_secs(10 * 60);

impl IceServers {
    /// `request_host` is the `Host` the browser used, e.g. `meet.example.org` or `[::1]:8080`.
    pub fn for_participant(&self, request_host: &str, id: &ParticipantId) -> Vec<IceServer> {
        let ttl = self.builtin.as_ref().map(|turn| turn.credential_ttl);
        self.issue(request_host, &id.0, ttl.unwrap_or_default())
    }

    /// The servers `/turn-test` checks, with credentials of its own that expire within minutes.
    pub fn for_connectivity_test(&self, request_host: &str) -> Vec<IceServer> {
        let user = format!("turn-test-{:08x}", rand::random::<u32>());
        self.issue(request_host, &user, CONNECTIVITY_TEST_TTL)
    }

    fn issue(&self, request_host: &str, user: &str, ttl: Duration) -> Vec<IceServer> {
        if !self.operator.is_empty() {
            return self.operator.clone();
        }
        let Some(turn) = &self.builtin else {
            return Vec::new();
        };
        let host = turn
            .advertised_host
            .clone()
            .or_else(|| url_host(request_host))
            .unwrap_or_else(|| "localhost".to_owned());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_secs();
        let credentials = huddle_turn::rest_credentials(&turn.secret, user, ttl, now);
        let port = turn.port;
        let turns = turn
            .tls_ports
            .iter()
            .map(|tls_port| format!("turns:{host}:{tls_port}?transport=tcp"));
        vec![
            IceServer {
                urls: vec![format!("stun:{host}:{port}")],
                username: None,
                credential: None,
            },
            IceServer {
                urls: [
                    format!("turn:{host}:{port}?transport=udp"),
                    format!("turn:{host}:{port}?transport=tcp"),
                ]
                .into_iter()
                .chain(turns)
                .collect(),
                username: Some(credentials.username),
                credential: Some(credentials.password),
            },
        ]
    }
}

/// The host part of a `Host` header, as it goes into a URL (IPv6 keeps its brackets).
fn url_host(request_host: &str) -> Option<String> {
    let authority: Authority = request_host.parse().ok()?;
    Some(authority.host().to_owned())
}

/// A literal IP as it goes into a URL.
pub fn url_host_of(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin(advertised_host: Option<&str>) -> IceServers {
        IceServers {
            operator: Vec::new(),
            builtin: Some(BuiltinTurn {
                port: 3478,
                secret: b"s3cret".to_vec(),
                advertised_host: advertised_host.map(str::to_owned),
                credential_ttl: Duration::from_secs(3600),
                tls_ports: Vec::new(),
            }),
        }
    }

    #[test]
    fn builtin_turn_uses_the_host_the_browser_used() {
        let servers =
            builtin(None).for_participant("meet.example.org:8080", &ParticipantId("p1".into()));
        assert_eq!(servers[0].urls, vec!["stun:meet.example.org:3478"]);
        assert_eq!(
            servers[1].urls,
            vec![
                "turn:meet.example.org:3478?transport=udp",
                "turn:meet.example.org:3478?transport=tcp"
            ]
        );
        let username = servers[1].username.as_deref().unwrap();
        let (expiry, user) = username.split_once(':').unwrap();
        assert_eq!(user, "p1");
        assert!(expiry.parse::<u64>().unwrap() > 1_700_000_000);
        assert_eq!(
            servers[1].credential.as_deref(),
            Some(huddle_turn::rest_password(b"s3cret", username).as_str())
        );
    }

    #[test]
    fn connectivity_test_credentials_expire_within_minutes() {
        let servers = builtin(None).for_connectivity_test("localhost:8080");
        let username = servers[1].username.as_deref().unwrap();
        let (expiry, user) = username.split_once(':').unwrap();
        assert!(user.starts_with("turn-test-"), "{user}");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let expires_in = expiry.parse::<u64>().unwrap() - now;
        assert!((500..=600).contains(&expires_in), "{expires_in}");
    }

    #[test]
    fn ipv6_hosts_keep_brackets_and_external_ip_wins() {
        let id = ParticipantId("p".into());
        let servers = builtin(None).for_participant("[::1]:8080", &id);
        assert_eq!(servers[0].urls, vec!["stun:[::1]:3478"]);
        let servers = builtin(Some("203.0.113.7")).for_participant("localhost:8080", &id);
        assert_eq!(servers[0].urls, vec!["stun:203.0.113.7:3478"]);
        assert_eq!(url_host_of("2001:db8::1".parse().unwrap()), "[2001:db8::1]");
    }

    #[test]
    fn operator_servers_override() {
        let operator = vec![IceServer {
            urls: vec!["stun:stun.example.org:3478".into()],
            username: None,
            credential: None,
        }];
        let servers = IceServers {
            operator: operator.clone(),
            ..builtin(None)
        };
        assert_eq!(
            servers.for_participant("x", &ParticipantId("p".into())),
            operator
        );
        assert!(IceServers::default()
            .for_participant("x", &ParticipantId("p".into()))
            .is_empty());
    }
}
