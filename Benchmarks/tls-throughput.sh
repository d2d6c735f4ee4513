#!/usr/bin/env bash
# No-op task throughput over mutual TLS on loopback: MedGrid's coordinator and worker daemons next to a Dask
# distributed scheduler and workers, in one run, on the same machine.
#
#   Benchmarks/tls-throughput.sh [TASKS]        (default 1000)
#
# Environment (all optional):
#   MEDGRID_BIN=PATH          use this medgrid binary instead of building one (`swift build -c release`)
#   MEDGRID_BENCH_VENV=DIR    Python venv for Dask and cryptography; created if missing and kept afterwards
#                             (default: a fresh venv in the temporary folder, removed on exit)
#
# MedGrid: a PKI made by `medgrid tls`, a coordinator on 127.0.0.1 and two worker daemons with 2 slots each,
# every connection HTTPS with mutual TLS 1.3. A dataset of TASKS tiny 8x8x8 phantom cases and a `debug.noop`
# manifest with one case per task are submitted with `medgrid submit`, then `medgrid status JOB --json` is
# polled until the job leaves "running". Each task's figure includes: the upload of the tiny dataset (first
# figure only), planning, durable SQLite commits (WAL, synchronous=FULL) of leases and of each result,
# fetching each case's files into the worker's verified cache, SHA-256 verification of every input before
# use, and one `medgrid executor` child process per slot (per-attempt process isolation).
# Two MedGrid figures are printed: from the start of `medgrid submit` (upload included) and from the moment
# it returned. The end is when polling saw the job finish (at most ~0.1 s late plus one status call); the
# coordinator's own finishedAt − submittedAt is printed too.
#
# Dask: `dask scheduler` and two `dask worker --nworkers 1 --nthreads 2` (nanny + worker process each), TLS
# with a CA and scheduler/worker/client certificates made here with Python `cryptography`, encryption
# required and TLS 1.3 as the minimum version. A client already connected maps TASKS no-op Python functions
# (`client.map(noop, range(TASKS), pure=False)`) and gathers them. That figure includes: the in-memory
# scheduler's bookkeeping, task messages over TLS, execution in a worker thread, results sent back. No
# durability, no process per task, no input data or hashing.
#
# Not a test: figures vary with the machine. Loopback only; every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
TASKS=${1:-1000}
[[ $TASKS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [TASKS]   (TASKS a positive integer)" >&2; exit 1; }

BENCH_NAME=tls-bench
# shellcheck source=lib/common.sh
source "Benchmarks/lib/common.sh"

echo "machine: $(nproc) cores; $TASKS no-op tasks; 2 workers x 2 slots (MedGrid) / 2 workers x 2 threads (Dask)"

# ---------------------------------------------------------------------------------------------------- MedGrid
M=$WORK/medgrid
mkdir -p "$M"
"$BIN" tls ca create --out "$M" >/dev/null
"$BIN" tls cert create --coordinator --san 127.0.0.1 --out "$M" >/dev/null
"$BIN" tls cert create --worker w1 --out "$M" >/dev/null
"$BIN" tls cert create --worker w2 --out "$M" >/dev/null
"$BIN" tls cert create --user bench --out "$M" >/dev/null
run "$BIN" dataset synth phantom --out "$M/tiny" --cases "$TASKS" --size 8x8x8 --seed 1 >/dev/null
cat > "$M/noop.yaml" <<YAML
apiVersion: medgrid/v1
kind: Job
metadata:
  name: noop-bench
spec:
  dataset: tiny
  kernel: debug.noop
  shard: {casesPerTask: 1}
YAML

PORT=$(free_port)
URL=https://127.0.0.1:$PORT
CLIENT=(--coordinator "$URL" --cert "$M/user-bench.pem" --key "$M/user-bench-key.pem" --ca "$M/ca.pem")
start coordinator "$BIN" coordinator --listen "127.0.0.1:$PORT" --state-dir "$M/coord" \
  --cert "$M/coordinator.pem" --key "$M/coordinator-key.pem" --ca "$M/ca.pem" --log-level error
COORD_PID=$STARTED
WORKER_PIDS=()
for w in w1 w2; do
  start "worker-$w" "$BIN" worker --coordinator "$URL" --cert "$M/worker-$w.pem" --key "$M/worker-$w-key.pem" \
    --ca "$M/ca.pem" --slots 2 --state-dir "$M/$w" --log-level error
  WORKER_PIDS+=("$STARTED")
done

# Wait until the coordinator answers and both workers have registered.
deadline=$((SECONDS + 60))
until "$BIN" workers --json "${CLIENT[@]}" 2>/dev/null | python3 -c '
import json, sys
names = {w.get("name") for w in json.load(sys.stdin).get("workers", [])}
sys.exit(0 if {"w1", "w2"} <= names else 1)' 2>/dev/null; do
  alive "$COORD_PID" coordinator
  alive "${WORKER_PIDS[0]}" worker-w1
  alive "${WORKER_PIDS[1]}" worker-w2
  ((SECONDS < deadline)) || { echo "MedGrid workers did not register within 60 s" >&2; exit 1; }
  sleep 0.2
done

t_submit=$(now)
run "$BIN" submit "$M/noop.yaml" --json "${CLIENT[@]}" >"$M/submit.json"
t_returned=$(now)
JOB=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["job"])' "$M/submit.json")
status_re='"status"[[:space:]]*:[[:space:]]*"([a-z]+)"'
while :; do
  out=$("$BIN" status "$JOB" --json "${CLIENT[@]}")
  [[ $out =~ $status_re ]] || { echo "unexpected status output: $out" >&2; exit 1; }
  [[ ${BASH_REMATCH[1]} == running ]] || break
  alive "$COORD_PID" coordinator
  sleep 0.1
done
t_end=$(now)
printf '%s\n' "$out" >"$M/status.json"
read -r MG_STATUS MG_DONE MG_SERVER MG_UPLOADED < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1])); sub = json.load(open(sys.argv[2]))
server = s["finishedAt"] - s["submittedAt"] if "finishedAt" in s else float("nan")
print(s["status"], s["tasks"].get("succeeded", 0), "%.3f" % server, sub.get("uploaded", "?"))' "$M/status.json" "$M/submit.json")
MG_TOTAL=$(elapsed "$t_submit" "$t_end")
MG_AFTER=$(elapsed "$t_returned" "$t_end")
echo "medgrid: job $JOB $MG_STATUS, $MG_DONE/$TASKS tasks succeeded, $MG_UPLOADED files uploaded;" \
  "submit took $(elapsed "$t_submit" "$t_returned") s; coordinator's own job time $MG_SERVER s"
if [[ $MG_STATUS != succeeded || $MG_DONE != "$TASKS" ]]; then
  echo "MedGrid job did not succeed: $out" >&2; exit 1
fi

# Stop MedGrid (SIGTERM: graceful shutdown; workers first, then the coordinator) before Dask starts, so the two
# never share the cores. Processes that have exited are dropped from the cleanup list, so a later reuse of their
# numbers is never signalled.
for pid in "${WORKER_PIDS[@]}" "$COORD_PID"; do
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
done
keep=()
for pid in "${PIDS[@]}"; do
  if kill -0 "$pid" 2>/dev/null; then keep+=("$pid"); else wait "$pid" 2>/dev/null || true; fi
done
PIDS=(${keep[@]+"${keep[@]}"})

# ---------------------------------------------------------------------------------------------------- Dask
K=$WORK/dask
mkdir -p "$K"
VENV=${MEDGRID_BENCH_VENV:-$WORK/venv}
if [[ ! -x $VENV/bin/python ]]; then
  echo "dask: creating a venv in $VENV and installing dask[distributed] and cryptography ..."
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import distributed, cryptography' 2>/dev/null ||
  run "$VENV/bin/pip" install -q --disable-pip-version-check "dask[distributed]" cryptography
PY=$VENV/bin/python

# A CA and scheduler, worker and client certificates (ECDSA P-256, SAN 127.0.0.1), valid one day.
cat > "$K/certs.py" <<'PYTHON'
import datetime, ipaddress, os, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

folder = sys.argv[1]
start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
end = start + datetime.timedelta(days=1)

def subject(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

def save(stem, certificate, key):
    with open(os.path.join(folder, stem + ".pem"), "wb") as f:
        f.write(certificate.public_bytes(serialization.Encoding.PEM))
    fd = os.open(os.path.join(folder, stem + "-key.pem"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))

ca_key = ec.generate_private_key(ec.SECP256R1())
ca_name = subject("tls-throughput benchmark CA")
ca = (x509.CertificateBuilder()
      .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
      .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
      .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
      .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                   data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                   crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
      .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
      .sign(ca_key, hashes.SHA256()))
with open(os.path.join(folder, "ca.pem"), "wb") as f:
    f.write(ca.public_bytes(serialization.Encoding.PEM))

for role in ("scheduler", "worker", "client"):
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (x509.CertificateBuilder()
                   .subject_name(subject("dask-" + role)).issuer_name(ca_name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                         ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                  critical=False)
                   .sign(ca_key, hashes.SHA256()))
    save(role, certificate, key)
PYTHON
run "$PY" "$K/certs.py" "$K"

export DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION=True
export DASK_DISTRIBUTED__COMM__TLS__MIN_VERSION=1.3
DPORT=$(free_port)
start dask-scheduler "$VENV/bin/dask" scheduler --host tls://127.0.0.1 --port "$DPORT" --no-dashboard \
  --tls-ca-file "$K/ca.pem" --tls-cert "$K/scheduler.pem" --tls-key "$K/scheduler-key.pem"
DASK_SCHED_PID=$STARTED
for w in 1 2; do
  start "dask-worker-$w" "$VENV/bin/dask" worker "tls://127.0.0.1:$DPORT" --name "dask-w$w" \
    --nworkers 1 --nthreads 2 --host 127.0.0.1 --no-dashboard --local-directory "$K/w$w" \
    --tls-ca-file "$K/ca.pem" --tls-cert "$K/worker.pem" --tls-key "$K/worker-key.pem"
done

cat > "$K/client.py" <<'PYTHON'
import sys, time
from distributed import Client
from distributed.security import Security

address, folder, tasks = sys.argv[1], sys.argv[2], int(sys.argv[3])

def noop(i):
    return None

security = Security(tls_ca_file=folder + "/ca.pem", tls_client_cert=folder + "/client.pem",
                    tls_client_key=folder + "/client-key.pem", require_encryption=True)
with Client(address, security=security, timeout=60) as client:
    client.wait_for_workers(2, timeout=120)
    start = time.perf_counter()
    futures = client.map(noop, range(tasks), pure=False)
    results = client.gather(futures)
    seconds = time.perf_counter() - start
    assert len(results) == tasks
    print("%.3f" % seconds)
PYTHON
rc=0
run "$PY" "$K/client.py" "tls://127.0.0.1:$DPORT" "$K" "$TASKS" >"$K/client.out" 2>"$WORK/logs/dask-client.log" || rc=$?
if ((rc != 0)); then
  alive "$DASK_SCHED_PID" dask-scheduler
  echo "Dask client failed; its log:" >&2; tail -n 30 "$WORK/logs/dask-client.log" >&2; exit 1
fi
DK_TOTAL=$(cat "$K/client.out")
echo "dask: $TASKS tasks gathered (distributed $("$PY" -c 'import distributed; print(distributed.__version__)'))"

# ---------------------------------------------------------------------------------------------------- table
python3 - "$TASKS" "$MG_TOTAL" "$MG_AFTER" "$DK_TOTAL" <<'PYTHON'
import sys
tasks = int(sys.argv[1]); mg_total, mg_after, dask = map(float, sys.argv[2:5])
rows = [("MedGrid, from submit start", mg_total), ("MedGrid, after submit returned", mg_after),
        ("Dask distributed", dask)]
print()
print("%-32s %8s %9s %10s %15s" % ("system", "tasks", "seconds", "tasks/s", "MedGrid/Dask"))
for name, seconds in rows:
    ratio = "%.3f" % ((tasks / seconds) / (tasks / dask)) if name.startswith("MedGrid") else ""
    print("%-32s %8d %9.3f %10.1f %15s" % (name, tasks, seconds, tasks / seconds, ratio))
print("(MedGrid/Dask is the ratio of tasks/s; below 1 means MedGrid is slower)")
PYTHON
