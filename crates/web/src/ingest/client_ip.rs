//! The client's IP address: the peer, or what trusted proxies say in
//! `X-Forwarded-For`.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// Proxies whose `X-Forwarded-For` is believed (`FAULTLINE_TRUSTED_PROXIES`).
pub(crate) struct TrustedProxies {
    nets: Vec<IpNet>,
}

impl TrustedProxies {
    /// From validated configuration entries (addresses or CIDR ranges).
    pub(crate) fn new(entries: &[String]) -> TrustedProxies {
        let nets = entries
            .iter()
            .filter_map(|e| e.parse::<IpNet>().ok().or_else(|| e.parse::<IpAddr>().ok().map(IpNet::from)))
            .collect();
        TrustedProxies { nets }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client address: walking `X-Forwarded-For` from the right, the first
    /// address that is not a trusted proxy — but only when the peer itself is one.
    pub(crate) fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let peer_ip = canonical(peer.ip());
        if !self.trusts(peer_ip) {
            return peer_ip;
        }
        let chain: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|part| parse_forwarded(part.trim()))
            .collect();
        for ip in chain.iter().rev() {
            if !self.trusts(*ip) {
                return *ip;
            }
        }
        chain.first().copied().unwrap_or(peer_ip)
    }
}

/// IPv4-mapped IPv6 addresses as plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `1.2.3.4`, `1.2.3.4:567`, `[::1]:80` or `::1`.
fn parse_forwarded(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    s.parse::<SocketAddr>().ok().map(|a| canonical(a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn only_trusted_peers_may_forward() {
        let proxies = TrustedProxies::new(&["10.0.0.0/8".into(), "127.0.0.1".into()]);
        let untrusted: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        assert_eq!(proxies.client_ip(untrusted, &headers("1.2.3.4")).to_string(), "203.0.113.9");
        let proxy: SocketAddr = "10.1.2.3:5000".parse().unwrap();
        assert_eq!(proxies.client_ip(proxy, &headers("1.2.3.4")).to_string(), "1.2.3.4");
        // A spoofed entry on the left is ignored: the rightmost untrusted hop wins.
        assert_eq!(proxies.client_ip(proxy, &headers("6.6.6.6, 1.2.3.4, 10.9.9.9")).to_string(), "1.2.3.4");
        assert_eq!(proxies.client_ip(proxy, &HeaderMap::new()).to_string(), "10.1.2.3");
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:80".parse().unwrap();
        assert_eq!(proxies.client_ip(mapped, &headers("[2001:db8::1]:443")).to_string(), "2001:db8::1");
        let none = TrustedProxies::new(&[]);
        assert_eq!(none.client_ip(proxy, &headers("1.2.3.4")).to_string(), "10.1.2.3");
    }
}
