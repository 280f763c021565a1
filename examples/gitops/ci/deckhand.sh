#!/usr/bin/env bash
# The commands the CI workflow runs; run them by hand to see what CI sees.
#
#   ci/deckhand.sh plan    validate, then plan: plan.md (for the pull request or
#                          the job summary) and deckhand.plan (the saved plan)
#   ci/deckhand.sh apply   apply deckhand.plan exactly as reviewed, or refuse
#                          ("plan is stale") if the fleet or the config changed
#
# DECKHAND names the binary (default: deckhand on PATH). When GITHUB_OUTPUT is
# set, `plan` writes changes=true|false there for the apply job to read.
set -euo pipefail
cd "$(dirname "$0")/.."
deckhand=${DECKHAND:-deckhand}

case ${1:-} in
plan)
    "$deckhand" validate -f fleet
    code=0
    "$deckhand" plan -f fleet --no-color --format markdown --detailed-exitcode \
        --out deckhand.plan >plan.md || code=$?
    case $code in
    0) changes=false ;;
    2) changes=true ;;
    *) exit "$code" ;;
    esac
    echo "changes=$changes" | tee -a "${GITHUB_OUTPUT:-/dev/null}"
    ;;
apply)
    "$deckhand" apply --no-color deckhand.plan
    ;;
*)
    echo "usage: $0 plan|apply" >&2
    exit 64
    ;;
esac
