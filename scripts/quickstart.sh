#!/usr/bin/env bash
# The example fleet end to end: plan, apply, and a second plan that says `No changes.`
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/images.sh
cargo build --release --quiet
deckhand="$PWD/target/release/deckhand"
cd examples/quickstart
# The seed templated bait is derived from: made once, private, git-ignored (.deckhand/).
if [ ! -e .deckhand/seed ]; then
    mkdir -p .deckhand
    (umask 077 && head -c 32 /dev/urandom > .deckhand/seed)
fi
"$deckhand" validate
"$deckhand" plan
"$deckhand" apply --auto-approve
"$deckhand" plan
"$deckhand" status
