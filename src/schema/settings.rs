//! The schema of the SPEC §7 settings a base and a service both carry,
//! and of the keys shaped alike on both (logging, capabilities).

use serde_json::{json, Value};

use super::string;

/// `table` with the SPEC §7 settings a base and a service both carry.
pub(super) fn with_settings(mut table: Value) -> Value {
    let list = |d: &str| json!({"description": d, "type": "array", "items": {"type": "string"}});
    let flag = |d: &str| json!({"description": d, "type": "boolean"});
    let net = "Not on a per-decky service: it shares its base's network namespace.";
    let settings = json!({
        "security_opt": list("Security options, like no-new-privileges or apparmor=unconfined."),
        "tmpfs": list("tmpfs mounts: absolute paths, each optionally :options (\"/run:size=64m\")."),
        "read_only": flag("true: the root filesystem is read-only."),
        "extra_hosts": list(&format!("Lines added to /etc/hosts, \"host:address\". {net}")),
        "dns": list(&format!("DNS servers (IP addresses). {net}")),
        "dns_search": list(&format!("DNS search domains. {net}")),
        "mac_address": {
            "description": format!("MAC address of the base on its first network, like \"02:42:0a:00:00:05\". {net}"),
            "type": "string",
            "pattern": "^[0-9A-Fa-f][02468aceACE](:[0-9A-Fa-f]{2}){5}$"
        },
        "domainname": string(&format!("The DNS domain the base answers to (hostname -d), like \"corp.local\". {net}")),
        "user": string("User (name or uid, optionally :group) the container runs as."),
        "working_dir": string("Working directory (an absolute path)."),
        "labels": {
            "description": "The operator's own labels; deckhand.* is deckhand's.",
            "type": "object",
            "additionalProperties": {"type": "string"}
        },
        "privileged": flag("Accepted with a warning: an intruder in a privileged decky owns the host."),
        "devices": list("Host devices, \"/dev/x[:/dev/y[:rwm]]\". Accepted with a warning."),
        "healthcheck": healthcheck(),
    });
    super::extend(&mut table, settings);
    super::extend(&mut table, limits());
    table
}

pub(super) fn logging(description: &str) -> Value {
    json!({
        "description": format!("{description} \"engine\": the engine's default, not compared live."),
        "oneOf": [
            {"const": "engine"},
            {
                "type": "object",
                "additionalProperties": false,
                "required": ["driver"],
                "properties": {
                    "driver": string("The engine's log driver, like json-file."),
                    "options": {"description": "The driver's options, like max-size.", "type": "object", "additionalProperties": {"type": "string"}}
                }
            }
        ]
    })
}

pub(super) fn caps(description: &str) -> Value {
    json!({"description": description, "type": "array", "items": {"type": "string", "pattern": "^[A-Z_]+$"}})
}

/// The resource limits of a container: restart, memory, CPUs, processes, ulimits.
fn limits() -> Value {
    json!({
        "restart": {
            "description": "Restart policy (default unless-stopped).",
            "type": "string",
            "pattern": "^(no|always|unless-stopped|on-failure(:[0-9]+)?)$"
        },
        "mem_limit": {
            "description": "Memory limit: bytes, or a size like \"512m\", \"1g\" (at least 6m).",
            "type": ["string", "integer"]
        },
        "cpus": {"description": "CPU limit, like 0.5 or 2.", "type": ["number", "string"]},
        "pids_limit": {"description": "Most processes at once.", "type": "integer", "minimum": 1},
        "ulimits": {
            "description": "Resource limits by name: nofile = 1024, or nofile = { soft = 1024, hard = 2048 }.",
            "type": "object",
            "additionalProperties": {
                "oneOf": [
                    {"type": "integer"},
                    {"type": "object", "additionalProperties": false, "required": ["soft", "hard"],
                     "properties": {"soft": {"type": "integer"}, "hard": {"type": "integer"}}}
                ]
            }
        }
    })
}

fn healthcheck() -> Value {
    json!({
        "description": "Health check: test (a command list, or a string run by the shell), interval, timeout, start_period (\"30s\", \"1500ms\", \"2m\"), retries.",
        "type": "object",
        "additionalProperties": false,
        "required": ["test"],
        "properties": {
            "test": {"type": ["array", "string"], "items": {"type": "string"}},
            "interval": {"type": "string"},
            "timeout": {"type": "string"},
            "start_period": {"type": "string"},
            "retries": {"type": "integer", "minimum": 0}
        }
    })
}
