//! A JSON Schema of the desired-state file (SPEC §1), for editors.
//!
//! taplo and Even Better TOML use it to complete keys, show what each one means
//! and underline mistakes while typing. `validate` stays the authority: rules
//! that span tables (a decky naming an unknown service, two names mapping to one
//! container, `source` escaping its tree) are beyond a schema and are only
//! checked there. A test keeps the key sets here equal to the serde types in
//! `config::raw`, so neither can gain a key the other lacks.

use serde_json::{json, Value};

/// The schema as a JSON value (draft-07, which taplo understands).
pub fn schema() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://deckhand.invalid/schema/deckhand.schema.json",
        "title": "deckhand.toml",
        "description": "A fleet of DECNET deckies kept live by deckhand. `deckhand validate` checks what a schema cannot.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "fleet": fleet(),
            "hosts": table("Docker engines the fleet runs on besides `local` (SPEC §6). A decky names its engine with `host`; `[hosts.local]` redefines the default engine.", host()),
            "networks": table("Networks, created when missing and never deleted implicitly.", network()),
            "services": table("The service catalog: what a decky can run beside its base container.", with_settings(service())),
            "deckies": table("The decoy hosts. Each is a base container plus its services and bait files.", with_settings(decky())),
            "rotation": rotation(),
        }
    })
}

/// `[rotation]` (SPEC §11): services rotated per decky, seeded.
fn rotation() -> Value {
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

fn fleet() -> Value {
    json!({
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
            "on_drift": on_drift(),
            "logging": logging("Log driver of every container, unless a service sets its own (DECNET: json-file, max-size 10m, max-file 5)."),
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
            },
            "pull": {
                "description": "An image the engine does not have: \"missing\" (default) pulls it before its containers are created; \"never\" makes it a plan error.",
                "enum": ["missing", "never"]
            },
            "seed_file": string("Secret file templated bait's random values are derived from, relative to this TOML file; must not be world-readable, keep it out of git."),
            "artifacts": {
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
            },
            "decnet_state": string("DECNET's state file (its sniffer, collector and dashboard read the deckies from it), relative to this TOML file: watch keeps it current, written atomically."),
        }
    })
}

fn logging(description: &str) -> Value {
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

fn caps(description: &str) -> Value {
    json!({"description": description, "type": "array", "items": {"type": "string", "pattern": "^[A-Z_]+$"}})
}

fn host() -> Value {
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

fn network() -> Value {
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

fn service() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "oneOf": [{"required": ["image"]}, {"required": ["build"]}],
        "properties": {
            "image": string("Image of the service container; it must exist on the engine. Exclusive with build."),
            "build": build("A directory with a Dockerfile, relative to this file, or { context, args }: built on each engine that needs it, tagged deckhand-build:<service>-<digest of content and args>, rebuilt only when either changes. Exclusive with image."),
            "command": argv("Command, replacing the image's CMD."),
            "entrypoint": argv("Entrypoint, replacing the image's ENTRYPOINT."),
            "env": env("Environment of the service; deckies merge their service_config over it."),
            "ports": {
                "description": "Ports the service listens on. Informational: shown in plans and status.",
                "type": "array",
                "items": {"type": "integer", "minimum": 1, "maximum": 65535}
            },
            "cap_add": {
                "description": "Linux capabilities to add, like NET_ADMIN.",
                "type": "array",
                "items": {"type": "string"}
            },
            "cap_drop": caps("Linux capabilities to drop, like SYS_ADMIN."),
            "volumes": {
                "description": "Bind mounts, \"/host/path:/container/path[:ro|rw]\"; {fleet} {decky} {service} {hostname} {ip} {ports} expand; host directories are created 0700 when missing. The engine's socket and directories are refused.",
                "type": "array",
                "items": {"type": "string"}
            },
            "logging": logging("Log driver of this service's containers, over the fleet's."),
            "singleton": {
                "description": "true: runs once fleet-wide as <fleet>-<service>, listed in [fleet] services.",
                "type": "boolean",
                "default": false
            }
        }
    })
}

fn decky() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "services": names("Per-decky services from the catalog; [] runs the base only."),
            "hostname": string("Hostname of the decky (default: its name)."),
            "ip": string("Static address on the decky's network, inside its subnet."),
            "image": string("Base image override. Exclusive with build."),
            "build": build("The base built from a context (DECNET's cloak for Windows personas): a directory with a Dockerfile, or { context, args }; tagged deckhand-build:base-<digest>. Exclusive with image."),
            "command": argv("Base command (default: sleep infinity)."),
            "entrypoint": argv("The base's entrypoint, replacing the image's ENTRYPOINT."),
            "network": string("Network override."),
            "networks": {
                "description": "Several LANs (MazeNET), each with its address (\"\" = the engine's choice): joined and left live, without a recreate. Excludes network and ip.",
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"type": "string"}
            },
            "topology": string("MazeNET scope (DECNET's topology id): labels only. The decky's containers carry deckhand.topology and DECNET's decnet.topology.* labels (its services instead of decnet.fleet.*)."),
            "container_name": string("The base container's name (default: the decky's name); DECNET's topology names bases decnet_t_<id8>_<decky>. Services stay <decky>-<service>."),
            "host": string("Engine the decky runs on: a [hosts] name, or \"local\" (the default)."),
            "persona": {
                "description": "OS fingerprint of the decky: sets its base's network sysctls (initial TTL, TCP options).",
                "enum": crate::persona::names()
            },
            "sysctls": {
                "description": "Network (or IPC) sysctls of the base, merged over the persona's; every service shares them.",
                "type": "object",
                "additionalProperties": {"type": ["string", "integer"]}
            },
            "cap_add": caps("Linux capabilities of the base, like NET_ADMIN."),
            "cap_drop": caps("Linux capabilities the base drops, like SYS_ADMIN."),
            "volumes": {
                "description": "The base's bind mounts, \"/host/path:/container/path[:ro|rw]\"; {fleet} {decky} {hostname} {ip} expand; host directories are created 0700 when missing. The engine's socket and directories are refused.",
                "type": "array",
                "items": {"type": "string"}
            },
            "publish": {
                "description": "Host ports published on the base, where its services listen: \"[ip:]host:container[/tcp|udp]\".",
                "type": "array",
                "items": {"type": "string"}
            },
            "env": env("The base's environment; {fleet} {decky} {hostname} {ip} {ports} (the decky's service ports, like DECNET_OPEN_PORTS) expand."),
            "service_config": {
                "description": "Per-service environment of this decky, merged over the service's env.",
                "type": "object",
                "additionalProperties": env("Environment of one service on this decky.")
            },
            "service_image": {
                "description": "Per service: the image this decky runs it with, instead of the catalog's image or build (DECNET builds each decky's services from its own distro).",
                "type": "object",
                "additionalProperties": {"type": "string"}
            },
            "service_build": {
                "description": "Per built service: this decky's build args, merged over the catalog's (DECNET's per-decky BASE_IMAGE); the decky gets its own image.",
                "type": "object",
                "additionalProperties": env("Build args of one service on this decky.")
            },
            "files": {
                "description": "Bait files, keyed by absolute path inside the container.",
                "type": "object",
                "propertyNames": {"pattern": "^/"},
                "additionalProperties": file()
            }
        }
    })
}

fn build(description: &str) -> Value {
    json!({
        "description": description,
        "oneOf": [
            {"type": "string"},
            {
                "type": "object",
                "additionalProperties": false,
                "required": ["context"],
                "properties": {
                    "context": string("The directory with the Dockerfile."),
                    "args": env("Build arguments (ARG), like BASE_IMAGE.")
                }
            }
        ]
    })
}

fn on_drift() -> Value {
    json!({
        "description": "What to do when live content differs from the file and deckhand did not change it: \"restore\" (default: keep evidence, then restore) or \"report\" (keep evidence, report, leave it).",
        "enum": ["restore", "report"]
    })
}

fn file_on_drift() -> Value {
    json!({
        "description": "What to do when live content differs from the file and deckhand did not change it: \"restore\" (keep evidence, then restore), \"report\" (keep evidence, report, leave it) or \"seed\" (write it when absent; never compare, restore or keep it as evidence: DECNET's canaries). Default: [fleet] on_drift.",
        "enum": ["restore", "report", "seed"]
    })
}

fn file() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "source": string("Path of a file holding the content, relative to this TOML file and inside its directory tree."),
            "content": string("The content as UTF-8 text."),
            "content_b64": string("The content, base64-encoded (for binary files)."),
            "mode": {
                "description": "Permissions: an octal integer like 0o600, or a string like \"0600\" (default 0o644).",
                "oneOf": [
                    {"type": "integer", "minimum": 0, "maximum": 4095},
                    {"type": "string", "pattern": "^(0o)?[0-7]{1,4}$"}
                ]
            },
            "owner": {
                "description": "Numeric \"uid:gid\" (default \"0:0\"); names are not resolved.",
                "type": "string",
                "pattern": "^[0-9]+:[0-9]+$"
            },
            "mtime": string("Absolute modification time, RFC 3339 with a zone, like 2025-01-12T09:30:00Z."),
            "mtime_offset": {
                "description": "Modification time relative to apply time: \"-3d\", \"-12h\", \"90m\", \"30s\", or integer seconds.",
                "oneOf": [
                    {"type": "integer"},
                    {"type": "string", "pattern": "^[+-]?[0-9]+[smhd]?$"}
                ]
            },
            "on_drift": file_on_drift(),
            "target": string("Container the file lives in: a service of this decky, or \"base\" (default: ssh when the decky has it, else base)."),
            "sensitive": {
                "description": "true: plans show hashes and sizes, never the content.",
                "type": "boolean",
                "default": false
            },
            "template": {
                "description": "true: expand {fleet} {decky} {hostname} {ip} {persona} {random:hex:N} {random:words:N} in the content, per decky ({{ and }} are literal braces).",
                "type": "boolean",
                "default": false
            },
            "canary": {
                "description": "Plant a canary as the content: a token unique to the decky and path (from seed_file) in a real-looking AWS credentials file, OpenSSH private key, password line or URL. Plans show only its id; `deckhand canaries` lists the tokens.",
                "enum": ["aws", "ssh_key", "password", "url"]
            },
            "ensure": {
                "description": "\"absent\" makes sure the path does not exist (then no content keys).",
                "enum": ["present", "absent"],
                "default": "present"
            }
        },
        "not": {"anyOf": [
            {"required": ["content", "content_b64"]},
            {"required": ["content", "source"]},
            {"required": ["content_b64", "source"]},
            {"required": ["mtime", "mtime_offset"]}
        ]}
    })
}

fn table(description: &str, entry: Value) -> Value {
    json!({"description": description, "type": "object", "additionalProperties": entry})
}

/// `table` with the SPEC §7 settings a base and a service both carry.
fn with_settings(mut table: Value) -> Value {
    let list = |d: &str| json!({"description": d, "type": "array", "items": {"type": "string"}});
    let flag = |d: &str| json!({"description": d, "type": "boolean"});
    let net = "Not on a per-decky service: it shares its base's network namespace.";
    let settings = json!({
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
        },
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
        "healthcheck": {
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
        },
    });
    if let (Some(props), Value::Object(more)) = (table["properties"].as_object_mut(), settings) {
        props.extend(more);
    }
    table
}

fn string(description: &str) -> Value {
    json!({"description": description, "type": "string"})
}

fn names(description: &str) -> Value {
    json!({"description": description, "type": "array", "items": {"type": "string"}, "uniqueItems": true})
}

fn argv(description: &str) -> Value {
    json!({"description": description, "type": "array", "items": {"type": "string"}})
}

fn env(description: &str) -> Value {
    json!({"description": description, "type": "object", "additionalProperties": {"type": "string"}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::RawConfig;
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    fn validator() -> jsonschema::Validator {
        jsonschema::validator_for(&schema()).expect("the schema is a valid draft-07 schema")
    }

    fn as_json(toml_text: &str) -> Value {
        let value: toml::Value = toml::from_str(toml_text).expect("test input is TOML");
        serde_json::to_value(value).unwrap()
    }

    fn errors(toml_text: &str) -> Vec<String> {
        validator()
            .iter_errors(&as_json(toml_text))
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    /// The keys serde accepts in one table, read from its unknown-field error.
    fn raw_keys(table_header: &str) -> BTreeSet<String> {
        let text = format!("{table_header}\nzz_not_a_key = 1\n");
        let message = toml::from_str::<RawConfig>(&text).unwrap_err().to_string();
        let expected = message
            .split("expected")
            .nth(1)
            .unwrap_or_else(|| panic!("no expected list in: {message}"));
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    fn schema_keys(pointer: &str) -> BTreeSet<String> {
        let schema = schema();
        let properties = schema
            .pointer(pointer)
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("no properties at {pointer}"));
        properties.keys().cloned().collect()
    }

    #[test]
    fn schema_has_exactly_the_keys_serde_accepts() {
        let tables = [
            ("", ""),
            ("[fleet]", "/properties/fleet"),
            ("[hosts.a]", "/properties/hosts/additionalProperties"),
            (
                "[hosts.a.tls]",
                "/properties/hosts/additionalProperties/properties/tls",
            ),
            ("[networks.a]", "/properties/networks/additionalProperties"),
            ("[services.a]", "/properties/services/additionalProperties"),
            ("[deckies.a]", "/properties/deckies/additionalProperties"),
            (
                "[deckies.a.files.\"/x\"]",
                "/properties/deckies/additionalProperties/properties/files/additionalProperties",
            ),
        ];
        for (header, pointer) in tables {
            assert_eq!(
                schema_keys(pointer),
                raw_keys(header),
                "keys of {header:?} differ between the schema and config::raw"
            );
        }
    }

    fn toml_files(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap().to_string_lossy().starts_with('.') {
                continue; // editor settings such as .taplo.toml
            }
            if path.is_dir() {
                toml_files(&path, found);
            } else if path.extension().is_some_and(|e| e == "toml") {
                found.push(path);
            }
        }
    }

    #[test]
    fn every_example_file_is_valid() {
        let mut files = Vec::new();
        toml_files(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"),
            &mut files,
        );
        assert!(
            files.len() >= 4,
            "examples hold the quickstart and the gitops split config"
        );
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            assert_eq!(errors(&text), Vec::<String>::new(), "{}", file.display());
        }
    }

    #[test]
    fn the_gitops_example_ships_the_current_schema() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gitops/deckhand.schema.json");
        let shipped = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            shipped,
            format!("{:#}\n", schema()),
            "refresh it: deckhand schema > examples/gitops/deckhand.schema.json"
        );
    }

    #[test]
    fn unknown_keys_are_rejected_at_every_level() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
        let mut seen = 0;
        for entry in std::fs::read_dir(&fixtures).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with("unknown_") && name.ends_with("_key.toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                let found = errors(&text);
                assert!(
                    found.iter().any(|e| e.contains("Additional properties")),
                    "{name}: {found:?}"
                );
                seen += 1;
            }
        }
        assert_eq!(
            seen, 5,
            "fixtures for top, fleet, service, decky and file keys"
        );
    }

    #[test]
    fn values_a_schema_can_check_are_checked() {
        let base = "[fleet]\nname = \"f\"\n[deckies.d.files.\"/a\"]\ncontent = \"x\"\n";
        assert_eq!(errors(base), Vec::<String>::new());
        let bad = [
            "[fleet]\nname = \"Bad Name\"\n",
            "[networks.n]\ndriver = \"overlay\"\n",
            "[services.s]\nimage = \"i\"\nports = [70000]\n",
            "[services.s]\ncommand = \"not a list\"\nimage = \"i\"\n",
            "[deckies.d.files.\"/a\"]\ncontent = \"x\"\nmode = 0o17777\n",
            "[deckies.d.files.\"/a\"]\ncontent = \"x\"\nmode = \"0900\"\n",
            "[deckies.d.files.\"/a\"]\ncontent = \"x\"\nowner = \"root:root\"\n",
            "[deckies.d.files.\"/a\"]\ncontent = \"x\"\nsource = \"f\"\n",
            "[deckies.d.files.\"/a\"]\ncontent = \"x\"\nensure = \"gone\"\n",
            "[deckies.d.files.\"relative\"]\ncontent = \"x\"\n",
        ];
        for text in bad {
            assert!(!errors(text).is_empty(), "accepted: {text}");
        }
    }
}
