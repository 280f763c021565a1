//! Parsers for the small values of the file format: names, modes, owners, times,
//! paths and addresses. Each returns the parsed value or a message saying what
//! is wrong and what would be accepted.

use std::net::IpAddr;

/// Fleet names scope labels: `[a-z0-9][a-z0-9_.-]{0,31}`.
pub fn fleet_name(name: &str) -> Result<(), String> {
    short_name("fleet", name)
}

/// Host names (`[hosts.NAME]`) follow the same rule: shown in plans, used as keys.
pub fn host_name(name: &str) -> Result<(), String> {
    short_name("host", name)
}

fn short_name(kind: &str, name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
    if first_ok && rest_ok && name.len() <= 32 {
        Ok(())
    } else {
        Err(format!(
            "invalid {kind} name '{name}': use 1 to 32 characters of a-z, 0-9, '_', '.', '-', starting with a letter or digit"
        ))
    }
}

/// What Docker accepts as a container name: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
/// Names starting `deckhand.` are kept for deckhand's own lock and record.
pub fn container_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !(first_ok && rest_ok && name.len() >= 2) {
        return Err(format!(
            "'{name}' is not a valid Docker container name: use at least 2 characters of a-z, A-Z, 0-9, '_', '.', '-', starting with a letter or digit"
        ));
    }
    if name.len() > 128 {
        return Err(format!(
            "container name '{name}' is longer than 128 characters"
        ));
    }
    if name.starts_with("deckhand.") {
        return Err(format!("container name '{name}': names starting with 'deckhand.' are reserved for deckhand's lock and record"));
    }
    Ok(())
}

/// A hostname of dot-separated labels of letters, digits and '-'.
pub fn hostname(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("invalid hostname '{name}': use labels of letters, digits and '-', separated by '.', each at most 63 characters"))
    }
}

/// A file mode: a TOML integer (write it in octal, `0o600`) or an octal string `"0600"`.
pub fn mode(value: &toml::Value) -> Result<u32, String> {
    let n = match value {
        toml::Value::Integer(n) => *n,
        toml::Value::String(s) => {
            let digits = s.strip_prefix("0o").unwrap_or(s);
            if digits.is_empty() || !digits.chars().all(|c| ('0'..='7').contains(&c)) {
                return Err(format!(
                    "invalid mode \"{s}\": write octal digits, like \"0644\" or 0o644"
                ));
            }
            i64::from_str_radix(digits, 8)
                .map_err(|_| format!("invalid mode \"{s}\": out of range"))?
        }
        other => {
            return Err(format!(
                "invalid mode {other}: write an octal integer like 0o644 or a string like \"0644\""
            ))
        }
    };
    if (0..=0o7777).contains(&n) {
        Ok(n as u32)
    } else {
        let shown = if n < 0 {
            format!("-{:#o}", n.unsigned_abs())
        } else {
            format!("{n:#o}")
        };
        Err(format!(
            "mode {shown} is out of range: permissions go from 0o0000 to 0o7777"
        ))
    }
}

/// A numeric owner `uid:gid`.
pub fn owner(value: &str) -> Result<(u64, u64), String> {
    let parsed = value.split_once(':').and_then(|(u, g)| {
        let num = |s: &str| {
            (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
        };
        Some((num(u)? as u64, num(g)? as u64))
    });
    parsed.ok_or_else(|| format!("invalid owner \"{value}\": write numeric \"uid:gid\", like \"1000:1000\" (names are not resolved)"))
}

/// An absolute time: RFC 3339 text or a TOML offset date-time. Returns epoch seconds.
pub fn mtime(value: &toml::Value) -> Result<i64, String> {
    let text = match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(d) => d.to_string(),
        other => {
            return Err(format!(
                "invalid mtime {other}: write an RFC 3339 time like \"2025-01-12T09:30:00Z\""
            ))
        }
    };
    let t = time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| format!("invalid mtime \"{text}\": write an RFC 3339 time with a zone, like \"2025-01-12T09:30:00Z\""))?;
    let secs = t.unix_timestamp();
    // Tar headers hold 11 octal digits; outside 1970..=2999 is a typo, not a decoy.
    if !(0..=32_503_680_000).contains(&secs) {
        return Err(format!(
            "mtime \"{text}\" is outside the years 1970 to 2999"
        ));
    }
    Ok(secs)
}

/// A relative time: integer seconds, or a string like "-3d", "90m", "-12h", "30s".
pub fn mtime_offset(value: &toml::Value) -> Result<i64, String> {
    const MAX: i64 = 100 * 365 * 86_400;
    let bad = |s: &str| {
        format!("invalid mtime_offset \"{s}\": write a signed number with a unit s, m, h or d, like \"-3d\", or integer seconds")
    };
    let secs = match value {
        toml::Value::Integer(n) => *n,
        toml::Value::String(s) => {
            let (sign, rest) = match s.strip_prefix('-') {
                Some(r) => (-1, r),
                None => (1, s.strip_prefix('+').unwrap_or(s)),
            };
            let (digits, unit) = match rest.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
                Some((i, _)) => rest.split_at(i),
                None => (rest, "s"),
            };
            let factor = match unit {
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86_400,
                _ => return Err(bad(s)),
            };
            let n: i64 = digits.parse().map_err(|_| bad(s))?;
            n.checked_mul(factor)
                .and_then(|v| v.checked_mul(sign))
                .ok_or_else(|| bad(s))?
        }
        other => return Err(bad(&other.to_string())),
    };
    if secs.abs() > MAX {
        return Err(format!(
            "mtime_offset of {secs} seconds is more than 100 years"
        ));
    }
    Ok(secs)
}

/// Bind mounts the engine puts in every container: writes there fail with EBUSY.
pub const ENGINE_BIND_MOUNTS: [&str; 3] = ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"];

/// A file path inside a container.
pub fn file_path(path: &str) -> Result<(), String> {
    if path.contains('\0') {
        return Err("file path contains a NUL byte".to_string());
    }
    if !path.starts_with('/') {
        return Err(format!(
            "file path '{path}' is not absolute: start it with '/'"
        ));
    }
    if path == "/" || path.ends_with('/') {
        return Err(format!(
            "file path '{path}' names a directory: give a file path that does not end in '/'"
        ));
    }
    if path
        .split('/')
        .skip(1)
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Err(format!(
            "file path '{path}' has an empty, '.' or '..' segment: write it in plain absolute form"
        ));
    }
    if path.len() > 4096 {
        return Err("file path is longer than 4096 bytes".to_string());
    }
    if ENGINE_BIND_MOUNTS.contains(&path) {
        return Err(format!("{path} is bind-mounted by the engine into every container: a write there fails (EBUSY); choose another path"));
    }
    Ok(())
}

/// An IPv4 or IPv6 network in CIDR form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let bad = || format!("invalid subnet '{s}': write CIDR form like 172.30.0.0/24");
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        fn bits(ip: IpAddr) -> u128 {
            match ip {
                IpAddr::V4(v4) => u32::from(v4) as u128,
                IpAddr::V6(v6) => u128::from(v6),
            }
        }
        if self.addr.is_ipv4() != ip.is_ipv4() {
            return false;
        }
        let width = if ip.is_ipv4() { 32 } else { 128 };
        let shift = width - self.prefix as u32;
        let mask = if shift >= 128 { 0 } else { !0u128 << shift };
        let mask = if ip.is_ipv4() {
            mask & 0xffff_ffff
        } else {
            mask
        };
        bits(ip) & mask == bits(self.addr) & mask
    }

    /// Whether every address of `other` is inside this one.
    pub fn contains_cidr(&self, other: &Cidr) -> bool {
        other.prefix >= self.prefix && self.contains(other.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names_follow_docker_rules() {
        assert!(container_name("web-01").is_ok());
        assert!(container_name("a").is_err());
        assert!(container_name("-web").is_err());
        assert!(container_name("web 01").is_err());
        assert!(container_name("deckhand.lock").is_err());
    }

    #[test]
    fn modes_are_octal_integers_or_strings() {
        assert_eq!(mode(&toml::Value::Integer(0o600)), Ok(0o600));
        assert_eq!(mode(&toml::Value::String("0600".into())), Ok(0o600));
        assert!(mode(&toml::Value::String("0900".into())).is_err());
        assert!(mode(&toml::Value::Integer(0o10000)).is_err());
        assert!(mode(&toml::Value::Integer(-1)).is_err());
    }

    #[test]
    fn owners_are_numeric_pairs() {
        assert_eq!(owner("1000:1001"), Ok((1000, 1001)));
        assert!(owner("root:root").is_err());
        assert!(owner("1000").is_err());
        assert!(owner(":1").is_err());
    }

    #[test]
    fn offsets_take_units_and_signs() {
        let s = |x: &str| mtime_offset(&toml::Value::String(x.into()));
        assert_eq!(s("-3d"), Ok(-3 * 86_400));
        assert_eq!(s("90m"), Ok(5400));
        assert_eq!(s("+2h"), Ok(7200));
        assert_eq!(s("15"), Ok(15));
        assert_eq!(mtime_offset(&toml::Value::Integer(-60)), Ok(-60));
        assert!(s("3w").is_err());
        assert!(s("").is_err());
    }

    #[test]
    fn mtimes_are_rfc3339_with_a_zone() {
        assert_eq!(
            mtime(&toml::Value::String("1970-01-02T00:00:00Z".into())),
            Ok(86_400)
        );
        assert!(mtime(&toml::Value::String("2025-01-12 09:30".into())).is_err());
        assert!(mtime(&toml::Value::String("9999-01-01T00:00:00Z".into())).is_err());
    }

    #[test]
    fn file_paths_are_plain_and_absolute() {
        assert!(file_path("/home/admin/.bash_history").is_ok());
        for bad in [
            "relative",
            "/",
            "/tmp/",
            "/a/../b",
            "/a/./b",
            "/a//b",
            "/etc/hosts",
            "/a\0b",
        ] {
            assert!(file_path(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn subnets_contain_their_addresses() {
        let net = Cidr::parse("172.30.0.0/24").unwrap();
        assert!(net.contains("172.30.0.10".parse().unwrap()));
        assert!(!net.contains("172.31.0.10".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
    }
}
