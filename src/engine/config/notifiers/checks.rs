//! The shapes a notifier's values must have: an http(s) URL, a mail address, a loopback host.

/// Whether `s` is an absolute `http://` or `https://` URL with a host (and a numeric port, if
/// any), without spaces or control characters.
pub(in crate::engine::config) fn is_http_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return false;
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, port)) => match port.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return false,
            },
            None => return false,
        },
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    !host.is_empty() && port_ok
}

/// Whether a mail address at least looks like `a@b`, bare or as `Name <a@b>`.
pub(super) fn is_address(s: &str) -> bool {
    let s = s.trim();
    let addr = match s.strip_suffix('>') {
        Some(rest) => match rest.rsplit_once('<') {
            Some((_, addr)) => addr,
            None => return false,
        },
        None => s,
    };
    let Some((local, domain)) = addr.split_once('@') else {
        return false;
    };
    let bad = |c: char| c.is_whitespace() || c.is_control() || "<>,;@".contains(c);
    !local.is_empty()
        && !domain.is_empty()
        && !local.contains(bad)
        && !domain.contains(bad)
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

/// `localhost`, `127.x.x.x` or `::1`: the only hosts an `email` notifier may reach without TLS.
pub(super) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
