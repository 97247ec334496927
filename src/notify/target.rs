//! Webhook targets: which URLs the Worker may deliver to. Pure, so every rule is tested
//! natively.
//!
//! Production accepts `https://` to a public host name or a public IP address only. The
//! parser is deliberately narrower than a WHATWG URL parser (and links no IDNA tables): it
//! refuses everything a browser-grade parser would read differently from it, so the URL that
//! was checked is the URL the runtime fetches. Refused: other schemes, user info, non-ASCII
//! and percent-encoded hosts, IP literals in loopback, private, link-local, shared (CGNAT),
//! documentation, multicast, reserved and cloud metadata ranges (IPv4 and IPv6, mapped and
//! translated forms included), host names whose last label is numeric (which WHATWG reads as
//! IPv4 in decimal, octal or hex), `localhost` and names under local-only suffixes, and ports
//! other than 443 and the other HTTPS ports Cloudflare connects to. What cannot be checked
//! here is where a public name resolves to; see the README (For integrators: webhooks).
//!
//! Local development and the black-box tests additionally allow `http://127.0.0.1:<port>/...`
//! when [`Targets::allow_loopback`] is set (the `WEBHOOK_ALLOW_LOOPBACK` var, which only
//! `make dev` and the test harness pass).

use std::net::{Ipv4Addr, Ipv6Addr};

/// Longest accepted URL.
pub const MAX_URL_LEN: usize = 2048;

/// HTTPS ports besides 443 that Cloudflare's network connects to.
const HTTPS_PORTS: [u16; 6] = [443, 2053, 2083, 2087, 2096, 8443];

/// Host name suffixes that never name a public host.
const LOCAL_SUFFIXES: [&str; 8] = [
    "localhost",
    "local",
    "localdomain",
    "internal",
    "intranet",
    "lan",
    "home.arpa",
    "corp",
];

/// Which targets are acceptable where this Worker runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Targets {
    /// Also accept `http://127.0.0.1:<port>` (local development and tests only).
    pub allow_loopback: bool,
}

/// A URL that passed [`Targets::check`], as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Targets {
    /// Checks `raw`; the error is a sentence for the `url` field of a 422.
    pub fn check(self, raw: &str) -> Result<WebhookUrl, String> {
        if raw.len() > MAX_URL_LEN {
            return Err(format!("must be at most {MAX_URL_LEN} characters"));
        }
        if raw
            .bytes()
            .any(|b| b <= b' ' || b >= 0x7f || b == b'\\' || b == b'#')
        {
            return Err("must be plain ASCII without spaces, backslashes or a fragment".into());
        }
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or("must be an absolute https:// URL")?;
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if authority.contains('@') {
            return Err("must not contain user info".into());
        }
        let (host, port) = split_port(authority)?;
        match scheme {
            "https" => {}
            "http" if self.allow_loopback && host == "127.0.0.1" && port.is_some() => {
                return Ok(WebhookUrl(raw.to_string()));
            }
            _ => return Err("must use https://".into()),
        }
        if let Some(port) = port {
            if !HTTPS_PORTS.contains(&port) {
                return Err(format!("port {port} is not allowed (use 443)"));
            }
        }
        check_host(host)?;
        Ok(WebhookUrl(raw.to_string()))
    }
}

/// Splits `host[:port]` (IPv6 in brackets); refuses an empty host or a malformed port.
fn split_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (v6, after) = inner.split_once(']').ok_or("has an unclosed [")?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("has junk after the address")?),
        };
        (&authority[..v6.len() + 2], port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("must name a host".into());
    }
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| "has a bad port")?)
        }
        Some(_) => return Err("has a bad port".into()),
    };
    Ok((host, port))
}

fn check_host(host: &str) -> Result<(), String> {
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let ip: Ipv6Addr = v6.parse().map_err(|_| "has a bad IPv6 address")?;
        return if public_v6(ip) {
            Ok(())
        } else {
            Err("must not be a loopback, private, link-local or reserved address".into())
        };
    }
    let name = host.to_ascii_lowercase();
    let labels: Vec<&str> = name.split('.').collect();
    let last = labels.last().copied().unwrap_or("");
    if last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x") {
        // WHATWG reads any host ending in a numeric label as IPv4: only the canonical
        // dotted quad is accepted, and checked like one.
        let ip: Ipv4Addr = name
            .parse()
            .map_err(|_| "must be a host name or a dotted IPv4 address")?;
        if ip.to_string() != name {
            return Err("must be a host name or a dotted IPv4 address".into());
        }
        return if public_v4(ip) {
            Ok(())
        } else {
            Err("must not be a loopback, private, link-local or reserved address".into())
        };
    }
    let valid_label = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if name.len() > 253 || labels.len() < 2 || !labels.iter().all(valid_label) {
        return Err("must be a public host name".into());
    }
    if LOCAL_SUFFIXES
        .iter()
        .any(|s| name == *s || name.ends_with(&format!(".{s}")))
    {
        return Err("must be a public host name, not a local one".into());
    }
    Ok(())
}

/// Whether `ip` is a public unicast IPv4 address.
pub fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                   // "this network"
        || a == 10                             // private
        || a == 127                            // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254)              // link-local, cloud metadata (169.254.169.254)
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)      // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)      // documentation
        || (a == 192 && b == 88 && c == 99)    // 6to4 relay anycast
        || (a == 192 && b == 168)              // private
        || (a == 198 && (b == 18 || b == 19))  // benchmarking
        || (a == 198 && b == 51 && c == 100)   // documentation
        || (a == 203 && b == 0 && c == 113)    // documentation
        || a >= 224) // multicast, reserved, broadcast
}

/// Whether `ip` is a public unicast IPv6 address; IPv4 embedded in mapped, compatible,
/// NAT64 and 6to4 forms is judged as IPv4.
pub fn public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), :: and ::1.
        return s[5] == 0xffff && public_v4(embedded(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || s[..2] == [0x64, 0xff9b] {
        // NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48).
        return s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && public_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        // 6to4 carries an IPv4 address in its next 32 bits.
        return public_v4(embedded(s[1], s[2]));
    }
    !((s[0] & 0xfe00) == 0xfc00            // unique local (fc00::/7, incl. fd00:ec2::254)
        || (s[0] & 0xffc0) == 0xfe80       // link-local
        || (s[0] & 0xffc0) == 0xfec0       // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00       // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] < 0x0200) // Teredo, benchmarking, ORCHID and other IETF
        || s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROD: Targets = Targets {
        allow_loopback: false,
    };
    const LOCAL: Targets = Targets {
        allow_loopback: true,
    };

    #[test]
    fn public_https_targets_pass() {
        for url in [
            "https://hooks.example.com/safemarket",
            "https://Hooks.Example.COM",
            "https://example.com:8443/x?y=1",
            "https://example.com:443/",
            "https://xn--bcher-kva.example/hook",
            "https://8.8.8.8/hook",
            "https://[2606:4700:4700::1111]/hook",
            "https://[2606:4700:4700::1111]:443/hook",
        ] {
            assert!(PROD.check(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn other_schemes_userinfo_and_ports_are_refused() {
        for url in [
            "http://hooks.example.com/",
            "ftp://hooks.example.com/",
            "hooks.example.com/x",
            "https://user:pw@hooks.example.com/",
            "https://hooks.example.com@evil.example/",
            "https://hooks.example.com:22/",
            "https://hooks.example.com:80/",
            "https://hooks.example.com:/",
            "https://hooks.example.com:99999/",
            "https://hooks.example.com:+443/",
            "https://hooks.example.com/#frag",
            "https://hooks.example.com/a b",
            "https://hooks.example.com\\@127.0.0.1/",
            "https://bücher.example/",
            "https://hooks%2eexample.com/",
            "https:///path",
        ] {
            assert!(PROD.check(url).is_err(), "{url}");
        }
        assert!(PROD
            .check(&format!("https://a.example/{}", "x".repeat(2100)))
            .is_err());
    }

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_refused() {
        for url in [
            "https://127.0.0.1/",
            "https://127.1.2.3/",
            "https://10.0.0.1/",
            "https://172.16.0.1/",
            "https://172.31.255.255/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/",
            "https://100.127.255.255/",
            "https://0.0.0.0/",
            "https://224.0.0.1/",
            "https://255.255.255.255/",
            "https://192.0.2.1/",
            "https://198.18.0.1/",
            "https://[::1]/",
            "https://[::]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:7f00:1]/",
            "https://[::ffff:169.254.169.254]/",
            "https://[::127.0.0.1]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://[2002:c0a8:0101::1]/",
            "https://[fe80::1]/",
            "https://[fc00::1]/",
            "https://[fd00:ec2::254]/",
            "https://[ff02::1]/",
            "https://[2001:db8::1]/",
            "https://[fec0::1]/",
        ] {
            assert!(PROD.check(url).is_err(), "{url}");
        }
    }

    #[test]
    fn numeric_hosts_a_url_parser_reads_as_ipv4_are_refused() {
        for url in [
            "https://2130706433/",
            "https://0x7f000001/",
            "https://0177.0.0.1/",
            "https://127.1/",
            "https://127.0.0.1./",
            "https://foo.0x7f/",
            "https://example.123/",
            "https://008.8.8.8/",
        ] {
            assert!(PROD.check(url).is_err(), "{url}");
        }
    }

    #[test]
    fn local_names_are_refused() {
        for url in [
            "https://localhost/",
            "https://LOCALHOST:443/",
            "https://api.localhost/",
            "https://printer.local/",
            "https://db.internal/",
            "https://router.home.arpa/",
            "https://intranet/",
            "https://-bad.example/",
            "https://a..example/",
        ] {
            assert!(PROD.check(url).is_err(), "{url}");
        }
    }

    #[test]
    fn loopback_http_only_where_allowed_and_only_127_0_0_1_with_a_port() {
        assert!(PROD.check("http://127.0.0.1:9000/hook").is_err());
        assert!(LOCAL.check("http://127.0.0.1:9000/hook").is_ok());
        assert!(LOCAL.check("http://127.0.0.1/hook").is_err());
        assert!(LOCAL.check("http://localhost:9000/hook").is_err());
        assert!(LOCAL.check("http://10.0.0.1:9000/hook").is_err());
        assert!(LOCAL.check("https://127.0.0.1:9000/hook").is_err());
        assert!(LOCAL.check("http://u@127.0.0.1:9000/hook").is_err());
    }

    #[test]
    fn public_ranges_border_cases() {
        assert!(public_v4(Ipv4Addr::new(100, 63, 255, 255)));
        assert!(public_v4(Ipv4Addr::new(100, 128, 0, 0)));
        assert!(public_v4(Ipv4Addr::new(172, 15, 0, 1)));
        assert!(public_v4(Ipv4Addr::new(172, 32, 0, 1)));
        assert!(!public_v4(Ipv4Addr::new(172, 16, 0, 0)));
        assert!(public_v4(Ipv4Addr::new(223, 255, 255, 255)));
        assert!(public_v6("::ffff:8.8.8.8".parse().unwrap()));
        assert!(public_v6("64:ff9b::808:808".parse().unwrap()));
        assert!(!public_v6("64:ff9b:1::808:808".parse().unwrap()));
        assert!(public_v6("2002:808:808::1".parse().unwrap()));
    }
}
