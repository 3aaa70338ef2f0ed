#!/usr/bin/env bash
# Renders a real failing run's timeline in headless Chromium (Debian's `chromium` package) and
# checks that it rendered:
#   - the page's script ran (the picture is marked ready, the time axis has ticks);
#   - one lane per server, and the failure's mark and flag are in the page and shown;
#   - zoomed to the failure (#failure), messages are drawn as arrows;
#   - the screenshot is not blank, shows lanes, and shows the failure's red line where the
#     page says the mark is (tests/browser/png_check.py).
# Keeps the page, its trace and two screenshots in OUT (default target/browser-check).
#
#   raft-sim/tests/browser/check.sh [OUT]
#
# Not part of `cargo test` (which must not need a browser); .ci/run runs it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="$(mkdir -p "${1:-$root/target/browser-check}" && cd "${1:-$root/target/browser-check}" && pwd)"
fail() { echo "browser check FAILED: $*" >&2; exit 1; }

browser="$(command -v chromium || true)"
[ -n "$browser" ] || fail "chromium is not installed (Debian: apt-get install -y chromium)"
cargo build --quiet --release -p raft-sim --manifest-path "$root/Cargo.toml"
bin="$root/target/release/raft-sim"

# A swarm run on unsafe disks that fails (Durability) after 14.5 s of virtual time, with
# crashes, cuts, elections and snapshots before it (the same run tests/timeline.rs checks).
plan='n=6,t=20447,lat=0,loss=0,dup=0,reorder=0,topo=split+isolate+oneway+bridge/64,flow=default,crash=3320/1151/813,skew=9,snap=106/2815,clients=4/43,heal=majority,unsafe-disk'
set +e
"$bin" replay --swarm --seed 10 --plan "$plan" \
    --timeline "$out/timeline.html" --trace "$out/trace.jsonl" > "$out/replay.txt"
code=$?
set -e
cat "$out/replay.txt"
[ "$code" -eq 1 ] || fail "the replay should fail with a safety failure (exit 1), got exit $code"
lanes=$(grep -o '"kind":"start","node":[0-9]*' "$out/trace.jsonl" | sort -u | wc -l)

# Headless Chromium as root in a container: no sandbox, no GPU, nothing fetched, a fresh
# profile each time.
chrome() {
    local profile
    profile="$(mktemp -d)"
    "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --force-device-scale-factor=1 \
        --window-size=1600,900 --user-data-dir="$profile" "$@" 2>/dev/null
    rm -rf "$profile"
}
attr() { # attr NAME FILE: the value of NAME on the <svg id="timeline"> element
    grep -o '<svg id="timeline"[^>]*>' "$2" | grep -o " $1=\"[^\"]*\"" | cut -d'"' -f2
}

page="file://$out/timeline.html"
chrome --dump-dom "$page" > "$out/dom.html"
[ "$(attr data-ready "$out/dom.html")" = 1 ] || fail "the page's script did not run"
shown=$(grep -o '<g class="lane" id="lane-[0-9]*"' "$out/dom.html" | wc -l)
[ "$shown" -eq "$lanes" ] || fail "$shown lanes shown for $lanes servers"
ticks=$(grep -o '<line class="tick"' "$out/dom.html" | wc -l)
[ "$ticks" -ge 5 ] || fail "the time axis has $ticks ticks"
grep -q '<line id="failure-mark"' "$out/dom.html" || fail "no failure mark"
grep -o '<g id="failure-flag"[^>]*>' "$out/dom.html" | grep -q 'display="inline"' ||
    fail "the failure's flag is hidden"
failure_x="$(attr data-failure-x "$out/dom.html")"
echo "dom: $shown lanes, $ticks axis ticks, failure mark at x=$failure_x"

chrome --dump-dom "$page#failure" > "$out/dom-failure.html"
arrows="$(attr data-arrows "$out/dom-failure.html")"
[ "${arrows:-0}" -gt 0 ] || fail "zoomed to the failure, no message is drawn"
echo "zoomed to the failure: $arrows message arrows"

chrome --screenshot="$out/timeline.png" "$page" > /dev/null
chrome --screenshot="$out/timeline-failure.png" "$page#failure" > /dev/null
python3 "$here/png_check.py" "$out/timeline.png" "$failure_x" || fail "the screenshot"
echo "browser check passed; screenshots: $out/timeline.png, $out/timeline-failure.png"
