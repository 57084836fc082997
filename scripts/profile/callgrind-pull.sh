#!/usr/bin/env bash
# Runs `starling bench pull` under callgrind (instruction counts, noise-free) with
# collection off until the direct download starts, a dump named "direct" when the agent
# phase starts, and the agent child collected from its start (its collection is switched
# on as soon as it runs). Output: OUT_DIR/cg.<pid>[.n]; see docs/benchmarks.md, "Profile".
#
# Usage: scripts/profile/callgrind-pull.sh BINARY OUT_DIR SIZE [more bench pull options]
set -euo pipefail
bin=$1 out=$2 size=$3
shift 3
mkdir -p "$out"
cd "$out"
RUST_LOG=warn valgrind --tool=callgrind --trace-children=yes --instr-atstart=no \
  --callgrind-out-file="$PWD/cg.%p" "$bin" bench pull --size "$size" --timeout 300s "$@" \
  > report.json 2> >(tee bench.log | while IFS= read -r line; do
      case "$line" in
        blob\ sha256*) callgrind_control -i on > /dev/null ;;
        agent\ requests*)
          callgrind_control -d direct > /dev/null
          for _ in $(seq 1 40); do callgrind_control -i on > /dev/null 2>&1; sleep 0.25; done &
          ;;
      esac
    done)
sleep 1
tail -n 1 report.json
