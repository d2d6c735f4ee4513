#!/usr/bin/env bash
# No-op task throughput through `medgrid run`, and the coordinator's CPU time per task.
#
#   Benchmarks/noop-throughput.sh [TASKS] [WORKERS] [SLOTS]
#
# Builds MedGrid in release mode, makes a dataset of TASKS tiny cases, and runs `debug.noop` over it with one
# case per task, so every figure is grid overhead: planning, leasing, dispatch to executor processes,
# input verification (SHA-256 of each case's two files), result upload and durable commits (SQLite WAL,
# synchronous=FULL). Prints wall time, tasks per second and coordinator CPU µs per task (thread CPU clock
# around the coordinator's handlers). Not a test: figures vary with the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
TASKS=${1:-2000}
WORKERS=${2:-2}
SLOTS=${3:-2}
swift build -c release --product medgrid >/dev/null
BIN=$(swift build -c release --show-bin-path)/medgrid
WORK=$(mktemp -d /tmp/medgrid-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
"$BIN" dataset synth phantom --out "$WORK/tiny" --cases "$TASKS" --size 8x8x8 --seed 1 >/dev/null
cat > "$WORK/noop.yaml" <<YAML
apiVersion: medgrid/v1
kind: Job
metadata:
  name: noop-bench
spec:
  dataset: tiny
  kernel: debug.noop
  shard: {casesPerTask: 1}
YAML
echo "machine: $(nproc) cores; $TASKS no-op tasks; $WORKERS workers x $SLOTS slots"
for run in 1 2; do
  rm -rf "$WORK/state" "$WORK/out"
  "$BIN" run "$WORK/noop.yaml" --workers "$WORKERS" --slots "$SLOTS" --state-dir "$WORK/state" --out "$WORK/out" --quiet --stats | grep '^stats:' | sed "s/^/run $run: /"
done
