#!/usr/bin/env bash
# Makes sure a Docker engine answers; starts one (as root) when none does.
set -euo pipefail
if docker info >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "error: no Docker engine answers and this is not root: start dockerd and run again" >&2
  exit 1
fi
echo "starting dockerd (log: /tmp/dockerd.log)" >&2
if ! command -v dockerd >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq docker.io >/dev/null
fi
nohup dockerd >/tmp/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "error: dockerd did not come up in 60 s; see /tmp/dockerd.log" >&2
exit 1
