#!/usr/bin/env bash
# Data-plane throughput: dataset bytes per second fetched from the coordinator over mutual TLS 1.3 (loopback),
# verified (SHA-256) and stored in a worker's cache, with wire compression zstd and none, next to this
# machine's single-core SHA-256, AES-GCM and zstd-decompression speeds measured in the same run.
#
#   Benchmarks/dataplane-throughput.sh [SIZE_MB]        (default 256; MB = 10^6 bytes throughout)
#
# Environment (all optional):
#   MEDGRID_BIN=PATH          use this medgrid binary instead of building one (`swift build -c release`)
#   MEDGRID_BENCH_VENV=DIR    Python venv for cryptography and zstandard; created if missing and kept afterwards
#                             (default: a fresh venv in the temporary folder, removed on exit)
#
# What is measured. A synthetic CT-like phantom dataset (256x256x64 int16 volumes, stored as .nii.gz, ~4 MB
# per case) with enough cases for SIZE_MB of file bytes is submitted once to a coordinator on 127.0.0.1 as a
# `debug.noop` job with one case per task. One worker daemon (2 slots) with an empty cache must fetch every
# file before its task runs. The clock starts when `medgrid submit` has returned (so the upload from the
# client is excluded) and stops when polling `medgrid status JOB --json` sees the job end (at most ~0.1 s
# late). This is done with a fresh worker (new state dir, so a cold cache) for `--wire-compression zstd` and
# for `--wire-compression none`, against the same coordinator; then the job is submitted again to the zstd
# worker, whose cache now holds every file: that warm run is the job's overhead without any transfer
# (planning, leases, durable commits, one executor process per attempt, input verification of cached files),
# and "net" figures divide the bytes by (cold − warm) seconds.
# The files are already gzip-compressed, so zstd finds little to remove on the wire; the zstd row of the
# machine table shows the ratio it reaches on one of them.
#
# Machine speeds (one Python process, one core each): SHA-256 of a 256 MiB buffer (hashlib), AES-128-GCM and
# AES-256-GCM encryption of 256 MiB in 16 MiB chunks (`cryptography`), and zstd decompression (`zstandard`)
# of a level-3 compressed copy of the dataset's largest image file, decompressed repeatedly until 256 MiB came
# out: once for the file as stored (.nii.gz, what the wire carries; zstd stores it nearly raw, so this is close
# to a memory copy) and once for the same file gunzipped (the raw int16 volume, where zstd really works).
# Not a test: figures vary with the machine. Loopback only; every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-256}
[[ $SIZE_MB =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [SIZE_MB]   (SIZE_MB a positive integer)" >&2; exit 1; }

BENCH_NAME=dataplane-bench
# shellcheck source=lib/common.sh
source "Benchmarks/lib/common.sh"
# stop PID: SIGTERM it (a graceful shutdown) and wait up to 30 s; once it has exited, cleanup forgets it (so a
# later reuse of its number is never signalled).
stop() {
  local deadline=$((SECONDS + 30)) pid keep=()
  kill -TERM "$1" 2>/dev/null || true
  while kill -0 "$1" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  kill -0 "$1" 2>/dev/null && return 0
  wait "$1" 2>/dev/null || true
  for pid in "${PIDS[@]}"; do [[ $pid == "$1" ]] || keep+=("$pid"); done
  PIDS=(${keep[@]+"${keep[@]}"})
}
file_bytes() { find "$@" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }'; }

# ---------------------------------------------------------------------------------------------------- dataset
M=$WORK/medgrid
mkdir -p "$M"
run "$BIN" dataset synth phantom --out "$M/probe" --cases 1 --size 256x256x64 --seed 1 >/dev/null
PER_CASE=$(file_bytes "$M/probe/imagesTr" "$M/probe/labelsTr")
CASES=$(( (SIZE_MB * 1000000 + PER_CASE - 1) / PER_CASE ))
echo "machine: $(nproc) cores; making $CASES phantom cases of 256x256x64 (~$((PER_CASE / 1000)) kB each) for $SIZE_MB MB ..."
run "$BIN" dataset synth phantom --out "$M/big" --cases "$CASES" --size 256x256x64 --seed 1 >/dev/null
BYTES=$(file_bytes "$M/big/imagesTr" "$M/big/labelsTr")
NFILES=$(find "$M/big/imagesTr" "$M/big/labelsTr" -type f | wc -l)
"$BIN" dataset info "$M/big" --state-dir "$M/info-state" | grep -E '^files:' | sed 's/^/dataset info: /'
echo "dataset: $CASES cases, $NFILES image and label files, $BYTES bytes"
cat > "$M/noop.yaml" <<YAML
apiVersion: medgrid/v1
kind: Job
metadata:
  name: dataplane-bench
spec:
  dataset: big
  kernel: debug.noop
  shard: {casesPerTask: 1}
YAML

# ---------------------------------------------------------------------------------------------------- grid
"$BIN" tls ca create --out "$M" >/dev/null
"$BIN" tls cert create --coordinator --san 127.0.0.1 --out "$M" >/dev/null
"$BIN" tls cert create --user bench --out "$M" >/dev/null
"$BIN" tls cert create --worker wire-zstd --out "$M" >/dev/null
"$BIN" tls cert create --worker wire-none --out "$M" >/dev/null
PORT=$(free_port)
URL=https://127.0.0.1:$PORT
CLIENT=(--coordinator "$URL" --cert "$M/user-bench.pem" --key "$M/user-bench-key.pem" --ca "$M/ca.pem")
start coordinator "$BIN" coordinator --listen "127.0.0.1:$PORT" --state-dir "$M/coord" \
  --cert "$M/coordinator.pem" --key "$M/coordinator-key.pem" --ca "$M/ca.pem" --log-level error
COORD_PID=$STARTED
CACHE_MIB=$(( SIZE_MB * 2 > 1024 ? SIZE_MB * 2 : 1024 ))

# start_worker MODE: a worker named wire-MODE with a new, empty state dir; waits until it has registered.
start_worker() {
  local mode=$1 deadline=$((SECONDS + 60))
  start "worker-$mode" "$BIN" worker --coordinator "$URL" --cert "$M/worker-wire-$mode.pem" \
    --key "$M/worker-wire-$mode-key.pem" --ca "$M/ca.pem" --slots 2 --state-dir "$M/worker-$mode" \
    --cache-size "$CACHE_MIB" --wire-compression "$mode" --log-level error
  WORKER_PID=$STARTED
  until "$BIN" workers --json "${CLIENT[@]}" 2>/dev/null | python3 -c '
import json, sys
sys.exit(0 if any(w.get("name") == sys.argv[1] for w in json.load(sys.stdin).get("workers", [])) else 1)' \
    "wire-$mode" 2>/dev/null; do
    alive "$COORD_PID" coordinator
    alive "$WORKER_PID" "worker-$mode"
    ((SECONDS < deadline)) || { echo "worker wire-$mode did not register within 60 s" >&2; exit 1; }
    sleep 0.2
  done
}

# run_job: submit the manifest, then poll until the job ends; sets SECS (from submit-return to the end).
status_re='"status"[[:space:]]*:[[:space:]]*"([a-z]+)"'
run_job() {
  local t_submit t_returned job out
  t_submit=$(now)
  run "$BIN" submit "$M/noop.yaml" --json "${CLIENT[@]}" >"$M/submit.json"
  t_returned=$(now)
  job=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["job"])' "$M/submit.json")
  while :; do
    out=$("$BIN" status "$job" --json "${CLIENT[@]}")
    [[ $out =~ $status_re ]] || { echo "unexpected status output: $out" >&2; exit 1; }
    [[ ${BASH_REMATCH[1]} == running ]] || break
    alive "$COORD_PID" coordinator
    alive "$WORKER_PID" "worker-$MODE"
    sleep 0.1
  done
  SECS=$(elapsed "$t_returned" "$(now)")
  printf '%s\n' "$out" | python3 -c '
import json, sys
s = json.load(sys.stdin); sub = json.load(open(sys.argv[1])); cases = int(sys.argv[2])
done = s["tasks"].get("succeeded", 0)
print("  job %s %s: %d/%d tasks succeeded, submit took %s s (%s files uploaded)"
      % (s["id"], s["status"], done, cases, sys.argv[3], sub.get("uploaded", "?")))
sys.exit(0 if s["status"] == "succeeded" and done == cases else 1)' \
    "$M/submit.json" "$CASES" "$(elapsed "$t_submit" "$t_returned")" || { echo "the job did not succeed" >&2; exit 1; }
}

for MODE in zstd none; do
  echo "wire compression $MODE: fresh worker, cold cache"
  start_worker "$MODE"
  run_job
  cached=$(file_bytes "$M/worker-$MODE")
  echo "  ${SECS} s; worker state dir now holds $cached bytes"
  if [[ $MODE == zstd ]]; then
    COLD_ZSTD=$SECS
    echo "wire compression zstd: same worker again, warm cache (no transfer)"
    run_job
    WARM=$SECS
    echo "  ${SECS} s"
  else
    COLD_NONE=$SECS
  fi
  stop "$WORKER_PID"
done
stop "$COORD_PID"

# ---------------------------------------------------------------------------------------------------- machine
VENV=${MEDGRID_BENCH_VENV:-$WORK/venv}
if [[ ! -x $VENV/bin/python ]]; then
  echo "machine: creating a venv in $VENV and installing cryptography and zstandard ..."
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import cryptography, zstandard' 2>/dev/null ||
  run "$VENV/bin/pip" install -q --disable-pip-version-check cryptography zstandard
SAMPLE=$(find "$M/big/imagesTr" -type f -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2-)
echo "machine: single-core speeds (Python hashlib, cryptography, zstandard) ..."
cat > "$M/machine.py" <<'PYTHON'
import gzip, hashlib, os, sys, time
import zstandard
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

size = 256 * 1024 * 1024
chunk = 16 * 1024 * 1024
data = os.urandom(size)
view = memoryview(data)

def megabytes_per_second(nbytes, seconds):
    return nbytes / 1e6 / seconds

start = time.perf_counter()
hashlib.sha256(data).digest()
sha = megabytes_per_second(size, time.perf_counter() - start)

aes = {}
for bits in (128, 256):
    cipher = AESGCM(AESGCM.generate_key(bit_length=bits))
    start = time.perf_counter()
    for counter, offset in enumerate(range(0, size, chunk)):
        cipher.encrypt(counter.to_bytes(12, "big"), view[offset:offset + chunk], None)
    aes[bits] = megabytes_per_second(size, time.perf_counter() - start)

def unzstd(plain):
    """MB/s of output decompressing a level-3 zstd frame of `plain` repeatedly, and compressed/plain."""
    compressed = zstandard.ZstdCompressor(level=3).compress(plain)
    decompressor = zstandard.ZstdDecompressor()
    produced = 0
    start = time.perf_counter()
    while produced < size:
        produced += len(decompressor.decompress(compressed))
    return megabytes_per_second(produced, time.perf_counter() - start), len(compressed) / len(plain)

with open(sys.argv[1], "rb") as f:
    stored = f.read()
raw = gzip.decompress(stored)
zstd_stored, ratio_stored = unzstd(stored)
zstd_raw, ratio_raw = unzstd(raw)
print("%.1f %.1f %.1f %.1f %.4f %d %.1f %.4f %d" % (sha, aes[128], aes[256], zstd_stored, ratio_stored,
                                                  len(stored), zstd_raw, ratio_raw, len(raw)))
PYTHON
run "$VENV/bin/python" "$M/machine.py" "$SAMPLE" >"$M/machine.txt"
MACHINE=$(cat "$M/machine.txt")

# ---------------------------------------------------------------------------------------------------- table
python3 - "$BYTES" "$COLD_ZSTD" "$COLD_NONE" "$WARM" $MACHINE <<'PYTHON'
import sys
nbytes = int(sys.argv[1]); zstd_s, none_s, warm_s = map(float, sys.argv[2:5])
sha, aes128, aes256, unzstd, ratio, sample, unzstd_raw, ratio_raw, sample_raw = sys.argv[5:14]
mb = nbytes / 1e6

def net(seconds):
    return "%.1f" % (mb / (seconds - warm_s)) if seconds > warm_s else "n/a"

print()
print("data plane: %.1f MB of dataset files into an empty worker cache (2 slots), from submit-return to job end"
      % mb)
print("%-34s %9s %9s %13s" % ("run", "seconds", "MB/s", "net MB/s"))
print("%-34s %9.3f %9.1f %13s" % ("wire zstd, cold cache", zstd_s, mb / zstd_s, net(zstd_s)))
print("%-34s %9.3f %9.1f %13s" % ("wire none, cold cache", none_s, mb / none_s, net(none_s)))
print("%-34s %9.3f %9s %13s" % ("wire zstd, warm cache (overhead)", warm_s, "", ""))
print("(net MB/s = bytes / (cold − warm seconds): the transfer alone, without the job's per-task overhead;")
print(" only meaningful when the cold runs take well over the warm one, so use a large SIZE_MB)")
print()
print("machine, one core:")
print("%-34s %9s" % ("operation", "MB/s"))
print("%-34s %9s" % ("SHA-256 (hashlib)", sha))
print("%-34s %9s" % ("AES-128-GCM encrypt (16 MiB chunks)", aes128))
print("%-34s %9s" % ("AES-256-GCM encrypt (16 MiB chunks)", aes256))
print("%-34s %9s" % ("zstd -3 decompress, stored file", unzstd))
print("%-34s %9s" % ("zstd -3 decompress, raw NIfTI", unzstd_raw))
print("(zstd speeds count output bytes. Stored file: the largest .nii.gz as on the wire, %s bytes, zstd/plain = %s;"
      % (sample, ratio))
print(" raw NIfTI: the same file gunzipped, %s bytes, zstd/plain = %s)" % (sample_raw, ratio_raw))
PYTHON
