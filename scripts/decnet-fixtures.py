#!/usr/bin/env python3
"""Regenerate tests/fixtures/decnet/ with DECNET's own composers.

Usage (from the repository root):
    scripts/decnet-fixtures.py DECNET_SRC

DECNET_SRC is a checkout (or an export; then set DECNET_COMMIT to its commit) of github.com/4nt11/DECNET; run with a Python that
has its imports (pydantic, pyyaml, jinja2, docker, typer, python-dotenv), e.g.
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pydantic pyyaml \
        jinja2 docker typer python-dotenv
    /tmp/venv/bin/python scripts/decnet-fixtures.py /path/to/DECNET

The deckies are built the way `decnet deploy --config FILE` builds them
(load_ini -> build_deckies_from_ini -> DecnetConfig -> generate_compose) and
the topology the way DECNET's topology deployer writes it
(generate_topology_compose on a hydrated topology, checked by DECNET's own
topology validator). Only what cannot run on a machine without a registry is
rewritten afterwards, and each rewrite is listed in the fixture's README:
  * build contexts point at ../contexts/stub, a Dockerfile FROM the local
    deckhand/busybox:1.35 that records its BASE_IMAGE argument in
    /decnet-base-image, so each decky's build really differs;
  * base images pinned by digest (debian:bookworm-slim@sha256:...) become
    local tags deckhand-decnet/<name>:<tag> (the tests tag busybox so).
"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "decnet"
ARTIFACTS = "/tmp/deckhand-decnet-artifacts"

FLEET_INI = """\
[general]
net = {subnet}
gw = {gateway}
interface = {interface}

[{prefix}-deb]
ip = {ip1}
services = ssh

[{prefix}-ubu]
ip = {ip2}
services = ssh

[{prefix}-win]
ip = {ip3}
services = ssh
nmap_os = windows
"""


def decnet_version(src: Path) -> str:
    commit = os.environ.get("DECNET_COMMIT") or subprocess.run(
        ["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    for line in (src / "pyproject.toml").read_text().splitlines():
        if line.startswith("version"):
            return f"{line.split('=')[1].strip().strip(chr(34))} {commit}".strip()
    return commit


def local_image(ref: str) -> str:
    """debian:bookworm-slim@sha256:... -> deckhand-decnet/debian:bookworm-slim"""
    name = ref.split("@", 1)[0]
    return f"deckhand-decnet/{name.rsplit('/', 1)[-1]}"


def stub(compose: dict) -> dict:
    for svc in compose["services"].values():
        if "build" in svc:
            svc["build"]["context"] = "../contexts/stub"
            args = svc["build"].get("args", {})
            if "BASE_IMAGE" in args:
                args["BASE_IMAGE"] = local_image(args["BASE_IMAGE"])
        if "image" in svc:
            svc["image"] = local_image(svc["image"])
    return compose


def fleet(prefix: str, subnet: str, gateway: str, ips: list, interface: str) -> dict:
    from decnet.composer import generate_compose
    from decnet.config import DecnetConfig
    from decnet.fleet import build_deckies_from_ini
    from decnet.ini_loader import load_ini_from_string

    text = FLEET_INI.format(prefix=prefix, subnet=subnet, gateway=gateway,
                            interface=interface, ip1=ips[0], ip2=ips[1], ip3=ips[2])
    ini = load_ini_from_string(text)
    # As `decnet deploy --config` calls it: no randomize, the CLI's default
    # mutate interval (30), the host's own address reserved.
    deckies = build_deckies_from_ini(ini, subnet, gateway, ips[3], False, cli_mutate_interval=30)
    config = DecnetConfig(mode="unihost", interface=interface, subnet=subnet,
                          gateway=gateway, deckies=deckies, log_file=None,
                          ipvlan=False, mutate_interval=30)
    return text, generate_compose(config)


def topology() -> tuple:
    from decnet.topology.compose import generate_topology_compose
    from decnet.topology.validate import errors, validate

    tid = "5eed0c0ffee04b1d9e2a7d1c3b5a7f90"
    lans = [
        {"id": "lan-dmz", "name": "DMZ", "subnet": "172.31.90.0/24", "is_dmz": True},
        {"id": "lan-in", "name": "inner", "subnet": "172.31.91.0/24", "is_dmz": False},
    ]
    deckies = [
        {"uuid": "d-gw", "name": "gw", "services": ["ssh"],
         "decky_config": {"name": "gw", "forwards_l3": True,
                          "ips_by_lan": {"DMZ": "172.31.90.10", "inner": "172.31.91.10"}}},
        {"uuid": "d-in", "name": "inner1", "services": ["ssh"],
         "decky_config": {"name": "inner1",
                          "ips_by_lan": {"inner": "172.31.91.20"}}},
    ]
    edges = [
        {"decky_uuid": "d-gw", "lan_id": "lan-dmz"},
        {"decky_uuid": "d-gw", "lan_id": "lan-in"},
        {"decky_uuid": "d-in", "lan_id": "lan-in"},
    ]
    hydrated = {"topology": {"id": tid, "name": "fixture"}, "lans": lans,
                "deckies": deckies, "edges": edges}
    problems = errors(validate(hydrated))
    return hydrated, problems, generate_topology_compose(hydrated)


def write(name: str, compose: dict, extra: dict) -> None:
    import yaml
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "docker-compose.yml").write_text(
        yaml.dump(stub(compose), default_flow_style=False, sort_keys=False))
    for fname, text in extra.items():
        (d / fname).write_text(text)


def main() -> None:
    src = Path(sys.argv[1]).resolve()
    os.environ["DECNET_ARTIFACTS_ROOT"] = ARTIFACTS
    os.environ.setdefault("DECNET_SYSTEM_LOGS", "/tmp/decnet-fixtures.system.log")
    # DECNET picks hostnames at random: seeded, a regeneration is identical.
    import random
    random.seed(22)
    sys.path.insert(0, str(src))
    import json

    ini, compose = fleet("dnf", "172.31.88.0/24", "172.31.88.1",
                         ["172.31.88.11", "172.31.88.12", "172.31.88.13", "172.31.88.2"], "eth0")
    write("fleet", compose, {"decnet.ini": ini})
    ini, compose = fleet("dnm", "172.31.89.0/24", "172.31.89.1",
                         ["172.31.89.11", "172.31.89.12", "172.31.89.13", "172.31.89.2"], "eth0")
    write("macvlan", compose, {"decnet.ini": ini})
    hydrated, problems, compose = topology()
    write("topology", compose, {"hydrated.json": json.dumps(hydrated, indent=2) + "\n",
                                "validator-errors.json": json.dumps([str(p) for p in problems]) + "\n"})
    (OUT / "DECNET_VERSION").write_text(decnet_version(src) + "\n")


if __name__ == "__main__":
    main()
