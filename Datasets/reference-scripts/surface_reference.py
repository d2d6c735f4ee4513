"""Reference values for MedGrid's distance transform and surface-distance segmentation metrics.

Computes, on small synthetic masks written next to the values:
  * scipy.ndimage.distance_transform_edt(mask == 0, sampling=spacing)  -> distance to the nearest foreground
    voxel (scipy measures from non-zero elements to the nearest zero, hence the `== 0`), stored as float64;
  * SimpleITK SignedMaurerDistanceMap(insideIsPositive=False, squaredDistance=False, useImageSpacing=True),
    stored as float32 (SimpleITK's output type) — only when SimpleITK is importable (it is in /tmp/ref-venv);
  * convention "surface-elements": DeepMind surface-distance (compute_surface_distances,
    compute_robust_hausdorff(…, 100) and (…, 95), compute_average_surface_distance,
    compute_surface_dice_at_tolerance), and the surfel area table for one spacing;
  * convention "boundary-voxels": MONAI compute_hausdorff_distance (percentile None and 95),
    compute_average_surface_distance (symmetric True, and both directed means), compute_surface_dice
    (use_subvoxels=False), all with spacing, include_background=False on [background, structure] one-hot input;
  * Dice / Jaccard with MedGrid's convention (both empty -> 1).

Arrays are indexed [x, y, z] (the layout nibabel and MONAI's LoadImage give) with spacing (sx, sy, sz), and
written as raw little-endian files with x fastest (Fortran order): `<name>.u8` (masks, label maps), `<name>.f64`,
`<name>.f32`, each with a sidecar `<name>.json` {"size": [nx, ny, nz], "spacing": [sx, sy, sz], "type": ...}.
All expected numbers go to expected.json.

Versions used for the committed files: Python 3.11.7, numpy 2.4.6, scipy 1.17.1, surface-distance 0.1 (PyPI,
google-deepmind code), torch 2.13.0+cpu, monai 1.6.1, SimpleITK 2.5.7 (signed map only; from /tmp/ref-venv).
surface-distance 0.1 uses `np.Inf`, removed in numpy 2, so the script sets `np.Inf = np.inf` before calling it.

Run (from /work/scratch/surface):
  /tmp/surface-venv/bin/python reference-scripts/surface_reference.py
  /tmp/ref-venv/bin/python reference-scripts/surface_reference.py --sitk-only   # adds the SimpleITK map
"""
import json
import pathlib
import sys
import warnings

import numpy as np
from scipy import ndimage as ndi

OUT = pathlib.Path(__file__).resolve().parent.parent.parent / "Tests/MedGridImagingTests/Reference/surface"
TOLERANCES = [1.5, 2.7]


def write_volume(name, array, spacing, kind):
    dtype = {"u8": "<u1", "f32": "<f4", "f64": "<f8"}[kind]
    array.astype(dtype).ravel(order="F").tofile(OUT / f"{name}.{kind}")
    meta = {"size": list(array.shape), "spacing": list(spacing), "type": kind}
    (OUT / f"{name}.json").write_text(json.dumps(meta) + "\n")


def grid(size):
    return np.meshgrid(*[np.arange(n, dtype=np.float64) for n in size], indexing="ij")


def ellipsoid(size, spacing, centre_mm, radii_mm):
    x, y, z = grid(size)
    q = sum(((c * s - c0) / r) ** 2 for c, s, c0, r in zip((x, y, z), spacing, centre_mm, radii_mm))
    return q <= 1.0


def blob(size, seed, sigma, threshold):
    rng = np.random.default_rng(seed)
    return ndi.gaussian_filter(rng.random(size), sigma) > threshold


def make_cases():
    cases = []
    # 1. Offset spheres, isotropic 1 mm.
    size, sp = (40, 36, 32), (1.0, 1.0, 1.0)
    cases.append(("spheres_iso", size, sp, ellipsoid(size, sp, (20, 18, 16), (10, 10, 10)),
                  ellipsoid(size, sp, (22.5, 16.5, 16), (9, 9, 9)), None))
    # 2. Offset ellipsoids, anisotropic 0.8 x 0.8 x 2.5 mm.
    size, sp = (48, 44, 20), (0.8, 0.8, 2.5)
    cases.append(("ellipsoids_aniso", size, sp, ellipsoid(size, sp, (19, 17, 24), (12, 9, 16)),
                  ellipsoid(size, sp, (20.5, 16, 27), (11, 10, 14)), None))
    # 3. Irregular blobs touching the image border, spacing 1.2 x 0.7 x 1.9 mm.
    size, sp = (30, 34, 22), (1.2, 0.7, 1.9)
    ref = blob(size, 7, 2.0, 0.5)
    pred = blob(size, 8, 2.0, 0.5) | (ref & blob(size, 9, 1.5, 0.45))
    cases.append(("blobs_border", size, sp, ref, pred, None))
    # 4. Label map with 3 labels (label 3 missing from the prediction, label 4 only in the prediction).
    size, sp = (48, 44, 20), (0.8, 0.8, 2.5)
    ref = np.zeros(size, np.uint8)
    pred = np.zeros(size, np.uint8)
    ref[ellipsoid(size, sp, (14, 14, 20), (8, 7, 12))] = 1
    ref[ellipsoid(size, sp, (26, 22, 25), (7, 9, 15))] = 2
    ref[ellipsoid(size, sp, (30, 12, 30), (5, 5, 8))] = 3
    pred[ellipsoid(size, sp, (15, 13.5, 22), (8.5, 7, 11))] = 1
    pred[ellipsoid(size, sp, (25, 23, 27), (7, 8, 14))] = 2
    pred[ellipsoid(size, sp, (8, 30, 12), (3, 3, 6))] = 4
    cases.append(("labels_aniso", size, sp, ref, pred, [1, 2, 3, 4]))
    # 5-7. Empty cases.
    size, sp = (20, 18, 16), (0.8, 0.8, 2.5)
    sph = ellipsoid(size, sp, (8, 7, 20), (4, 4, 8))
    empty = np.zeros(size, bool)
    cases.append(("empty_prediction", size, sp, sph, empty, None))
    cases.append(("empty_reference", size, sp, empty, sph, None))
    cases.append(("both_empty", size, sp, empty, empty, None))
    return cases


def deepmind(ref, pred, spacing):
    import surface_distance as sd
    if not hasattr(np, "Inf"):
        np.Inf = np.inf  # surface-distance 0.1 predates numpy 2
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore")
        d = sd.compute_surface_distances(ref, pred, spacing)
        mean_rp, mean_pr = sd.compute_average_surface_distance(d)
        out = {
            "hausdorff": sd.compute_robust_hausdorff(d, 100),
            "percentileHausdorff": sd.compute_robust_hausdorff(d, 95),
            "meanDistanceReferenceToPrediction": mean_rp,
            "meanDistancePredictionToReference": mean_pr,
            "referenceSurfaceSize": float(np.sum(d["surfel_areas_gt"])),
            "predictionSurfaceSize": float(np.sum(d["surfel_areas_pred"])),
            "normalizedSurfaceDice": {str(t): sd.compute_surface_dice_at_tolerance(d, t) for t in TOLERANCES},
        }
        for t in TOLERANCES:  # a distance at the tolerance would make d <= tau depend on rounding
            for key in ("distances_gt_to_pred", "distances_pred_to_gt"):
                if np.any(np.abs(d[key] - t) < 1e-6):
                    sys.exit(f"tolerance {t} hits a surfel distance; choose another")
    return out


def monai_metrics(ref, pred, spacing):
    import torch
    from monai.metrics import compute_average_surface_distance, compute_hausdorff_distance, compute_surface_dice
    y = torch.from_numpy(np.stack([~ref, ref])[None].astype(np.float32))
    yp = torch.from_numpy(np.stack([~pred, pred])[None].astype(np.float32))
    sp = list(spacing)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = {
            "hausdorff": compute_hausdorff_distance(yp, y, spacing=sp).item(),
            "percentileHausdorff": compute_hausdorff_distance(yp, y, percentile=95, spacing=sp).item(),
            "averageSymmetricSurfaceDistance": compute_average_surface_distance(
                yp, y, symmetric=True, spacing=sp).item(),
            "meanDistancePredictionToReference": compute_average_surface_distance(yp, y, spacing=sp).item(),
            "meanDistanceReferenceToPrediction": compute_average_surface_distance(y, yp, spacing=sp).item(),
            "normalizedSurfaceDice": {
                str(t): compute_surface_dice(yp, y, class_thresholds=[t], spacing=sp).item() for t in TOLERANCES},
        }
        # boundary voxel counts (binary_erosion with the default cross structure, outside = background)
        out["referenceSurfaceSize"] = float((ref & ~ndi.binary_erosion(ref)).sum())
        out["predictionSurfaceSize"] = float((pred & ~ndi.binary_erosion(pred)).sum())
    return out


def finite(v):
    """JSON has no inf/nan: write them as strings."""
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    v = float(v)
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def overlap(ref, pred):
    p, r, both = int(pred.sum()), int(ref.sum()), int((pred & ref).sum())
    union = p + r - both
    return {"dice": 1.0 if p + r == 0 else 2 * both / (p + r), "jaccard": 1.0 if union == 0 else both / union,
            "predictedVoxels": p, "referenceVoxels": r, "intersectionVoxels": both}


def sitk_only():
    import SimpleITK as sitk
    expected = json.loads((OUT / "expected.json").read_text())
    for e in expected["distanceTransform"]:
        meta = json.loads((OUT / f"{e['mask']}.json").read_text())
        size = meta["size"]
        mask = np.fromfile(OUT / f"{e['mask']}.u8", dtype="<u1").reshape(size, order="F")
        img = sitk.GetImageFromArray(np.ascontiguousarray(mask.transpose(2, 1, 0)))
        img.SetSpacing(meta["spacing"])
        m = sitk.SignedMaurerDistanceMap(img, insideIsPositive=False, squaredDistance=False, useImageSpacing=True)
        signed = sitk.GetArrayFromImage(m).transpose(2, 1, 0)
        write_volume(e["mask"] + "_sitk_signed", signed, meta["spacing"], "f32")
        e["sitkSigned"] = e["mask"] + "_sitk_signed"
    expected["versions"]["SimpleITK"] = sitk.Version_VersionString()
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print("added SimpleITK signed maps")


def main():
    import monai
    import scipy
    import surface_distance  # noqa: F401
    import torch
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {"tolerances": TOLERANCES, "cases": [], "distanceTransform": [],
                "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "surface-distance": "0.1",
                             "torch": torch.__version__, "monai": monai.__version__,
                             "python": sys.version.split()[0]}}
    for name, size, sp, ref, pred, labels in make_cases():
        write_volume(f"{name}_ref", ref, sp, "u8")
        write_volume(f"{name}_pred", pred, sp, "u8")
        entry = {"name": name, "reference": f"{name}_ref", "prediction": f"{name}_pred", "results": []}
        for label in (labels or [None]):
            r = ref > 0 if label is None else ref == label
            p = pred > 0 if label is None else pred == label
            res = {"label": label, **overlap(r, p),
                   "surfaceElements": finite(deepmind(r, p, sp)),
                   "boundaryVoxels": finite(monai_metrics(r, p, sp))}
            entry["results"].append(res)
        expected["cases"].append(entry)
        print(name, "done")
    # Distance transform references.
    for name, size, sp, mask in [
        ("edt_blob", (30, 26, 22), (0.8, 0.8, 2.5), blob((30, 26, 22), 3, 2.0, 0.52)),
        ("edt_points", (25, 31, 17), (1.3, 0.6, 2.1), np.isin(np.arange(25 * 31 * 17).reshape((25, 31, 17)),
                                                             [7, 9000, 13000])),
    ]:
        write_volume(name, mask, sp, "u8")
        edt = ndi.distance_transform_edt(mask == 0, sampling=sp)
        write_volume(name + "_scipy_edt", edt, sp, "f64")
        expected["distanceTransform"].append({"mask": name, "scipyEDT": name + "_scipy_edt"})
    # Surfel area table for one anisotropic spacing.
    from surface_distance import lookup_tables
    spacing = (0.8, 0.9, 2.5)
    expected["surfelAreas"] = {"spacing": list(spacing),
                               "areas": lookup_tables.create_table_neighbour_code_to_surface_area(spacing).tolist()}
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    if "--sitk-only" in sys.argv:
        sitk_only()
    else:
        main()
