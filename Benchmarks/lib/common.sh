# Shared by the benchmark scripts: finds or builds the release binary, makes the work folder, and starts,
# watches and stops the processes a benchmark runs (every one of them is stopped on exit).
# Source it after setting BENCH_NAME; it defines BIN, WORK, run, start, alive, now, elapsed, free_port.
if [[ -n ${MEDGRID_BIN:-} ]]; then
  BIN=$MEDGRID_BIN
else
  swift build -c release --product medgrid >/dev/null
  BIN=$(swift build -c release --show-bin-path)/medgrid
fi
[[ -x $BIN ]] || { echo "no medgrid binary at $BIN" >&2; exit 1; }

WORK=$(mktemp -d "/tmp/medgrid-${BENCH_NAME:-bench}-XXXXXX")
PIDS=()
cleanup() {
  local i pid deadline
  if [[ -n ${FG_PID:-} ]]; then kill -TERM "$FG_PID" 2>/dev/null || true; wait "$FG_PID" 2>/dev/null || true; fi
  # Newest first (workers before their coordinator): SIGTERM the process group (each was started with setsid),
  # wait up to 10 s for a graceful exit, then SIGKILL whatever is left of the group.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid=${PIDS[i]}
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || continue
    deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# run COMMAND...: run it as a child and wait for it (rather than in the foreground), so that a signal to this
# script is acted on at once and the child is stopped by cleanup too.
FG_PID=
run() {
  local rc=0
  "$@" &
  FG_PID=$!
  wait "$FG_PID" || rc=$?
  FG_PID=
  return "$rc"
}

# start NAME COMMAND...: run COMMAND in the background in its own session (so its children can be stopped with
# it), output to $WORK/logs/NAME.log; its PID is recorded for cleanup and left in $STARTED.
mkdir -p "$WORK/logs"
start() {
  local name=$1; shift
  setsid "$@" >"$WORK/logs/$name.log" 2>&1 &
  STARTED=$!
  PIDS+=("$STARTED")
}
# alive PID NAME: fail with NAME's log if the process has exited.
alive() {
  kill -0 "$1" 2>/dev/null && return 0
  echo "$2 exited early; its log:" >&2
  tail -n 30 "$WORK/logs/$2.log" >&2
  exit 1
}
now() { echo "${EPOCHREALTIME:-$(date +%s.%N)}"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
