#!/usr/bin/env bash
# Imaging kernels side by side: MedGrid's imaging kernels next to the Python tools a user would otherwise pick
# (scipy.ndimage, SimpleITK, scikit-image, DeepMind surface-distance, MONAI, PyRadiomics), in one run, on the
# same synthetic CT volume and masks, with the same parameters. Prints one row per kernel with the seconds of
# each tool and the ratio reference / MedGrid, then what each cell ran and how its result agrees with MedGrid's.
#
#   Benchmarks/imaging-kernels.sh [SIZE]        (default 256: a SIZE^3 float32 volume)
#
# Environment (all optional):
#   MEDGRID_BIN=PATH             the medgrid binary (default .build/release/medgrid; built with
#                                `swift build -c release` when missing)
#   MEDGRID_BENCH_VENV=DIR       Python venv with numpy, scipy, SimpleITK, nibabel (and scikit-image, optional);
#                                default /tmp/ref-venv when it exists, else a fresh venv in the temporary
#                                folder (removed on exit); created and filled with pip if missing
#   MEDGRID_RADIOMICS_VENV=DIR   venv with PyRadiomics (`pyradiomics-bhklab`) and SimpleITK
#                                (default /tmp/radiomics-venv when it exists, else MEDGRID_BENCH_VENV)
#   MEDGRID_SURFACE_VENV=DIR     venv with DeepMind surface-distance and/or MONAI (+ torch)
#                                (default /tmp/surface-venv when it exists, else MEDGRID_BENCH_VENV)
#   MEDGRID_BENCH_REPEATS=N      time every call N times and keep the fastest (default 1)
# A tool that cannot be imported from its venv is reported as "not installed"; nothing else is installed for
# the optional tools (scikit-image, surface-distance, MONAI, PyRadiomics).
#
# Data (made with numpy and nibabel, seeded): a SIZE^3 float32 CT-like volume, spacing 0.8 x 0.8 x 1.5 mm, air
# -1000 HU, an elliptic body of 40 HU, six spherical lesions of 90 HU, bone (a spine column and two rods) of
# 700 HU, Gaussian noise sd 12 HU; the lesion mask; a noisy threshold mask (CT > 62 HU: thousands of small
# components); two offset ellipsoid masks (prediction, reference); and for radiomics a crop of min(64, SIZE/2)
# voxels per axis around a lumpy lesion with its mask. All written as .nii.gz under a temporary folder.
#
# What is timed. MedGrid: `medgrid kernel run KERNEL --timing`, whose "seconds" is the kernel's compute time
# only (reading the NIfTI input and writing the output excluded), with all cores, and again under
# `taskset -c 0` (one core). Python: each tool runs in its own process, loads its inputs first, makes one
# warm-up call on a small central crop, and then only the call itself is timed (time.perf_counter). scipy,
# scikit-image, surface-distance and PyRadiomics use one thread; SimpleITK its default (every core); MONAI
# torch's default. The table names the threads of each cell.
#
# Rows: imaging.gaussian sigma=2 mm | imaging.median radius=1 | imaging.otsu (2 classes, 256 bins) |
# imaging.components connectivity=26 on the noisy mask | imaging.distance (unsigned, mm) of the lesion mask |
# imaging.metrics HD95 + NSD (tolerance 1 mm) on the ellipsoids, surface-elements convention vs
# surface-distance and boundary-voxels convention vs MONAI | imaging.radiomics preset=pyradiomics
# bin-width=25 (all IBSI families) vs PyRadiomics' default extractor (all default feature classes).
# Not a test: figures vary with the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
case ${1:-} in -h | --help) usage; exit 0 ;; esac
SIZE=${1:-256}
[[ $SIZE =~ ^[1-9][0-9]*$ ]] && ((SIZE >= 16)) || { echo "usage: $0 [SIZE]   (SIZE an integer >= 16; --help for more)" >&2; exit 1; }
REPEATS=${MEDGRID_BENCH_REPEATS:-1}
[[ $REPEATS =~ ^[1-9][0-9]*$ ]] || { echo "MEDGRID_BENCH_REPEATS must be a positive integer" >&2; exit 1; }

if [[ -z ${MEDGRID_BIN:-} && -x .build/release/medgrid ]]; then MEDGRID_BIN=.build/release/medgrid; fi
BENCH_NAME=imaging-bench
# shellcheck source=lib/common.sh
source "Benchmarks/lib/common.sh"
HELPER=$PWD/Benchmarks/lib/imaging_reference.py

# ---------------------------------------------------------------------------------------------------- venvs
VENV=${MEDGRID_BENCH_VENV:-}
if [[ -z $VENV ]]; then
  if [[ -x /tmp/ref-venv/bin/python ]]; then VENV=/tmp/ref-venv; else VENV=$WORK/venv; fi
fi
if [[ ! -x $VENV/bin/python ]]; then
  echo "python: creating a venv in $VENV and installing numpy, scipy, SimpleITK and nibabel ..."
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import numpy, scipy, SimpleITK, nibabel' 2>/dev/null ||
  run "$VENV/bin/pip" install -q --disable-pip-version-check numpy scipy SimpleITK nibabel
PY=$VENV/bin/python
pick_venv() { # pick_venv ENV_VALUE DEFAULT_DIR: the python of the first of them that exists, else the main one
  if [[ -n $1 ]]; then echo "$1/bin/python"; elif [[ -x $2/bin/python ]]; then echo "$2/bin/python"; else echo "$PY"; fi
}
PY_RADIOMICS=$(pick_venv "${MEDGRID_RADIOMICS_VENV:-}" /tmp/radiomics-venv)
PY_SURFACE=$(pick_venv "${MEDGRID_SURFACE_VENV:-}" /tmp/surface-venv)
# scikit-image: from the main venv, else from the radiomics venv (PyRadiomics depends on it)
PY_SKIMAGE=$PY
if ! "$PY" -c 'import skimage' 2>/dev/null && [[ -x $PY_RADIOMICS ]] && "$PY_RADIOMICS" -c 'import skimage, nibabel' 2>/dev/null; then
  PY_SKIMAGE=$PY_RADIOMICS
fi

# ---------------------------------------------------------------------------------------------------- data
D=$WORK/data
mkdir -p "$D" "$WORK/out"
echo "machine: $(nproc) cores; medgrid: $BIN"
echo "data: ${SIZE}^3 float32 CT-like volume and masks (spacing 0.8x0.8x1.5 mm) ..."
run "$PY" "$HELPER" generate --size "$SIZE" --out "$D" >"$WORK/meta.json"
python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
print("data: %d lesion voxels, %d in the noisy mask, ellipsoids %d / %d voxels, radiomics ROI %d^3 with %d mask voxels"
      % (m["lesionVoxels"], m["noisyVoxels"], m["predVoxels"], m["refVoxels"], m["roiSize"], m["roiVoxels"]))' "$WORK/meta.json"

RESULTS=$WORK/results.jsonl
: >"$RESULTS"
# medgrid_row ROW CALL KERNEL ARGS...: run the kernel REPEATS times with all cores and REPEATS times under
# taskset -c 0 (fastest kept each); the JSON of the last all-cores run is kept in $WORK/out/ROW.json.
medgrid_row() {
  local row=$1 call=$2 kernel=$3 mode i json
  shift 3
  for mode in medgrid medgrid1; do
    for ((i = 0; i < REPEATS; i++)); do
      json=$WORK/out/$row.$mode.$i.json
      if [[ $mode == medgrid ]]; then
        run "$BIN" kernel run "$kernel" "$@" --timing >"$json" 2>"$WORK/logs/$row.$mode.log" ||
          { echo "medgrid $kernel failed:" >&2; tail -n 20 "$WORK/logs/$row.$mode.log" >&2; exit 1; }
      else
        run taskset -c 0 "$BIN" kernel run "$kernel" "$@" --timing >"$json" 2>"$WORK/logs/$row.$mode.log" ||
          { echo "medgrid $kernel (taskset -c 0) failed:" >&2; tail -n 20 "$WORK/logs/$row.$mode.log" >&2; exit 1; }
      fi
    done
    python3 - "$row" "$mode" "$call" "$WORK/out/$row.$mode".*.json >>"$RESULTS" <<'PYTHON'
import json, sys
row, mode, call, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
runs = [json.load(open(f)) for f in files]
best = min(runs, key=lambda r: r["seconds"])
print(json.dumps({"row": row, "column": mode, "seconds": best["seconds"], "threads": best.get("threads"),
                  "call": call}))
PYTHON
  done
  cp "$WORK/out/$row.medgrid.0.json" "$WORK/out/$row.json"
}
# ref_cell ROW COLUMN PYTHON TASK TOOL [MEDGRID_RESULT]: time one reference tool; a failure is reported in the table.
ref_cell() {
  local row=$1 column=$2 py=$3 task=$4 tool=$5 mg=${6:-} out rc=0
  out=$WORK/out/$row.$column.ref.json
  if [[ ! -x $py ]]; then
    printf '{"row": "%s", "column": "%s", "missing": "not installed (no python at %s)"}\n' "$row" "$column" "$py" >>"$RESULTS"
    return 0
  fi
  run "$py" "$HELPER" run "$task" "$tool" --dir "$D" --medgrid "$mg" --repeats "$REPEATS" >"$out" 2>"$WORK/logs/$row.$column.log" || rc=$?
  if ((rc != 0)) || [[ ! -s $out ]]; then
    echo "  $tool on $task failed (exit $rc); its log:" >&2; tail -n 5 "$WORK/logs/$row.$column.log" >&2
    python3 -c 'import json, sys; print(json.dumps({"row": sys.argv[1], "column": sys.argv[2], "error": "exit %s, see stderr above" % sys.argv[3]}))' \
      "$row" "$column" "$rc" >>"$RESULTS"
    return 0
  fi
  python3 -c 'import json, sys; r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); r.update(row=sys.argv[2], column=sys.argv[3]); print(json.dumps(r))' \
    "$out" "$row" "$column" >>"$RESULTS"
}

O=$WORK/out
echo "imaging.gaussian ..."
medgrid_row gaussian "sigma=2 mm" imaging.gaussian --input "$D/ct.nii.gz" --param sigma=2 --output "$O/gaussian.nii.gz"
ref_cell gaussian scipy "$PY" gaussian scipy "$O/gaussian.nii.gz"
ref_cell gaussian sitk "$PY" gaussian sitk "$O/gaussian.nii.gz"
ref_cell gaussian sitk2 "$PY" gaussian sitk2 "$O/gaussian.nii.gz"

echo "imaging.median ..."
medgrid_row median "radius=1" imaging.median --input "$D/ct.nii.gz" --param radius=1 --output "$O/median.nii.gz"
ref_cell median scipy "$PY" median scipy "$O/median.nii.gz"
ref_cell median sitk "$PY" median sitk "$O/median.nii.gz"

echo "imaging.otsu ..."
medgrid_row otsu "classes=2 bins=256" imaging.otsu --input "$D/ct.nii.gz" --output "$O/otsu.nii.gz"
ref_cell otsu sitk "$PY" otsu sitk "$O/otsu.nii.gz"
ref_cell otsu other "$PY_SKIMAGE" otsu skimage "$O/otsu.nii.gz"

echo "imaging.components ..."
medgrid_row components "connectivity=26" imaging.components --input "$D/noisy.nii.gz" --param connectivity=26 --output "$O/components.nii.gz"
ref_cell components scipy "$PY" components scipy "$O/components.nii.gz"
ref_cell components sitk "$PY" components sitk "$O/components.nii.gz"

echo "imaging.distance ..."
medgrid_row distance "unsigned, mm" imaging.distance --input "$D/lesions.nii.gz" --output "$O/distance.nii.gz"
ref_cell distance scipy "$PY" distance scipy "$O/distance.nii.gz"
ref_cell distance sitk "$PY" distance sitk "$O/distance.nii.gz"
ref_cell distance sitk2 "$PY" distance sitk2 "$O/distance.nii.gz"

echo "imaging.metrics ..."
medgrid_row "metrics surface-elements" "convention=surface-elements tolerance=1 (Dice, HD, HD95, ASSD, NSD)" \
  imaging.metrics --input "$D/pred.nii.gz" --input "$D/ref.nii.gz" --param convention=surface-elements --param tolerance=1
ref_cell "metrics surface-elements" other "$PY_SURFACE" metrics surface-distance "$O/metrics surface-elements.json"
medgrid_row "metrics boundary-voxels" "convention=boundary-voxels tolerance=1 (Dice, HD, HD95, ASSD, NSD)" \
  imaging.metrics --input "$D/pred.nii.gz" --input "$D/ref.nii.gz" --param convention=boundary-voxels --param tolerance=1
ref_cell "metrics boundary-voxels" other "$PY_SURFACE" metrics monai "$O/metrics boundary-voxels.json"

echo "imaging.radiomics ..."
medgrid_row radiomics "preset=pyradiomics bin-width=25, all families" \
  imaging.radiomics --input "$D/roi-ct.nii.gz" --input "$D/roi-mask.nii.gz" --param preset=pyradiomics --param bin-width=25
ref_cell radiomics other "$PY_RADIOMICS" radiomics pyradiomics "$O/radiomics.json"

# ---------------------------------------------------------------------------------------------------- table
echo
echo "imaging kernels on a ${SIZE}^3 float32 volume (radiomics: ROI crop), seconds of compute (fastest of $REPEATS)"
python3 "$HELPER" table "$RESULTS" --cores "$(nproc)"
