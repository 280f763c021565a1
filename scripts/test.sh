#!/usr/bin/env bash
# Runs every test: unit, snapshot, and end to end against the real Docker engine.
# Starts the engine when none answers and builds the test images first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/images.sh
scripts/test-tools.sh
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --quiet -- --test-threads 4
