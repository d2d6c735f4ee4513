#!/usr/bin/env bash
# Cohort analytics side by side: MedGrid's survival and model kernels next to lifelines and scikit-learn, in one
# run, on the same synthetic CSV files, with the same settings; prints seconds, ratios and whether the results
# agree.
#
#   Benchmarks/cohort-analytics.sh [COX_ROWS [KM_ROWS [LOGISTIC_ROWS [KMEANS_ROWS]]]]
#       COX_ROWS       comma-separated row counts for survival.cox (default 100000,1000000)
#       KM_ROWS        rows for survival.km (default 1000000)
#       LOGISTIC_ROWS  rows for model.logistic, 20 covariates (default 1000000)
#       KMEANS_ROWS    rows for model.kmeans, 10 columns, k = 8 (default 1000000)
#
# Environment (all optional):
#   MEDGRID_BIN=PATH              the medgrid binary (default .build/release/medgrid; built with
#                                 `swift build -c release` when missing)
#   MEDGRID_BENCH_VENV=DIR        Python venv with numpy, pandas, lifelines, scikit-learn; default /tmp/ref-venv
#                                 when it exists, else a fresh venv in the temporary folder (removed on exit);
#                                 created and filled with pip if missing
#   MEDGRID_BENCH_REPEATS=N       time every fit N times and keep the fastest (default 1)
#   MEDGRID_BENCH_REF_THREADS=N   threads for the Python references (default 1: OMP_NUM_THREADS,
#                                 OPENBLAS_NUM_THREADS, MKL_NUM_THREADS and threadpoolctl)
#
# Data (numpy, seeded; written as CSV with 6 decimals): survival — Weibull proportional-hazards times (shape
# 1.3, scale 365 days) with 10 covariates (X1 a 0/1 arm, X2..X10 normal), uniform random censoring over three
# years, times rounded up to whole days (so heavy ties), columns TIME, EVENT (0/1), X1..X10; binary outcome —
# Y (0/1, logistic model) and X1..X20; clustering — F1..F10 drawn around 8 centres.
#
# What is timed. MedGrid: `medgrid kernel run KERNEL --input FILE.csv --timing`, whose "seconds" is the kernel's
# compute time only (parsing the CSV excluded), once with all cores and once under `taskset -c 0`. Python:
# pandas.read_csv first (not timed), one warm-up fit on the first rows, then the fit alone:
#   survival.cox ties=efron         lifelines CoxPHFitter().fit (Efron), with and without concordance_index_
#                                   (MedGrid's seconds include its concordance index)
#   survival.km                     lifelines KaplanMeierFitter().fit
#   model.logistic (unpenalised)    scikit-learn LogisticRegression(C=inf, solver lbfgs / newton-cholesky)
#   model.kmeans k=8                scikit-learn KMeans(init = the first 8 rows, n_init=1, algorithm='lloyd',
#                                   tol=0), MedGrid with the same centres (--param centres=[...])
# Agreement: max |coefficient difference| (Cox, logistic), survival curve and median (KM), inertia and centres
# (k-means). Not a test: figures vary with the machine. Large CSVs take a while to write and to parse.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
case ${1:-} in -h | --help) usage; exit 0 ;; esac
COX_ROWS=${1:-100000,1000000}
KM_ROWS=${2:-1000000}
LOGISTIC_ROWS=${3:-1000000}
KMEANS_ROWS=${4:-1000000}
bad() { echo "usage: $0 [COX_ROWS [KM_ROWS [LOGISTIC_ROWS [KMEANS_ROWS]]]]   (COX_ROWS e.g. 100000,1000000; each >= 100; --help for more)" >&2; exit 1; }
[[ $COX_ROWS =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || bad
IFS=, read -r -a COX_LIST <<<"$COX_ROWS"
for n in "${COX_LIST[@]}" "$KM_ROWS" "$LOGISTIC_ROWS" "$KMEANS_ROWS"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] && ((n >= 100)) || bad
done
REPEATS=${MEDGRID_BENCH_REPEATS:-1}
[[ $REPEATS =~ ^[1-9][0-9]*$ ]] || { echo "MEDGRID_BENCH_REPEATS must be a positive integer" >&2; exit 1; }
REF_THREADS=${MEDGRID_BENCH_REF_THREADS:-1}
[[ $REF_THREADS =~ ^[1-9][0-9]*$ ]] || { echo "MEDGRID_BENCH_REF_THREADS must be a positive integer" >&2; exit 1; }
export MEDGRID_BENCH_REF_THREADS=$REF_THREADS

if [[ -z ${MEDGRID_BIN:-} && -x .build/release/medgrid ]]; then MEDGRID_BIN=.build/release/medgrid; fi
BENCH_NAME=cohort-bench
# shellcheck source=lib/common.sh
source "Benchmarks/lib/common.sh"
HELPER=$PWD/Benchmarks/lib/cohort_reference.py

VENV=${MEDGRID_BENCH_VENV:-}
if [[ -z $VENV ]]; then
  if [[ -x /tmp/ref-venv/bin/python ]]; then VENV=/tmp/ref-venv; else VENV=$WORK/venv; fi
fi
if [[ ! -x $VENV/bin/python ]]; then
  echo "python: creating a venv in $VENV and installing numpy, pandas, lifelines and scikit-learn ..."
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import numpy, pandas, lifelines, sklearn' 2>/dev/null ||
  run "$VENV/bin/pip" install -q --disable-pip-version-check numpy pandas lifelines scikit-learn
PY=$VENV/bin/python
# the Python references: REF_THREADS threads
refpy() { OMP_NUM_THREADS=$REF_THREADS OPENBLAS_NUM_THREADS=$REF_THREADS MKL_NUM_THREADS=$REF_THREADS \
  VECLIB_MAXIMUM_THREADS=$REF_THREADS NUMEXPR_NUM_THREADS=$REF_THREADS "$PY" "$@"; }

echo "machine: $(nproc) cores; medgrid: $BIN; references with $REF_THREADS thread(s)"
D=$WORK/data
O=$WORK/out
mkdir -p "$D" "$O"
# ---------------------------------------------------------------------------------------------------- data
declare -A MADE=()
survival_csv() { # survival_csv ROWS: path of the survival CSV with ROWS rows, made once
  local f=$D/survival-$1.csv
  if [[ -z ${MADE[$f]:-} ]]; then
    echo "data: survival, $1 rows ..." >&2
    run "$PY" "$HELPER" generate survival --rows "$1" --out "$f" --seed 7 | sed 's/^/data:   /' >&2
    MADE[$f]=1
  fi
  echo "$f"
}
for n in "${COX_LIST[@]}" "$KM_ROWS"; do survival_csv "$n" >/dev/null; done
echo "data: binary outcome, $LOGISTIC_ROWS rows x 20 ..."
run "$PY" "$HELPER" generate binary --rows "$LOGISTIC_ROWS" --out "$D/binary.csv" --seed 11 | sed 's/^/data:   /'
echo "data: clustering, $KMEANS_ROWS rows x 10 ..."
run "$PY" "$HELPER" generate blobs --rows "$KMEANS_ROWS" --out "$D/blobs.csv" --seed 13 | sed 's/^/data:   /'

# ---------------------------------------------------------------------------------------------------- runs
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
# medgrid_best TAG MODE KERNEL ARGS...: run the kernel REPEATS times (MODE all or one = taskset -c 0); sets
# MG_SECONDS to the fastest and keeps the last JSON in $O/TAG.MODE.json.
medgrid_best() {
  local tag=$1 mode=$2 kernel=$3 i s
  shift 3
  MG_SECONDS=
  for ((i = 0; i < REPEATS; i++)); do
    if [[ $mode == all ]]; then
      run "$BIN" kernel run "$kernel" "$@" --timing >"$O/$tag.$mode.json" 2>"$WORK/logs/$tag.$mode.log" ||
        { echo "medgrid $kernel failed:" >&2; tail -n 20 "$WORK/logs/$tag.$mode.log" >&2; exit 1; }
    else
      run taskset -c 0 "$BIN" kernel run "$kernel" "$@" --timing >"$O/$tag.$mode.json" 2>"$WORK/logs/$tag.$mode.log" ||
        { echo "medgrid $kernel (taskset -c 0) failed:" >&2; tail -n 20 "$WORK/logs/$tag.$mode.log" >&2; exit 1; }
    fi
    s=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["seconds"])' "$O/$tag.$mode.json")
    if [[ -z $MG_SECONDS ]] || python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$s" "$MG_SECONDS"; then
      MG_SECONDS=$s
    fi
  done
}
# medgrid_pair TAG KERNEL ARGS...: MedGrid with all cores and on one core; sets MG_ALL and MG_ONE.
medgrid_pair() {
  medgrid_best "$1" all "${@:2}"; MG_ALL=$MG_SECONDS
  medgrid_best "$1" one "${@:2}"; MG_ONE=$MG_SECONDS
}
# reference TASK ROWS TAG HELPER_ARGS...: run one reference and append the table row.
reference() {
  local task=$1 rows=$2 tag=$3 out rc=0
  shift 3
  out=$O/$tag.ref.$RANDOM.json
  refpy "$HELPER" run "$@" --medgrid "$O/$tag.all.json" --repeats "$REPEATS" >"$out" 2>"$WORK/logs/$tag.ref.log" || rc=$?
  if ((rc != 0)) || [[ ! -s $out ]]; then
    echo "  reference for $task failed (exit $rc); its log:" >&2; tail -n 5 "$WORK/logs/$tag.ref.log" >&2
    echo "{\"error\": \"exit $rc\"}" >"$out"
  fi
  python3 - "$task" "$rows" "$MG_ALL" "$MG_ONE" "$out" >>"$RESULTS" <<'PYTHON'
import json, sys
task, rows, mg, mg1, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
ref = json.loads(open(out).read().strip().splitlines()[-1])
print(json.dumps({"task": task, "rows": rows, "medgrid": mg, "medgrid1": mg1, "ref": ref}))
PYTHON
}

COX_COVS=X1,X2,X3,X4,X5,X6,X7,X8,X9,X10
for n in "${COX_LIST[@]}"; do
  echo "survival.cox ties=efron, $n rows x 10 covariates ..."
  f=$(survival_csv "$n")
  medgrid_pair "cox-$n" survival.cox --input "$f" --param time=TIME --param event=EVENT \
    --param covariates=$COX_COVS --param ties=efron
  reference survival.cox "$n" "cox-$n" cox --csv "$f"
done

echo "survival.km, $KM_ROWS rows ..."
f=$(survival_csv "$KM_ROWS")
medgrid_pair km survival.km --input "$f" --param time=TIME --param event=EVENT
reference survival.km "$KM_ROWS" km km --csv "$f"

echo "model.logistic, $LOGISTIC_ROWS rows x 20 covariates ..."
medgrid_pair logistic model.logistic --input "$D/binary.csv" --param outcome=Y \
  --param covariates=X1,X2,X3,X4,X5,X6,X7,X8,X9,X10,X11,X12,X13,X14,X15,X16,X17,X18,X19,X20
reference model.logistic "$LOGISTIC_ROWS" logistic logistic --csv "$D/binary.csv" --solver lbfgs
reference model.logistic "$LOGISTIC_ROWS" logistic logistic --csv "$D/binary.csv" --solver newton-cholesky

echo "model.kmeans k=8, $KMEANS_ROWS rows x 10 columns ..."
CENTRES=$(python3 "$HELPER" centres "$D/blobs.csv" --k 8)
medgrid_pair kmeans model.kmeans --input "$D/blobs.csv" --param columns=F1,F2,F3,F4,F5,F6,F7,F8,F9,F10 \
  --param k=8 --param "centres=$CENTRES"
reference model.kmeans "$KMEANS_ROWS" kmeans kmeans --csv "$D/blobs.csv" --k 8

# ---------------------------------------------------------------------------------------------------- table
echo
python3 "$HELPER" table "$RESULTS" --cores "$(nproc)"
