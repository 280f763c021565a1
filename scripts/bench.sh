#!/usr/bin/env bash
# deckhand side by side with `docker exec` and `docker-compose` on the local
# engine: builds its own fleets (named bench*), prints a table of five figures.
# About 10 minutes on 2 cores. `scripts/bench.sh --quick` for a one-run smoke pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/images.sh
if ! command -v docker-compose >/dev/null; then
  echo "installing docker-compose" >&2
  apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null
fi
cargo build --release --quiet
exec python3 scripts/bench.py "$@"
