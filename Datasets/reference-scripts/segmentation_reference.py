"""Reference outputs for MedGrid's segmentation module (Sources/MedGridImaging/Segmentation).

What it computes, on small committed synthetic volumes (x fastest, raw little-endian float32 `.f32`
with a JSON sidecar giving size [x, y, z] and spacing [x, y, z] in mm):

- fixed threshold            SimpleITK BinaryThreshold (inclusive bounds, inside 1 / outside 0)
- Otsu                       SimpleITK OtsuThresholdImageFilter (inside 0, outside 1 so the bright side is 1)
- multi-Otsu                 SimpleITK OtsuMultipleThresholds (labelOffset 0)
- k-means (1-D)              scikit-learn KMeans(n_init=1, tol=0, algorithm="lloyd") with explicit initial
                             centres (float64 copies of the float32 voxels); labels re-ordered by centre
- connected threshold        SimpleITK ConnectedThreshold (Face / Full connectivity)
- confidence connected       SimpleITK ConfidenceConnected
- connected components       SimpleITK ConnectedComponent (6 / 26, raster order), scipy.ndimage.label with
                             the 18-neighbourhood (raster order too), SimpleITK RelabelComponent (size order,
                             minimumObjectSize)
- hole filling               SimpleITK BinaryFillhole (fullyConnected False / True) and
                             scipy.ndimage.binary_fill_holes (6-, 18-, 26-connected background)

Expected masks / label maps are raw little-endian int16 `.i16` files (x fastest). Everything is listed
in `cases.json` next to them.

Library versions used: SimpleITK 2.5.7 (ITK 5.4), numpy 2.4.6, scipy 1.17.1, scikit-learn 1.9.1.

Run:  /tmp/ref-venv/bin/python reference-scripts/segmentation_reference.py \
          Tests/MedGridImagingTests/Reference/segmentation
      (optional `--perf DIR`: also writes a 256^3 volume to DIR and times SimpleITK / scipy on it)
"""
import json
import os
import sys
import time

import numpy as np
import scipy
import scipy.ndimage as ndi
import SimpleITK as sitk
import sklearn
from sklearn.cluster import KMeans

SIZE = (32, 24, 16)            # x, y, z
SPACING = (0.8, 0.9, 2.5)      # mm, anisotropic
ORIGIN = (-12.0, 7.5, 30.0)


def to_sitk(arr_zyx, spacing=SPACING, origin=ORIGIN):
    img = sitk.GetImageFromArray(arr_zyx)
    img.SetSpacing(spacing)
    img.SetOrigin(origin)
    return img


def write_f32(folder, name, arr_zyx, spacing=SPACING, origin=ORIGIN):
    arr = np.ascontiguousarray(arr_zyx, dtype="<f4")
    arr.tofile(os.path.join(folder, name + ".f32"))
    z, y, x = arr.shape
    with open(os.path.join(folder, name + ".json"), "w") as f:
        json.dump({"size": [x, y, z], "spacing": list(spacing), "origin": list(origin)}, f)
    return name + ".f32"


def write_i16(folder, name, arr_zyx):
    arr = np.asarray(arr_zyx)
    assert arr.min() >= -32768 and arr.max() <= 32767
    np.ascontiguousarray(arr, dtype="<i2").tofile(os.path.join(folder, name + ".i16"))
    return name + ".i16"


def blobs(rng, shape_xyz=SIZE, noise=15.0):
    nx, ny, nz = shape_xyz
    z, y, x = np.mgrid[0:nz, 0:ny, 0:nx].astype(np.float64)
    img = np.full((nz, ny, nx), 20.0)
    # ellipsoids in index space: (cx, cy, cz, rx, ry, rz, value)
    specs = [
        (0.30 * nx, 0.40 * ny, 0.45 * nz, 0.18 * nx, 0.22 * ny, 0.28 * nz, 120.0),
        (0.70 * nx, 0.55 * ny, 0.55 * nz, 0.15 * nx, 0.25 * ny, 0.30 * nz, 200.0),
        (0.50 * nx, 0.15 * ny, 0.20 * nz, 0.10 * nx, 0.10 * ny, 0.15 * nz, 200.0),
        (0.80 * nx, 0.85 * ny, 0.80 * nz, 0.08 * nx, 0.10 * ny, 0.12 * nz, 120.0),
    ]
    for cx, cy, cz, rx, ry, rz, v in specs:
        inside = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 + ((z - cz) / rz) ** 2 <= 1
        img[inside] = v
    img += rng.normal(0, noise, img.shape)
    return img.astype(np.float32)


def structure(conn):
    return ndi.generate_binary_structure(3, {6: 1, 18: 2, 26: 3}[conn])


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20240611)
    cases = {"volumes": {}}

    # ---- inputs -------------------------------------------------------------------------------
    image = blobs(rng)
    cases["volumes"]["blobs"] = write_f32(out, "blobs", image)
    # Sparse random mask: many small components of every connectivity type.
    sparse = (rng.random((SIZE[2], SIZE[1], SIZE[0])) < 0.15).astype(np.float32)
    cases["volumes"]["sparse"] = write_f32(out, "sparse", sparse)
    # Dense random mask: many enclosed background pockets, some only diagonally open.
    dense = (rng.random((SIZE[2], SIZE[1], SIZE[0])) < 0.68).astype(np.float32)
    cases["volumes"]["dense"] = write_f32(out, "dense", dense)
    # Integer-valued intensities (CT-like Hounsfield units): many voxels sit exactly on bin edges.
    hu = np.round(rng.normal(0, 1, image.shape) * 300 + (image > 100) * 900 - 500).clip(-1024, 3071).astype(np.float32)
    cases["volumes"]["hu"] = write_f32(out, "hu", hu)
    ramp = (np.arange(image.size) % 256).reshape(image.shape).astype(np.float32)
    cases["volumes"]["ramp"] = write_f32(out, "ramp", ramp)
    img = to_sitk(image)
    inputs = {"blobs": img, "hu": to_sitk(hu), "ramp": to_sitk(ramp)}

    # ---- fixed threshold -----------------------------------------------------------------------
    cases["threshold"] = []
    for lo, hi in [(120.0, 250.0), (-1e30, 60.0)]:
        m = sitk.GetArrayFromImage(sitk.BinaryThreshold(img, lo, hi, 1, 0))
        name = f"threshold_{len(cases['threshold'])}"
        cases["threshold"].append({"input": "blobs", "lower": lo, "upper": hi, "expected": write_i16(out, name, m)})

    # ---- Otsu ----------------------------------------------------------------------------------
    cases["otsu"] = []
    for source, bins, mid in [("blobs", 256, False), ("blobs", 256, True), ("blobs", 64, False), ("blobs", 1000, False),
                              ("hu", 256, False), ("hu", 128, True), ("ramp", 256, False), ("ramp", 100, False)]:
        f = sitk.OtsuThresholdImageFilter()
        f.SetInsideValue(0)
        f.SetOutsideValue(1)
        f.SetNumberOfHistogramBins(bins)
        f.SetReturnBinMidpoint(mid)
        m = sitk.GetArrayFromImage(f.Execute(inputs[source]))
        name = f"otsu_{len(cases['otsu'])}"
        cases["otsu"].append({"input": source, "bins": bins, "returnBinMidpoint": mid,
                              "threshold": f.GetThreshold(), "expected": write_i16(out, name, m)})

    cases["multiOtsu"] = []
    for source, classes, bins in [("blobs", 2, 256), ("blobs", 3, 256), ("blobs", 3, 64), ("blobs", 4, 128),
                                  ("hu", 3, 256), ("ramp", 3, 256), ("ramp", 4, 64)]:
        f = sitk.OtsuMultipleThresholdsImageFilter()
        f.SetNumberOfThresholds(classes - 1)
        f.SetNumberOfHistogramBins(bins)
        f.SetLabelOffset(0)
        lab = sitk.GetArrayFromImage(f.Execute(inputs[source]))
        name = f"multiotsu_{len(cases['multiOtsu'])}"
        cases["multiOtsu"].append({"input": source, "classes": classes, "bins": bins,
                                   "thresholds": list(f.GetThresholds()), "expected": write_i16(out, name, lab)})

    # ---- k-means -------------------------------------------------------------------------------
    cases["kmeans"] = []
    values = image.reshape(-1).astype(np.float64)
    k3q = [float(np.quantile(values, (k + 0.5) / 3)) for k in range(3)]
    for init, tag in [([0.0, 100.0, 150.0], "explicit"), ([210.0, 10.0, 90.0, 140.0], "explicit-unsorted"), (k3q, "quantiles")]:
        km = KMeans(n_clusters=len(init), init=np.array(init, dtype=np.float64).reshape(-1, 1), n_init=1,
                    tol=0.0, max_iter=300, algorithm="lloyd")
        km.fit(values.reshape(-1, 1))
        centres = km.cluster_centers_.reshape(-1)
        order = np.argsort(centres, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        lab = rank[km.labels_].reshape(image.shape)
        name = f"kmeans_{len(cases['kmeans'])}"
        cases["kmeans"].append({"input": "blobs", "init": tag, "initialCentres": [float(c) for c in init],
                                "centres": [float(c) for c in centres[order]], "iterations": int(km.n_iter_),
                                "expected": write_i16(out, name, lab)})

    # ---- region growing ------------------------------------------------------------------------
    cases["connectedThreshold"] = []
    for seeds, lo, hi, full in [([(9, 9, 7)], 90.0, 160.0, False), ([(9, 9, 7)], 90.0, 160.0, True),
                                ([(22, 13, 8), (16, 3, 3)], 150.0, 260.0, False),
                                ([(22, 13, 8), (0, 0, 0)], 150.0, 260.0, True)]:
        conn = (sitk.ConnectedThresholdImageFilter.FullConnectivity if full
                else sitk.ConnectedThresholdImageFilter.FaceConnectivity)
        m = sitk.GetArrayFromImage(sitk.ConnectedThreshold(img, seedList=[list(s) for s in seeds], lower=lo,
                                                           upper=hi, replaceValue=1, connectivity=conn))
        name = f"connthr_{len(cases['connectedThreshold'])}"
        cases["connectedThreshold"].append({"input": "blobs", "seeds": [list(s) for s in seeds], "lower": lo,
                                            "upper": hi, "connectivity": 26 if full else 6,
                                            "expected": write_i16(out, name, m)})

    smask_f = to_sitk(sparse)
    seed = [int(v) for v in np.argwhere(sparse > 0)[len(np.argwhere(sparse > 0)) // 2][::-1]]
    for full in (False, True):
        conn = (sitk.ConnectedThresholdImageFilter.FullConnectivity if full
                else sitk.ConnectedThresholdImageFilter.FaceConnectivity)
        m = sitk.GetArrayFromImage(sitk.ConnectedThreshold(smask_f, seedList=[seed], lower=0.5, upper=1.5,
                                                           replaceValue=1, connectivity=conn))
        name = f"connthr_{len(cases['connectedThreshold'])}"
        cases["connectedThreshold"].append({"input": "sparse", "seeds": [seed], "lower": 0.5, "upper": 1.5,
                                            "connectivity": 26 if full else 6, "expected": write_i16(out, name, m)})

    cases["confidenceConnected"] = []
    for seeds, iters, mult, radius in [([(9, 9, 7)], 4, 2.5, 1), ([(22, 13, 8), (16, 3, 3)], 3, 2.0, 1),
                                       ([(22, 13, 8), (23, 14, 8), (21, 12, 9)], 2, 2.5, 0), ([(0, 0, 0)], 4, 2.5, 2)]:
        m = sitk.GetArrayFromImage(sitk.ConfidenceConnected(img, seedList=[list(s) for s in seeds],
                                                            numberOfIterations=iters, multiplier=mult,
                                                            initialNeighborhoodRadius=radius, replaceValue=1))
        name = f"confconn_{len(cases['confidenceConnected'])}"
        cases["confidenceConnected"].append({"input": "blobs", "seeds": [list(s) for s in seeds],
                                             "iterations": iters, "multiplier": mult, "radius": radius,
                                             "expected": write_i16(out, name, m)})

    # ---- connected components ------------------------------------------------------------------
    cases["components"] = []
    smask = to_sitk(sparse.astype(np.uint8))
    for conn in (6, 18, 26):
        lab, n = ndi.label(sparse, structure=structure(conn))
        if conn != 18:
            s = sitk.GetArrayFromImage(sitk.ConnectedComponent(smask, conn == 26))
            assert np.array_equal(s, lab), "SimpleITK and scipy disagree"
        sizes = np.bincount(lab.reshape(-1))[1:]
        cases["components"].append({"input": "sparse", "connectivity": conn, "count": int(n),
                                    "voxelCounts": [int(c) for c in sizes],
                                    "expected": write_i16(out, f"components_{conn}", lab)})
    # Size order and filtering (SimpleITK RelabelComponent on the raster-order labels).
    cases["relabel"] = []
    for conn, minimum in [(6, 0), (26, 0), (26, 3), (6, 2)]:
        base = sitk.ConnectedComponent(smask, conn == 26)
        rel = sitk.RelabelComponentImageFilter()
        rel.SetMinimumObjectSize(minimum)
        rel.SetSortByObjectSize(True)
        lab = sitk.GetArrayFromImage(rel.Execute(base))
        cases["relabel"].append({"input": "sparse", "connectivity": conn, "minimumVoxels": minimum,
                                 "count": int(rel.GetNumberOfObjects()),
                                 "voxelCounts": [int(c) for c in rel.GetSizeOfObjectsInPixels()],
                                 "expected": write_i16(out, f"relabel_{conn}_{minimum}", lab)})
    # Raster-order numbering after dropping small components (scipy on the filtered mask).
    cases["sizeFilter"] = []
    for conn, minimum in [(26, 3), (18, 2)]:
        lab, n = ndi.label(sparse, structure=structure(conn))
        sizes = np.bincount(lab.reshape(-1))
        keep = sizes >= minimum
        keep[0] = False
        kept = np.where(keep[lab], lab, 0)
        lab2, n2 = ndi.label(kept > 0, structure=structure(conn))
        cases["sizeFilter"].append({"input": "sparse", "connectivity": conn, "minimumVoxels": minimum,
                                    "count": int(n2), "expected": write_i16(out, f"sizefilter_{conn}_{minimum}", lab2)})
    # Largest component of the thresholded blobs.
    cases["largest"] = []
    thr = sitk.BinaryThreshold(img, 100.0, 1e30, 1, 0)
    cases["volumes"]["bright"] = write_f32(out, "bright", sitk.GetArrayFromImage(thr).astype(np.float32))
    for conn in (6, 26):
        rel = sitk.RelabelComponent(sitk.ConnectedComponent(thr, conn == 26), 0, True)
        m = (sitk.GetArrayFromImage(rel) == 1).astype(np.int16)
        cases["largest"].append({"input": "bright", "connectivity": conn,
                                 "expected": write_i16(out, f"largest_{conn}", m)})

    # ---- hole filling --------------------------------------------------------------------------
    cases["fillHoles"] = []
    dmask = to_sitk(dense.astype(np.uint8))
    for conn in (6, 18, 26):
        filled = ndi.binary_fill_holes(dense > 0, structure=structure(conn)).astype(np.int16)
        if conn != 18:
            s = sitk.GetArrayFromImage(sitk.BinaryFillhole(dmask, fullyConnected=(conn == 26), foregroundValue=1))
            assert np.array_equal(s, filled), "SimpleITK and scipy disagree on hole filling"
        cases["fillHoles"].append({"input": "dense", "backgroundConnectivity": conn,
                                   "filledVoxels": int(filled.sum() - (dense > 0).sum()),
                                   "expected": write_i16(out, f"fillholes_{conn}", filled)})

    cases["versions"] = {"SimpleITK": sitk.Version_VersionString(), "numpy": np.__version__,
                         "scipy": scipy.__version__, "scikit-learn": sklearn.__version__}
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
    print("wrote", out)


def perf(folder):
    """256^3 blobs volume: writes it (and expected figures) for the Swift perf test and times the references."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(7)
    vol = blobs(rng, (256, 256, 256), noise=40.0)
    vol.astype("<f4").tofile(os.path.join(folder, "perf256.f32"))
    img = sitk.GetImageFromArray(vol)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(os.cpu_count())

    def best_of(fn, repeats=3):
        times, result = [], None
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t0)
        return min(times), result

    f = sitk.OtsuThresholdImageFilter()
    f.SetInsideValue(0)
    f.SetOutsideValue(1)
    f.SetNumberOfHistogramBins(256)
    t_otsu, mask = best_of(lambda: f.Execute(img))
    t_cc, cc = best_of(lambda: sitk.ConnectedComponent(mask, True))
    m = sitk.GetArrayFromImage(mask)
    t_scipy, (lab, n) = best_of(lambda: ndi.label(m, structure=structure(26)))
    np.ascontiguousarray(sitk.GetArrayFromImage(cc), dtype="<i4").tofile(os.path.join(folder, "perf256_cc26.i32"))
    stats = sitk.StatisticsImageFilter()
    stats.Execute(cc)
    info = {"otsuThreshold": f.GetThreshold(), "foreground": int(m.sum()), "components26": int(n),
            "sitkComponents26": int(stats.GetMaximum()),
            "secondsBestOf3": {"sitkOtsu": t_otsu, "sitkConnectedComponent26": t_cc, "scipyLabel26": t_scipy},
            "threads": os.cpu_count()}
    with open(os.path.join(folder, "perf256.json"), "w") as fh:
        json.dump(info, fh, indent=1)
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--perf":
        perf(sys.argv[2])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "Tests/MedGridImagingTests/Reference/segmentation")
