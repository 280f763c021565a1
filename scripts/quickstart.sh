#!/usr/bin/env bash
# The example fleet end to end: plan, apply, and a second plan that says `No changes.`
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
scripts/images.sh
echo "Building deckhand (release; the first build takes a few minutes)..."
cargo build --release
# The README's session calls `deckhand`: put the one just built first on PATH.
export PATH="$root/target/release:$PATH"
cd examples/quickstart
set -x
deckhand validate
deckhand plan
deckhand apply --auto-approve
deckhand plan
deckhand status
{ set +x; } 2>/dev/null
cat <<MSG

The quickstart fleet is up. deckhand is $root/target/release/deckhand; to call it
as \`deckhand\` in your shell:
  export PATH="$root/target/release:\$PATH"      # or: cargo install --path $root

Next: edit examples/quickstart/deckhand.toml (a file's content, a decky's services), then
  cd $root/examples/quickstart && deckhand plan && deckhand apply
Tear it down (the containers and the two networks; evidence stays in .deckhand/):
  cd $root/examples/quickstart && deckhand destroy --networks
MSG
