#!/usr/bin/env bash
# Runs the swarm against deliberately broken copies of raft-core, one per patch in this
# directory, and reports for each the first seed that caught it (class and checker), once with
# the production features off (the plain core) and once with every one on, the first seed of a
# membership sweep (`--membership`) that a safety checker failed, and whether the
# named liveness scenarios (`raft-sim scenarios`, seeds 1..=3) did. With
# LAB_SEEDS=A..=B it also says whether the lab suite over those seeds caught it.
#
#   raft-sim/mutants/run.sh [SEEDS] [MUTANT...]      e.g.  raft-sim/mutants/run.sh 1..501 figure8
#
# SEEDS defaults to 1..501. Exit status 0 only if one of the sweeps or the scenarios caught
# every mutant.
# The workspace is copied to a temporary directory (the checkout is never modified); builds
# share target/mutants so only raft-core and raft-sim recompile per mutant.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seeds="${1:-1..501}"
shift || true
mutants=("$@")
if [ ${#mutants[@]} -eq 0 ]; then
    for patch in "$here"/*.patch; do mutants+=("$(basename "$patch" .patch)"); done
fi
copy="$(mktemp -d)"
trap 'rm -rf "$copy"' EXIT
export CARGO_TARGET_DIR="$root/target/mutants"
missed=0

# The first failing seed of a swarm sweep with `--features $1`: "SEED CLASS INVARIANT" (the
# invariant's words joined by "_"), or "-" if no seed failed.
first_failure() {
    local out first invariant
    out="$("$CARGO_TARGET_DIR/release/raft-sim" swarm --seeds "$seeds" --features "$1" --fail-fast 2>&1 || true)"
    first="$(printf '%s\n' "$out" | awk '$1 ~ /^[0-9]+$/ && ($2=="safety"||$2=="liveness"||$2=="panic") {print; exit}')"
    if [ -z "$first" ]; then
        echo "-"
        return
    fi
    invariant="$(printf '%s\n' "$first" | awk '{for (i=3;i<=NF;i++) if ($i ~ /^[0-9.]+s$/) break; else printf "%s%s", (i>3?"_":""), $i}')"
    set -- $first
    echo "$1 $2 $invariant"
}

# The first seed of a `--membership` sweep that a safety checker (or a panic) fails: "SEED CLASS
# INVARIANT", or "-". Liveness failures are left out: the real core still has one open
# membership liveness bug (README, "Membership changes in the swarm").
first_membership_safety() {
    local out first invariant
    out="$("$CARGO_TARGET_DIR/release/raft-sim" swarm --seeds "$seeds" --membership 2>&1 || true)"
    first="$(printf '%s\n' "$out" | awk '$1 ~ /^[0-9]+$/ && ($2=="safety"||$2=="panic") {print; exit}')"
    if [ -z "$first" ]; then
        echo "-"
        return
    fi
    invariant="$(printf '%s\n' "$first" | awk '{for (i=3;i<=NF;i++) if ($i ~ /^[0-9.]+s$/) break; else printf "%s%s", (i>3?"_":""), $i}')"
    set -- $first
    echo "$1 $2 $invariant"
}

row='%-30s %-34s %-34s %-34s %-10s %s\n'
printf "$row" mutant "swarm, features off" "swarm, every feature on" "swarm --membership, safety" scenarios "lab ${LAB_SEEDS:-(not run)}"
for name in "${mutants[@]}"; do
    rm -rf "$copy/ws" && mkdir -p "$copy/ws"
    (cd "$root" && tar --exclude=./target -cf - .) | tar -xf - -C "$copy/ws"
    patch -s -p1 -d "$copy/ws" < "$here/$name.patch"
    cargo build -q --release -p raft-sim --manifest-path "$copy/ws/Cargo.toml"
    plain="$(first_failure none)"
    featured="$(first_failure all)"
    membership="$(first_membership_safety)"
    scenarios="missed"
    if ! "$CARGO_TARGET_DIR/release/raft-sim" scenarios --seeds 1..=3 >/dev/null 2>&1; then
        scenarios="caught"
    fi
    lab="-"
    if [ -n "${LAB_SEEDS:-}" ]; then
        if "$CARGO_TARGET_DIR/release/raft-sim" lab --seeds "$LAB_SEEDS" >/dev/null 2>&1; then
            lab="missed"
        else
            lab="caught"
        fi
    fi
    printf "$row" "$name" "$plain" "$featured" "$membership" "$scenarios" "$lab"
    if [ "$plain" = "-" ] && [ "$featured" = "-" ] && [ "$membership" = "-" ] \
        && [ "$scenarios" = missed ]; then
        missed=$((missed + 1))
    fi
done
exit $((missed > 0))
