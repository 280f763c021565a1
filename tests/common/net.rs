//! Subnets for test networks that no network on the engine uses and no other
//! test (of any test binary) holds: a pid-derived or fixed /24 collides when
//! tests run side by side.

use std::os::fd::AsFd;

/// `10.<second>.<third>.0/24` for each `second` asked for, held (by a lock
/// file per subnet, released when the process ends or this drops) until drop.
pub struct Subnets {
    pub third: u32,
    _locks: Vec<std::fs::File>,
}

/// Every subnet the engine's networks use, as (address, prefix length).
fn used() -> Vec<(u32, u32)> {
    let ids = super::docker(&["network", "ls", "-q"]);
    let mut args = vec![
        "network",
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Subnet}} {{end}}",
    ];
    args.extend(ids.split_whitespace());
    // A network removed between the listing and the inspect: inspect fails; ask again.
    let (ok, out) = super::docker_try(&args);
    if !ok {
        return used();
    }
    out.split_whitespace().filter_map(parse).collect()
}

fn parse(cidr: &str) -> Option<(u32, u32)> {
    let (ip, len) = cidr.split_once('/')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    Some((u32::from(ip), len.parse().ok()?))
}

fn overlaps(a: (u32, u32), b: (u32, u32)) -> bool {
    let len = a.1.min(b.1);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    a.0 & mask == b.0 & mask
}

/// Locks `name` in the temp directory without waiting; `None` when another holds it.
fn hold(name: &str) -> Option<std::fs::File> {
    let path = std::env::temp_dir().join(format!("deckhand-test-subnet-{name}.lock"));
    let file = std::fs::File::create(path).ok()?;
    let op = rustix::fs::FlockOperation::NonBlockingLockExclusive;
    rustix::fs::flock(file.as_fd(), op).ok()?;
    Some(file)
}

/// A third octet free under every `10.<second>` asked for.
pub fn reserve(seconds: &[u32]) -> Subnets {
    for attempt in 0..3 {
        let used = used();
        let start = std::process::id() + attempt * 97;
        for i in 0..240 {
            let third = (start + i) % 240 + 10;
            let subnets: Vec<(u32, u32)> = seconds
                .iter()
                .map(|s| ((10 << 24) | (s << 16) | (third << 8), 24))
                .collect();
            if subnets
                .iter()
                .any(|s| used.iter().any(|u| overlaps(*s, *u)))
            {
                continue;
            }
            let locks: Option<Vec<_>> = seconds
                .iter()
                .map(|s| hold(&format!("10.{s}.{third}")))
                .collect();
            if let Some(locks) = locks {
                return Subnets {
                    third,
                    _locks: locks,
                };
            }
        }
    }
    panic!("no free /24 under 10.{seconds:?}.0.0/16");
}
