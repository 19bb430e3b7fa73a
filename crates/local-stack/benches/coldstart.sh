#!/usr/bin/env bash
# Cold start of every function against a loopback Lambda Runtime API, beside
# a hello-world lambda_runtime binary: builds the binaries (PROFILE=bench by
# default: optimised like release, without LTO; PROFILE=release for the
# binaries SAM deploys), then runs benches/coldstart.rs.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
profile=${PROFILE:-bench}
functions=$(ls "$root/functions")
args=()
for f in $functions; do args+=(-p "$f"); done
cargo build --quiet --profile "$profile" --manifest-path "$root/Cargo.toml" "${args[@]}"
cargo build --quiet --profile "$profile" --manifest-path "$root/Cargo.toml" -p local-stack --example hello_lambda
dir=${CARGO_TARGET_DIR:-$root/target}/$([[ $profile == bench ]] && echo release || echo "$profile")
COLDSTART_BIN_DIR=$dir COLDSTART_FUNCTIONS="$functions" \
    cargo bench --quiet --manifest-path "$root/Cargo.toml" -p local-stack --bench coldstart
