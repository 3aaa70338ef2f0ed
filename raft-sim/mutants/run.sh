#!/usr/bin/env bash
# Runs the swarm against deliberately broken copies of raft-core, one per patch in this
# directory, and reports for each the first seed that caught it (class and checker). With
# LAB_SEEDS=A..=B it also says whether the lab suite over those seeds caught it.
#
#   raft-sim/mutants/run.sh [SEEDS] [MUTANT...]      e.g.  raft-sim/mutants/run.sh 1..501 figure8
#
# SEEDS defaults to 1..501. Exit status 0 only if the swarm caught every mutant in that range.
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
printf '%-24s %-8s %-9s %-22s %-10s %s\n' mutant seed class invariant "seeds run" "lab ${LAB_SEEDS:-(not run)}"
for name in "${mutants[@]}"; do
    rm -rf "$copy/ws" && mkdir -p "$copy/ws"
    (cd "$root" && tar --exclude=./target -cf - .) | tar -xf - -C "$copy/ws"
    patch -s -p1 -d "$copy/ws" < "$here/$name.patch"
    cargo build -q --release -p raft-sim --manifest-path "$copy/ws/Cargo.toml"
    out="$("$CARGO_TARGET_DIR/release/raft-sim" swarm --seeds "$seeds" --fail-fast 2>&1 || true)"
    first="$(printf '%s\n' "$out" | awk '$1 ~ /^[0-9]+$/ && ($2=="safety"||$2=="liveness"||$2=="panic") {print; exit}')"
    ran="$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) seeds, .*/\1/p')"
    lab="-"
    if [ -n "${LAB_SEEDS:-}" ]; then
        if "$CARGO_TARGET_DIR/release/raft-sim" lab --seeds "$LAB_SEEDS" >/dev/null 2>&1; then
            lab="missed"
        else
            lab="caught"
        fi
    fi
    if [ -n "$first" ]; then
        set -- $first
        invariant="$3"
        [ "$invariant" = "-" ] || invariant="$(printf '%s\n' "$first" | awk '{for (i=3;i<=NF;i++) if ($i ~ /s$/ && $i ~ /^[0-9.]+s$/) break; else printf "%s%s", (i>3?" ":""), $i}')"
        printf '%-24s %-8s %-9s %-22s %-10s %s\n' "$name" "$1" "$2" "$invariant" "$ran" "$lab"
    else
        printf '%-24s %-8s %-9s %-22s %-10s %s\n' "$name" "-" "MISSED" "-" "$ran" "$lab"
        missed=$((missed + 1))
    fi
done
exit $((missed > 0))
