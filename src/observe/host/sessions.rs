//! Live inbound sessions of a decky (SPEC §11, engagement-aware changes):
//! the TCP table of its network namespace, read from the host through the
//! base's first process (`/proc/<pid>/net/tcp{,6}`), never by a program run
//! in the container. The kernel writes that table, not the intruder; the
//! intruder only decides how many sockets there are, so a read stops at
//! [`MAX_BYTES`] and the pid is proven the container's before and after.
//!
//! A session is an established connection to a port the decky listens on,
//! from a peer that is neither loopback, nor the decky itself, nor the host
//! (the gateways of its networks: what the host's own connections and the
//! engine's proxy for published ports come from).
//!
//! A read of a hostile decky's table can be slow (a namespace with a huge
//! table, a stuck mount of /proc): [`read_within`] runs it on a blocking
//! thread, never on the caller's, and gives up after a time budget.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::root::in_container;

/// The most of each table read: about 27,000 sockets.
pub const MAX_BYTES: u64 = 4 << 20;

/// How long a read of one decky's sessions may take before it is given up.
pub const BUDGET: Duration = Duration::from_secs(2);

const ESTABLISHED: u8 = 0x01;
const LISTEN: u8 = 0x0A;

/// One row of a TCP table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    pub local: SocketAddr,
    pub peer: SocketAddr,
    pub state: u8,
    /// The socket's inode: one connection, for as long as it lives.
    pub inode: u64,
}

/// A live inbound session: who, to which of the decky's ports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Session {
    pub peer: SocketAddr,
    pub port: u16,
    /// The socket's inode: tells this connection from a later one of the
    /// same peer and port.
    pub inode: u64,
}

/// The rows of `/proc/net/tcp` (or `tcp6`); rows that do not parse are skipped.
pub fn parse(table: &str) -> Vec<Socket> {
    table.lines().skip(1).filter_map(row).collect()
}

fn row(line: &str) -> Option<Socket> {
    let mut cols = line.split_whitespace().skip(1);
    let local = address(cols.next()?)?;
    let peer = address(cols.next()?)?;
    let state = u8::from_str_radix(cols.next()?, 16).ok()?;
    // tx:rx queues, timer, retransmits, uid, timeout, then the inode.
    let inode = cols.nth(5)?.parse().ok()?;
    Some(Socket {
        local,
        peer,
        state,
        inode,
    })
}

/// `0100007F:0CEA` or a 32-digit IPv6 form: the address as the kernel
/// printed its 32-bit words (in the host's byte order), then the port.
fn address(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Option<Vec<[u8; 4]>> = (0..ip.len() / 8)
        .map(|i| ip.get(i * 8..i * 8 + 8))
        .map(|w| Some(u32::from_str_radix(w?, 16).ok()?.to_ne_bytes()))
        .collect();
    let bytes: Vec<u8> = words?.concat();
    let ip = match bytes.len() {
        4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => return None,
    };
    Some(SocketAddr::new(canonical(ip), port))
}

/// An IPv4 peer seen on an IPv6 socket (`::ffff:a.b.c.d`) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The inbound sessions among `sockets`: established, to a listening port,
/// from a peer that is not loopback, not the decky (`own`), not the host.
pub fn inbound(sockets: &[Socket], host: &BTreeSet<IpAddr>) -> BTreeSet<Session> {
    let listening: BTreeSet<u16> = sockets
        .iter()
        .filter(|s| s.state == LISTEN)
        .map(|s| s.local.port())
        .collect();
    let own: BTreeSet<IpAddr> = sockets.iter().map(|s| s.local.ip()).collect();
    let session = |s: &&Socket| {
        s.state == ESTABLISHED
            && listening.contains(&s.local.port())
            && !s.peer.ip().is_loopback()
            && !own.contains(&s.peer.ip())
            && !host.contains(&s.peer.ip())
    };
    let sessions = sockets.iter().filter(session);
    sessions
        .map(|s| Session {
            peer: s.peer,
            port: s.local.port(),
            inode: s.inode,
        })
        .collect()
}

/// The inbound sessions of the network namespace of container `id`, whose
/// first process is `pid`; `host`: the addresses the host reaches it from.
pub fn read(id: &str, pid: u32, host: &BTreeSet<IpAddr>) -> Result<BTreeSet<Session>, String> {
    in_container(pid, id)?;
    let mut sockets = Vec::new();
    for table in ["tcp", "tcp6"] {
        sockets.extend(parse(&read_table(pid, table)?));
    }
    // The table read was the container's: its first process still is.
    in_container(pid, id)?;
    Ok(inbound(&sockets, host))
}

/// [`read`] on a blocking thread, given up after `budget`.
pub async fn read_within(
    id: &str,
    pid: u32,
    host: &BTreeSet<IpAddr>,
    budget: Duration,
) -> Result<BTreeSet<Session>, String> {
    let (id, host) = (id.to_string(), host.clone());
    within(budget, move || read(&id, pid, &host)).await
}

/// `work` on a blocking thread, given up (and left to finish there) after `budget`.
async fn within<T: Send + 'static>(
    budget: Duration,
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let work = tokio::task::spawn_blocking(work);
    match tokio::time::timeout(budget, work).await {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => Err(format!("the read failed: {e}")),
        Err(_) => Err(format!("not read within {} s", budget.as_secs_f32())),
    }
}

/// One table, at most [`MAX_BYTES`] of it; a missing table (no IPv6) is empty.
fn read_table(pid: u32, table: &str) -> Result<String, String> {
    let path = format!("/proc/{pid}/net/{table}");
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(format!("{path}: {e}")),
    };
    let mut text = String::new();
    file.take(MAX_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| format!("{path}: {e}"))?;
    // A row cut by the cap does not parse and is skipped.
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0500010A:0016 0900010A:C350 01 00000000:00000000 02:000A7C1B 00000000     0        0 2 4 0 20 4 30 10 -1
   2: 0500010A:0016 0100010A:C351 01 00000000:00000000 02:000A7C1B 00000000     0        0 3 4 0 20 4 30 10 -1
   3: 0100007F:0016 0100007F:C352 01 00000000:00000000 02:000A7C1B 00000000     0        0 4 4 0 20 4 30 10 -1
   4: 0500010A:C353 0900010A:0050 01 00000000:00000000 02:000A7C1B 00000000     0        0 5 4 0 20 4 30 10 -1
   5: 0500010A:0016 0500010A:C354 01 00000000:00000000 02:000A7C1B 00000000     0        0 6 4 0 20 4 30 10 -1
   6: 0500010A:0017 0900010A:C355 06 00000000:00000000 02:000A7C1B 00000000     0        0 7 4 0 20 4 30 10 -1
   7: garbage
";

    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 8 1 0 100 0 0 10 0
   1: 0000000000000000FFFF00000500010A:0050 0000000000000000FFFF00000B00010A:D431 01 00000000:00000000 00:00000000 00000000     0        0 9 1 0 20 4 30 10 -1
";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_are_read_as_the_kernel_prints_them() {
        let rows = parse(TCP);
        assert_eq!(rows.len(), 7, "the garbage row is skipped");
        assert_eq!(rows[1].local, "10.1.0.5:22".parse().unwrap());
        assert_eq!(rows[1].peer, "10.1.0.9:50000".parse().unwrap());
        assert_eq!(rows[1].state, ESTABLISHED);
        assert_eq!(rows[1].inode, 2);
        let v6 = parse(TCP6);
        assert_eq!(v6[1].peer, "10.1.0.11:54321".parse().unwrap());
    }

    #[test]
    fn only_inbound_sessions_from_elsewhere_count() {
        let mut all = parse(TCP);
        all.extend(parse(TCP6));
        let host = BTreeSet::from([ip("10.1.0.1")]);
        let found: Vec<String> = inbound(&all, &host)
            .iter()
            .map(|s| format!("{} -> {}", s.peer, s.port))
            .collect();
        // Not: the host's (10.1.0.1), loopback, the decky's own outbound
        // connection (local port not listening), itself, a closing one.
        assert_eq!(found, ["10.1.0.9:50000 -> 22", "10.1.0.11:54321 -> 80"]);
    }

    #[test]
    fn a_process_outside_the_container_is_refused() {
        let id = "b".repeat(64);
        let err = read(&id, std::process::id(), &BTreeSet::new()).unwrap_err();
        assert!(err.contains("is not in container"), "{err}");
    }

    #[tokio::test]
    async fn a_read_is_given_up_after_its_budget_and_off_the_callers_thread() {
        let id = "b".repeat(64);
        let none = BTreeSet::new();
        let caller = std::thread::current().id();
        // A read that returns at once: its error, from another thread.
        let err = read_within(&id, std::process::id(), &none, BUDGET).await;
        assert!(err.unwrap_err().contains("is not in container"));
        // A read that hangs: given up after the budget, the caller not held.
        let started = std::time::Instant::now();
        let slow = within(Duration::from_millis(100), move || {
            assert_ne!(
                std::thread::current().id(),
                caller,
                "read on the caller's thread"
            );
            std::thread::sleep(Duration::from_secs(3));
            Ok(())
        });
        assert_eq!(slow.await.unwrap_err(), "not read within 0.1 s");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(std::thread::current().id(), caller);
    }
}
