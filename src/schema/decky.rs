//! The schema of a catalog service, a decky and its bait files.

use serde_json::{json, Value};

use super::settings::{caps, logging};
use super::{argv, env, names, string};

pub(super) fn service() -> Value {
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

pub(super) fn decky() -> Value {
    let mut decky = json!({
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
            "files": {
                "description": "Bait files, keyed by absolute path inside the container.",
                "type": "object",
                "propertyNames": {"pattern": "^/"},
                "additionalProperties": file()
            }
        }
    });
    super::extend(&mut decky, per_service());
    decky
}

pub(super) fn build(description: &str) -> Value {
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

pub(super) fn on_drift() -> Value {
    json!({
        "description": "What to do when live content differs from the file and deckhand did not change it: \"restore\" (default: keep evidence, then restore) or \"report\" (keep evidence, report, leave it).",
        "enum": ["restore", "report"]
    })
}

pub(super) fn file_on_drift() -> Value {
    json!({
        "description": "What to do when live content differs from the file and deckhand did not change it: \"restore\" (keep evidence, then restore), \"report\" (keep evidence, report, leave it) or \"seed\" (write it when absent; never compare, restore or keep it as evidence: DECNET's canaries). Default: [fleet] on_drift.",
        "enum": ["restore", "report", "seed"]
    })
}

pub(super) fn file() -> Value {
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

/// A decky's keys that are tables by service: environment, image, build args.
fn per_service() -> Value {
    json!({
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
        }
    })
}
