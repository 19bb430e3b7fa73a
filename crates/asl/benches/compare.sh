#!/usr/bin/env bash
# Runs the Pass + Choice loop (loop.asl.json) and a Map (map.asl.json) with
# `asl run` (release build) and with the npm package aws-local-stepfunctions
# (its `local-sfn` CLI), at the same sizes, and prints both times,
# transitions/s and the ratio. Both times include starting the process.
# Sizes: SIZES="1000 10000" (loop iterations), MAP_SIZES="10000" (items).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
sizes=${SIZES:-"1000 10000 100000"}
map_sizes=${MAP_SIZES:-"10000"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "installing aws-local-stepfunctions into $work ..." >&2
(cd "$work" && npm install --silent --no-audit --no-fund aws-local-stepfunctions >/dev/null)
sfn_version=$(node -p "require('$work/node_modules/aws-local-stepfunctions/package.json').version")
local_sfn="$work/node_modules/.bin/local-sfn"

echo "building asl (release) ..." >&2
cargo build --quiet --release -p asl --manifest-path "$root/Cargo.toml"
asl="${CARGO_TARGET_DIR:-$root/target}/release/asl"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

echo "aws-local-stepfunctions $sfn_version (node $(node --version)) vs asl run (release)"
printf '%-14s %-12s %12s %16s %12s %16s %8s\n' run transitions \
    "local-sfn s" "local-sfn tr/s" "asl s" "asl tr/s" ratio
# side_by_side LABEL DEFINITION TRANSITIONS SFN_EXPECTED ASL_EXPECTED: runs
# both on $work/in.json, checks each output holds its expected text.
side_by_side() {
    local label=$1 def=$2 transitions=$3 t0 t1 out sfn_s asl_s
    t0=$(now)
    out=$("$local_sfn" -f "$def" < "$work/in.json")
    t1=$(now)
    [[ "$out" == *"$4"* ]] || { echo "local-sfn: unexpected output ${out:0:200}" >&2; exit 1; }
    sfn_s=$(secs "$t0" "$t1")

    t0=$(now)
    out=$("$asl" run "$def" --input "$work/in.json")
    t1=$(now)
    [[ "$out" == *"$5"* ]] || { echo "asl: unexpected output ${out:0:200}" >&2; exit 1; }
    asl_s=$(secs "$t0" "$t1")

    printf '%-14s %-12s %12s %16s %12s %16s %7sx\n' "$label" "$transitions" \
        "$sfn_s" "$(rate "$transitions" "$sfn_s")" "$asl_s" "$(rate "$transitions" "$asl_s")" \
        "$(awk -v a="$sfn_s" -v b="$asl_s" 'BEGIN { printf "%.1f", a / b }')"
}

for n in $sizes; do
    echo "{\"n\": $n}" > "$work/in.json"
    # Init + n x (Inc, Check) + Done.
    side_by_side "loop x $n" "$here/loop.asl.json" $((2 * n + 2)) "i: $n" "\"i\":$n"
done
for n in $map_sizes; do
    node -e "console.log(JSON.stringify({items: [...Array($n).keys()].map(x => ({x}))}))" \
        > "$work/in.json"
    # The Map state + one Pass per item.
    # (node prints the first 100 items of a long array.)
    side_by_side "map x $n" "$here/map.asl.json" $((n + 1)) "v: $((n < 100 ? n : 100)) }" \
        "{\"v\":$n}"
done
