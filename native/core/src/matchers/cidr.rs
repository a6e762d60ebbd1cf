//! CIDR networks (`cidr` predicates): IPv4 and IPv6 networks parsed from
//! `addr/len` (or a bare address = a single host); the value is parsed as an
//! IP address with `std::net`. Families never cross (an IPv4 value never
//! matches an IPv6 network).

use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    V4 { addr: u32, mask: u32 },
    V6 { addr: u128, mask: u128 },
}

impl Network {
    pub fn parse(s: &str) -> Result<Network, String> {
        let (a, len) = match s.trim().split_once('/') {
            Some((a, l)) => (
                a,
                Some(
                    l.parse::<u8>()
                        .map_err(|_| format!("bad prefix length in {s:?}"))?,
                ),
            ),
            None => (s.trim(), None),
        };
        let ip: IpAddr = a
            .parse()
            .map_err(|_| format!("bad network address {s:?}"))?;
        match ip {
            IpAddr::V4(v4) => {
                let l = len.unwrap_or(32);
                if l > 32 {
                    return Err(format!("prefix length {l} > 32 in {s:?}"));
                }
                let mask = if l == 0 { 0 } else { u32::MAX << (32 - l) };
                Ok(Network::V4 {
                    addr: u32::from(v4) & mask,
                    mask,
                })
            }
            IpAddr::V6(v6) => {
                let l = len.unwrap_or(128);
                if l > 128 {
                    return Err(format!("prefix length {l} > 128 in {s:?}"));
                }
                let mask = if l == 0 { 0 } else { u128::MAX << (128 - l) };
                Ok(Network::V6 {
                    addr: u128::from(v6) & mask,
                    mask,
                })
            }
        }
    }

    #[inline]
    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self, ip) {
            (Network::V4 { addr, mask }, IpAddr::V4(v)) => u32::from(*v) & mask == *addr,
            (Network::V6 { addr, mask }, IpAddr::V6(v)) => u128::from(*v) & mask == *addr,
            _ => false,
        }
    }
}

/// Parse value text as an IP address.
#[inline]
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    s.trim_ascii().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nets() {
        let n = Network::parse("10.0.0.0/8").unwrap();
        assert!(n.contains(&parse_ip("10.1.2.3").unwrap()));
        assert!(!n.contains(&parse_ip("11.1.2.3").unwrap()));
        let n6 = Network::parse("fe80::/10").unwrap();
        assert!(n6.contains(&parse_ip("fe80::1").unwrap()));
        assert!(!n6.contains(&parse_ip("10.1.2.3").unwrap()));
        assert!(Network::parse("0.0.0.0/0")
            .unwrap()
            .contains(&parse_ip("1.2.3.4").unwrap()));
        assert!(Network::parse("1.2.3.4/33").is_err());
        assert!(Network::parse("nope").is_err());
        assert!(parse_ip("not an ip").is_none());
    }
}
