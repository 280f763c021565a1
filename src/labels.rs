//! The labels deckhand puts on the engine's objects (SPEC §2).

/// Every label deckhand sets starts so; an operator's may not.
pub const PREFIX: &str = "deckhand.";
pub const FLEET: &str = "deckhand.fleet";
pub const DECKY: &str = "deckhand.decky";
pub const SERVICE: &str = "deckhand.service";
pub const ROLE: &str = "deckhand.role";
pub const TOPOLOGY: &str = "deckhand.topology";
/// The spec a container was created from, as JSON: lets a replace name its reason.
pub const SPEC: &str = "deckhand.spec";
/// sha256 of [`SPEC`]: a different digest means replace.
pub const SPEC_DIGEST: &str = "deckhand.spec-digest";

/// The docker-compose project that made a container (DECNET's deployer, a person's compose).
pub const COMPOSE_PROJECT: &str = "com.docker.compose.project";

/// DECNET's own labels on per-decky service containers.
pub const DECNET_SERVICE: &str = "decnet.fleet.service";
pub const DECNET_DECKY: &str = "decnet.fleet.decky";
pub const DECNET_SERVICE_NAME: &str = "decnet.fleet.service_name";

/// DECNET's labels on a MazeNET topology's containers (its collector finds
/// them by `decnet.topology.service`): base and services carry the
/// topology's id and the decky, the base its role, services their name.
pub const DECNET_TOPOLOGY_ID: &str = "decnet.topology.id";
pub const DECNET_TOPOLOGY_DECKY: &str = "decnet.topology.decky";
pub const DECNET_TOPOLOGY_ROLE: &str = "decnet.topology.role";
pub const DECNET_TOPOLOGY_SERVICE: &str = "decnet.topology.service";
pub const DECNET_TOPOLOGY_SERVICE_NAME: &str = "decnet.topology.service_name";

/// On deckhand's never-started holder containers: `lock` or `record`.
pub const HOLDER: &str = "deckhand.holder";

/// `deckhand.fleet=<fleet>`, the filter for everything a fleet owns.
pub fn fleet_filter(fleet: &str) -> String {
    format!("{FLEET}={fleet}")
}

/// Whether label `key` belongs to a tool rather than the operator: deckhand's
/// own (`deckhand.*`, reserved), DECNET's per-service and MazeNET topology
/// ones (deckhand writes those itself from `topology`), docker-compose's.
pub fn is_tool_label(key: &str) -> bool {
    [
        "deckhand.",
        "decnet.fleet.",
        "decnet.topology.",
        "com.docker.compose.",
    ]
    .iter()
    .any(|p| key.starts_with(p))
}
