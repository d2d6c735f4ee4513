#!/usr/bin/env python3
"""Create the NIfTI pairs and expected overlap metrics used by OverlapMetricsTests.

Writes into Tests/MedGridKernelTests/Reference/overlap/ four prediction/reference pairs on one
24x20x12 grid with spacing 0.8 x 0.8 x 2.5 mm, plus expected.json:

  spheres   two overlapping spheres (defined in millimetres, so the anisotropy matters), uint8 / uint8
  labels    prediction is an int16 label map with labels 1 and 2 (both foreground) and a slab of -1
            (background under the "value > 0" rule); reference is a uint8 box, uint8 / int16
  empty     both masks empty (all zero), uint8 / uint8
  missed    prediction empty (float32 zeros), reference a non-empty uint8 ellipsoid

Foreground is "value > 0". Dice and Jaccard come from SimpleITK's LabelOverlapMeasuresImageFilter on
masks binarised by SimpleITK itself (image > 0) and are cross-checked against numpy voxel counts
(exact equality required). Volumes are voxel counts times the product of the reference spacing as
SimpleITK reads it (float32 pixdim widened to double, multiplied x*y*z left to right);
volumeDifference = (Vp - Vr) / Vr, null when Vr = 0.

Conventions that SimpleITK does not provide: when both masks are empty, MedGrid defines dice = 1.0
and jaccard = 1.0. SimpleITK 2.5.7 reports Dice = inf and Jaccard = DBL_MAX for the total over all
labels (and 0.0 with a "Label 1 not found" warning for label 1); those raw values are recorded as
strings under "simpleITK" for information only.

Rerunning reproduces every file byte for byte (no randomness, gzip mtime 0).

Usage:  python3 Datasets/reference-scripts/make_overlap_reference.py   (from anywhere)
"""
import gzip
import io
import json
import platform
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "MedGridKernelTests" / "Reference" / "overlap"

SHAPE = (24, 20, 12)  # x, y, z (nibabel / numpy index order here is x, y, z)
SPACING = (0.8, 0.8, 2.5)
ORIGIN_RAS = (-9.0, 12.5, -30.0)  # sform translation; LPS origin is (9.0, -12.5, -30.0)


def grid_affine():
    a = np.diag([*SPACING, 1.0])
    a[:3, 3] = ORIGIN_RAS
    return a


def save(name, data, dtype):
    """Write `data` (x, y, z array) as a gzip-compressed NIfTI-1 with sform and qform code 1.

    nibabel stores the values unscaled (scl_slope NaN = no scaling, since every dtype here holds them
    exactly); the gzip stream uses mtime 0 so reruns are byte-identical."""
    img = nib.Nifti1Image(np.asarray(data).astype(dtype), grid_affine())
    img.header.set_xyzt_units("mm")
    img.set_sform(grid_affine(), code=1)
    img.set_qform(grid_affine(), code=1)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as f:
        f.write(img.to_bytes())
    (OUT / name).write_bytes(buf.getvalue())
    size = (OUT / name).stat().st_size
    assert size < 50_000, (name, size)


def mm_coordinates():
    """Voxel-centre coordinates in millimetres relative to voxel (0, 0, 0), index order x, y, z."""
    ix, iy, iz = np.meshgrid(*(np.arange(n) for n in SHAPE), indexing="ij")
    return ix * SPACING[0], iy * SPACING[1], iz * SPACING[2]


def sphere(centre, radius):
    x, y, z = mm_coordinates()
    return (x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2 <= radius**2


def make_pairs():
    x, y, z = mm_coordinates()
    pairs = []

    # (a) two overlapping spheres in millimetres.
    ref = sphere((9.6, 8.0, 15.0), 6.0)
    pred = sphere((11.2, 7.2, 17.5), 5.5)
    pairs.append(("spheres", pred.astype(np.uint8), np.uint8, ref.astype(np.uint8), np.uint8,
                  "two overlapping spheres: reference r=6 mm at (9.6, 8, 15) mm, prediction r=5.5 mm "
                  "at (11.2, 7.2, 17.5) mm from voxel (0,0,0)"))

    # (b) multi-label prediction; -1 voxels are background under value > 0.
    ref = np.zeros(SHAPE, dtype=np.uint8)
    ref[4:18, 3:15, 2:9] = 1
    pred = np.zeros(SHAPE, dtype=np.int16)
    pred[6:14, 5:13, 3:7] = 1            # inside the reference
    pred[14:22, 8:16, 4:10] = 2          # straddles the reference's +x, +y and +z faces
    pred[4:18, 3:15, 9:11] = -1          # just above the reference (overwrites some label 2): FP if counted
    pred[2:6, 0:4, 0:3] = -1             # outside the reference: FP if counted
    pred[4:8, 3:6, 2:4] = -1             # inside the reference: TP if counted
    pairs.append(("labels", pred, np.int16, ref, np.uint8,
                  "prediction int16 with labels 1 and 2 (both foreground) and -1 voxels (background: "
                  "foreground is value > 0); reference a uint8 box"))

    # (c) both empty.
    pairs.append(("empty", np.zeros(SHAPE, np.uint8), np.uint8, np.zeros(SHAPE, np.uint8), np.uint8,
                  "both masks empty: dice = jaccard = 1.0 by MedGrid's convention, volumeDifference null"))

    # (d) empty prediction, non-empty reference.
    ref = ((x - 8.0) / 5.0) ** 2 + ((y - 7.0) / 4.0) ** 2 + ((z - 12.5) / 9.0) ** 2 <= 1
    pairs.append(("missed", np.zeros(SHAPE, np.float32), np.float32, ref.astype(np.uint8), np.uint8,
                  "empty float32 prediction against a non-empty uint8 ellipsoid: dice 0, jaccard 0, "
                  "volumeDifference -1"))
    return pairs


def simpleitk_overlap(pred_path, ref_path):
    """Binarise with SimpleITK (value > 0) and run LabelOverlapMeasuresImageFilter."""
    p = sitk.ReadImage(str(pred_path))
    r = sitk.ReadImage(str(ref_path))
    pb = sitk.Cast(p > 0, sitk.sitkUInt8)
    rb = sitk.Cast(r > 0, sitk.sitkUInt8)
    f = sitk.LabelOverlapMeasuresImageFilter()
    f.Execute(pb, rb)  # source = prediction, target = reference
    counts = {
        "pred": int(sitk.GetArrayViewFromImage(pb).sum()),
        "ref": int(sitk.GetArrayViewFromImage(rb).sum()),
    }
    return {
        "dice": f.GetDiceCoefficient(),
        "jaccard": f.GetJaccardCoefficient(),
        "dice_label1": f.GetDiceCoefficient(1),
        "jaccard_label1": f.GetJaccardCoefficient(1),
        "spacing": list(r.GetSpacing()),
        "size": list(r.GetSize()),
        "pred_spacing": list(p.GetSpacing()),
        "pred_size": list(p.GetSize()),
        "origin": list(r.GetOrigin()),
        "counts": counts,
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for name, pred, pred_dtype, ref, ref_dtype, description in make_pairs():
        pred_file, ref_file = f"{name}_prediction.nii.gz", f"{name}_reference.nii.gz"
        save(pred_file, pred, pred_dtype)
        save(ref_file, ref, ref_dtype)

        s = simpleitk_overlap(OUT / pred_file, OUT / ref_file)
        assert s["size"] == list(SHAPE) and s["pred_size"] == list(SHAPE)
        assert s["pred_spacing"] == s["spacing"]

        # numpy cross-check, on the data as nibabel reads it back.
        pn = np.asarray(nib.load(str(OUT / pred_file)).dataobj) > 0
        rn = np.asarray(nib.load(str(OUT / ref_file)).dataobj) > 0
        n_pred, n_ref = int(pn.sum()), int(rn.sum())
        n_inter, n_union = int((pn & rn).sum()), int((pn | rn).sum())
        assert (n_pred, n_ref) == (s["counts"]["pred"], s["counts"]["ref"]), name

        sx, sy, sz = s["spacing"]
        voxel_volume = sx * sy * sz
        v_pred, v_ref = n_pred * voxel_volume, n_ref * voxel_volume

        if n_pred + n_ref == 0:
            dice, jaccard = 1.0, 1.0  # MedGrid convention; SimpleITK has no defined value here
            sitk_note = {
                "DiceCoefficient": repr(s["dice"]),
                "JaccardCoefficient": repr(s["jaccard"]),
                "DiceCoefficient(label=1)": repr(s["dice_label1"]),
                "JaccardCoefficient(label=1)": repr(s["jaccard_label1"]),
                "note": "both masks empty: SimpleITK gives these undefined values (label 1 also warns "
                        "'Label 1 not found'); MedGrid defines dice = jaccard = 1.0",
            }
        else:
            dice, jaccard = s["dice"], s["jaccard"]
            assert s["dice_label1"] == dice and s["jaccard_label1"] == jaccard, name
            np_dice = 2 * n_inter / (n_pred + n_ref)
            np_jaccard = n_inter / n_union
            # ITK rounds differently from 2*i/(p+r) in the last bit or so; allow a few ulps.
            assert abs(dice - np_dice) <= 4 * np.spacing(np_dice), (name, dice, np_dice)
            assert abs(jaccard - np_jaccard) <= 4 * np.spacing(np_jaccard), (name, jaccard, np_jaccard)
            sitk_note = {"DiceCoefficient": repr(s["dice"]), "JaccardCoefficient": repr(s["jaccard"]),
                         "numpyDice": repr(np_dice), "numpyJaccard": repr(np_jaccard)}

        volume_difference = None if n_ref == 0 else (v_pred - v_ref) / v_ref

        results.append({
            "name": name,
            "description": description,
            "prediction": pred_file,
            "reference": ref_file,
            "predictionStoredType": np.dtype(pred_dtype).name,
            "referenceStoredType": np.dtype(ref_dtype).name,
            "size": s["size"],
            "spacing": s["spacing"],
            "origin": s["origin"],
            "voxelVolumeMM3": voxel_volume,
            "predictedVoxels": n_pred,
            "referenceVoxels": n_ref,
            "intersectionVoxels": n_inter,
            "unionVoxels": n_union,
            "dice": dice,
            "jaccard": jaccard,
            "volumeDifference": volume_difference,
            "predictedVolumeMM3": v_pred,
            "referenceVolumeMM3": v_ref,
            "simpleITK": sitk_note,
        })

    expected = {
        "conventions": {
            "foreground": "voxel value > 0 (labels 1 and 2 both count; negative values are background)",
            "dice": "2|P∩R| / (|P|+|R|); 1.0 when both are empty (MedGrid convention, not SimpleITK's)",
            "jaccard": "|P∩R| / |P∪R|; 1.0 when both are empty (MedGrid convention, not SimpleITK's)",
            "volumeDifference": "(Vp - Vr) / Vr, signed relative; null when the reference is empty. "
                                "Not SimpleITK's VolumeSimilarity, which is 2(Vp - Vr)/(Vp + Vr)",
            "volumes": "voxel count * spacing.x * spacing.y * spacing.z of the reference, spacing as "
                       "SimpleITK reads it (float32 pixdim widened to double)",
            "source": "dice/jaccard from SimpleITK LabelOverlapMeasuresImageFilter (source = prediction, "
                      "target = reference) on SimpleITK-binarised masks; voxel counts equal numpy's exactly, ratios "
                      "agree with numpy's 2*i/(p+r) and i/u to within 4 ulps (ITK may differ in the last bit)",
        },
        "tools": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "nibabel": nib.__version__,
            "SimpleITK": sitk.Version_VersionString(),
        },
        "pairs": results,
    }
    (OUT / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    for p in sorted(OUT.iterdir()):
        print(f"{p.name}: {p.stat().st_size} bytes")
    for r in results:
        print(r["name"], r["predictedVoxels"], r["referenceVoxels"], r["intersectionVoxels"],
              r["dice"], r["jaccard"], r["volumeDifference"])


if __name__ == "__main__":
    main()
