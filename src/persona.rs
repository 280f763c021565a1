//! OS personas: the network sysctls that make a decky's base answer like the
//! operating system it claims (nmap tells them apart first by the initial
//! TTL, then by TCP options and timing). Values from DECNET's
//! `os_fingerprint.py`; every service of a decky shares its base's network
//! namespace, so they all answer with them.

use std::collections::BTreeMap;

/// The sysctls a persona sets, in this order.
const SYSCTLS: [&str; 10] = [
    "net.ipv4.ip_default_ttl",
    "net.ipv4.tcp_syn_retries",
    "net.ipv4.tcp_timestamps",
    "net.ipv4.tcp_window_scaling",
    "net.ipv4.tcp_sack",
    "net.ipv4.tcp_ecn",
    "net.ipv4.ip_no_pmtu_disc",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.icmp_ratelimit",
    "net.ipv4.icmp_ratemask",
];

/// Each persona's values for [`SYSCTLS`].
const PERSONAS: [(&str, [&str; 10]); 6] = [
    (
        "linux",
        ["64", "6", "1", "1", "1", "2", "0", "60", "1000", "6168"],
    ),
    (
        "windows",
        ["128", "2", "1", "1", "1", "0", "0", "30", "0", "0"],
    ),
    (
        "windows_server",
        ["128", "2", "1", "1", "1", "1", "0", "30", "0", "0"],
    ),
    (
        "bsd",
        ["64", "6", "1", "1", "1", "0", "0", "60", "250", "6168"],
    ),
    (
        "embedded",
        ["255", "3", "0", "0", "0", "0", "1", "15", "0", "0"],
    ),
    (
        "cisco",
        ["255", "2", "0", "0", "0", "0", "1", "15", "0", "0"],
    ),
];

/// The names of every persona, for messages.
pub fn names() -> Vec<&'static str> {
    PERSONAS.iter().map(|(n, _)| *n).collect()
}

/// The sysctls of persona `name`, or `None` when there is no such persona.
pub fn sysctls(name: &str) -> Option<BTreeMap<String, String>> {
    let (_, values) = PERSONAS.iter().find(|(n, _)| *n == name)?;
    Some(
        SYSCTLS
            .iter()
            .zip(values)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// Whether the kernel keeps `key` per container, so that the engine accepts
/// it (`docker run --sysctl`): the network ones and the IPC ones.
pub fn is_namespaced(key: &str) -> bool {
    key.starts_with("net.")
        || key.starts_with("kernel.shm")
        || key.starts_with("kernel.msg")
        || key == "kernel.sem"
        || key.starts_with("fs.mqueue.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_answers_with_ttl_128_and_no_ecn() {
        let s = sysctls("windows").unwrap();
        assert_eq!(s["net.ipv4.ip_default_ttl"], "128");
        assert_eq!(s["net.ipv4.tcp_ecn"], "0");
        assert_eq!(s.len(), 10);
        assert_eq!(
            sysctls("embedded").unwrap()["net.ipv4.ip_no_pmtu_disc"],
            "1"
        );
        assert!(sysctls("solaris").is_none());
    }

    #[test]
    fn only_namespaced_sysctls_are_accepted() {
        for ok in [
            "net.ipv4.tcp_sack",
            "kernel.shmmax",
            "kernel.sem",
            "fs.mqueue.msg_max",
        ] {
            assert!(is_namespaced(ok), "{ok}");
        }
        for bad in ["kernel.hostname", "vm.swappiness", "fs.file-max"] {
            assert!(!is_namespaced(bad), "{bad}");
        }
    }
}
