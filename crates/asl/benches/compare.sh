#!/usr/bin/env bash
# Runs the Pass + Choice loop (loop.asl.json) with `asl run` (release build)
# and with the npm package aws-local-stepfunctions (its `local-sfn` CLI),
# at the same sizes, and prints both times, transitions/s and the ratio.
# Both times include starting the process. Sizes: SIZES="1000 10000".
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
sizes=${SIZES:-"1000 10000 100000"}
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
printf '%-12s %-12s %12s %16s %12s %16s %8s\n' iterations transitions \
    "local-sfn s" "local-sfn tr/s" "asl s" "asl tr/s" ratio
for n in $sizes; do
    echo "{\"n\": $n}" > "$work/in.json"
    # Init + n x (Inc, Check) + Done.
    transitions=$((2 * n + 2))

    t0=$(now)
    out=$("$local_sfn" -f "$here/loop.asl.json" < "$work/in.json")
    t1=$(now)
    [[ "$out" == *"i: $n"* ]] || { echo "local-sfn: unexpected output $out" >&2; exit 1; }
    sfn_s=$(secs "$t0" "$t1")

    t0=$(now)
    out=$("$asl" run "$here/loop.asl.json" --input "$work/in.json")
    t1=$(now)
    [[ "$out" == *"\"i\":$n"* ]] || { echo "asl: unexpected output $out" >&2; exit 1; }
    asl_s=$(secs "$t0" "$t1")

    printf '%-12s %-12s %12s %16s %12s %16s %7sx\n' "$n" "$transitions" \
        "$sfn_s" "$(rate "$transitions" "$sfn_s")" "$asl_s" "$(rate "$transitions" "$asl_s")" \
        "$(awk -v a="$sfn_s" -v b="$asl_s" 'BEGIN { printf "%.1f", a / b }')"
done
