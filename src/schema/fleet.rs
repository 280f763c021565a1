//! The schema of `[fleet]`, `[rotation]`, `[hosts]` and `[networks]`.

use serde_json::{json, Value};

use super::decky::on_drift;
use super::settings::logging;
use super::{names, string, table};

/// `[rotation]` (SPEC §11): services rotated per decky, seeded.
pub(super) fn rotation() -> Value {
    json!({
        "description": "Rotate services and personas per decky on a schedule, as DECNET's mutator does, but seeded and shown in plans (`plan --at`). Needs [fleet] seed_file.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "every": string("The period: \"30m\" (DECNET's default), \"6h\", \"1d\"; at least 10s. Epoch k starts at k x every since 1970."),
            "deckies": table("Per decky, the pool its rotated services are chosen from, and the personas it rotates among.", json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "pool": names("Catalog services to rotate among (not also in the decky's services)."),
                    "active": {
                        "description": "How many of the pool run at once (default 1).",
                        "type": "integer",
                        "minimum": 1
                    },
                    "personas": names("Personas to wear one at a time (at least two; the decky sets no persona of its own). A change of persona replaces the base.")
                }
            })),
        }
    })
}

pub(super) fn fleet() -> Value {
    let mut fleet = json!({
        "description": "The fleet: one [fleet] table across all files of a desired state.",
        "type": "object",
        "additionalProperties": false,
        "required": ["name"],
        "properties": {
            "name": {
                "description": "Scopes every label deckhand writes; two fleets never touch each other's containers.",
                "type": "string",
                "pattern": "^[a-z0-9][a-z0-9_.-]{0,31}$"
            },
            "base_image": string("Image of a decky's base container unless the decky sets `image`."),
            "network": string("Network every base container joins unless the decky sets one (default: Docker's `bridge`)."),
            "services": names("Fleet-wide singleton services (catalog entries with `singleton = true`)."),
            "evidence_dir": string("Where evidence is kept (SPEC §8), relative to this TOML file (default: .deckhand/evidence beside it)."),
            "on_drift": on_drift(),
            "logging": logging("Log driver of every container, unless a service sets its own (DECNET: json-file, max-size 10m, max-file 5)."),
            "pull": {
                "description": "An image the engine does not have: \"missing\" (default) pulls it before its containers are created; \"never\" makes it a plan error.",
                "enum": ["missing", "never"]
            },
            "seed_file": string("Secret file templated bait's random values are derived from, relative to this TOML file; must not be world-readable, keep it out of git."),
            "artifacts": artifacts(),
            "decnet_state": string("DECNET's state file (its sniffer, collector and dashboard read the deckies from it), relative to this TOML file: watch keeps it current, written atomically."),
        }
    });
    super::extend(&mut fleet, budgets());
    fleet
}

pub(super) fn host() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["docker_host"],
        "properties": {
            "docker_host": {
                "description": "The engine: tcp://HOST:PORT, ssh://USER@HOST[:PORT] or unix:///path/to/docker.sock.",
                "type": "string",
                "pattern": "^(tcp://[^/]+:[0-9]+/?|ssh://[^/]+|unix:///.+)$"
            },
            "tls": {
                "description": "Client certificates for a tcp:// engine that requires TLS (paths relative to the file that declares the host). The server is verified against `ca`.",
                "type": "object",
                "additionalProperties": false,
                "required": ["ca", "cert", "key"],
                "properties": {
                    "ca": string("CA certificate (PEM)."),
                    "cert": string("Client certificate (PEM)."),
                    "key": string("Client key (PEM)."),
                }
            }
        }
    })
}

pub(super) fn network() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "driver": {
                "description": "Network driver (default: bridge).",
                "enum": ["bridge", "macvlan", "ipvlan"]
            },
            "subnet": string("CIDR, like 172.30.0.0/24. Needed for static decky addresses."),
            "gateway": string("Gateway address inside the subnet."),
            "ip_range": string("CIDR inside the subnet the engine hands out addresses from (DECNET's macvlan sets it to its deckies' range)."),
            "parent": string("Host interface for macvlan and ipvlan, like eth0."),
            "ipvlan_mode": {
                "description": "ipvlan only: l2 (default of the engine), l3 or l3s.",
                "enum": ["l2", "l3", "l3s"]
            },
            "internal": {
                "description": "No route out through the host (DECNET's MazeNET LANs except the DMZ). Default false.",
                "type": "boolean"
            },
            "options": {
                "description": "The driver's other options (parent and ipvlan_mode have their own keys).",
                "type": "object",
                "additionalProperties": {"type": "string"}
            },
            "labels": {
                "description": "Labels of the network (deckhand.* is reserved).",
                "type": "object",
                "additionalProperties": {"type": "string"}
            },
        }
    })
}

/// `[fleet] artifacts`: how missing bind-mount directories are made.
fn artifacts() -> Value {
    json!({
        "description": "How missing host directories of bind mounts are made (DECNET's collector reads them as group decnet, 2775); default 0700 root. Directories that exist are not changed.",
        "type": "object",
        "additionalProperties": false,
        "required": ["mode"],
        "properties": {
            "mode": {
                "description": "Permissions, setgid included: a string like \"2775\" or an octal integer like 0o2775.",
                "oneOf": [
                    {"type": "integer", "minimum": 0, "maximum": 4095},
                    {"type": "string", "pattern": "^(0o)?[0-7]{1,4}$"}
                ]
            },
            "group": string("Group of the directories, by name (looked up in /etc/group when the file is read) or number.")
        }
    })
}

/// The keys of `[fleet]` that bound evidence, diffs and a decky's time.
fn budgets() -> Value {
    json!({
        "evidence_max_mb": {
            "description": "Largest single capture of evidence, in MiB (default 256); what is left out is listed.",
            "type": "integer",
            "minimum": 1
        },
        "evidence_quota_mb": {
            "description": "Most the whole evidence directory holds, in MiB of allocated blocks (default 1024); the oldest captures of the decky holding the most are dropped first.",
            "type": "integer",
            "minimum": 1,
            "maximum": 16777216
        },
        "diff_max_kb": {
            "description": "Most of a live file held in memory for a text diff, in KiB (default 256); past it, sizes and digests are shown.",
            "type": "integer",
            "minimum": 1,
            "maximum": 65536
        },
        "decky_budget_s": {
            "description": "Longest one decky's reads and diffs may take in a pass, in seconds (default 10); a decky over it is reported and its steps skipped.",
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 3600
        },
        "hold_on_session": {
            "description": "Whether a live inbound session to a decky holds its replaces, restarts and restores until it ends (default true); apply --force overrides.",
            "type": "boolean"
        }
    })
}
