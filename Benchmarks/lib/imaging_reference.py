"""Python side of Benchmarks/imaging-kernels.sh: makes the synthetic CT volume and masks, times the reference
tools (scipy, SimpleITK, scikit-image, surface-distance, MONAI, PyRadiomics) on them, and prints the table.

  imaging_reference.py generate --size N --out DIR          volume, masks and meta.json (needs numpy, nibabel)
  imaging_reference.py run TASK TOOL --dir DIR [--medgrid PATH] [--repeats N]
                                                            one JSON line: seconds (compute only) and agreement
  imaging_reference.py table RESULTS.jsonl                  the comparison table (standard library only)

Every timed call gets its inputs already loaded in memory; the clock (time.perf_counter) runs around the call
alone, after one warm-up call on a small central crop of the same inputs. With --repeats N the fastest of N
calls is kept. A tool that cannot be imported gives {"missing": "not installed (...)"}; the table says so.
Imports are done inside the functions, so each venv needs only the packages of the tools it runs.
"""
import argparse
import json
import math
import os
import sys
import time

SPACING = (0.8, 0.8, 1.5)  # mm, x y z (NIfTI axis order, as nibabel gives the array)
AFFINE_DIAG = SPACING + (1.0,)


# ------------------------------------------------------------------------------------------------- generate
def generate(size, out):
    import numpy as np
    import nibabel as nib

    rng = np.random.default_rng(20240607)
    n = size
    affine = np.diag(AFFINE_DIAG)
    c = (n - 1) / 2.0
    x, y, z = np.ogrid[0:n, 0:n, 0:n]
    xf = (x - c) / n
    yf = (y - c) / n
    zf = (z - c) / n

    ct = np.full((n, n, n), -1000.0, dtype=np.float32)  # air
    body = ((xf / 0.44) ** 2 + (yf / 0.34) ** 2 <= 1.0) & (np.abs(zf) <= 0.46)
    ct[body] = 40.0
    # bone: a spine column behind the centre and two ribs-like rods at the sides
    spine = ((xf / 0.07) ** 2 + ((yf - 0.22) / 0.07) ** 2 <= 1.0) & (np.abs(zf) <= 0.46)
    rods = ((((np.abs(xf) - 0.33) / 0.035) ** 2 + ((yf + 0.05) / 0.05) ** 2) <= 1.0) & (np.abs(zf) <= 0.40)
    ct[spine | rods] = 700.0
    # lesions: spheres in mm (so flattened in voxels along z), inside the soft tissue
    lesions = np.zeros((n, n, n), dtype=bool)
    xm, ym, zm = (x - c) * SPACING[0], (y - c) * SPACING[1], (z - c) * SPACING[2]
    placed = 0
    for _ in range(200):
        if placed == 6:
            break
        centre = rng.uniform([-0.28, -0.20, -0.35], [0.28, 0.12, 0.35]) * n
        radius_mm = rng.uniform(0.025, 0.06) * n * SPACING[0]
        if abs(centre[0]) < 0.12 * n and centre[1] > 0.08 * n:  # keep clear of the spine
            continue
        cm = centre * np.array(SPACING)
        ball = (xm - cm[0]) ** 2 + (ym - cm[1]) ** 2 + (zm - cm[2]) ** 2 <= radius_mm ** 2
        lesions |= ball
        placed += 1
    lesions &= body
    ct[lesions] = 90.0
    ct += rng.normal(0.0, 12.0, size=ct.shape).astype(np.float32)

    def save(name, array, dtype):
        img = nib.Nifti1Image(np.asarray(array, dtype=dtype), affine)
        img.header.set_xyzt_units("mm")
        nib.save(img, os.path.join(out, name))

    save("ct.nii.gz", ct, np.float32)
    save("lesions.nii.gz", lesions, np.uint8)
    # a noisy threshold mask (many small components from the noise, plus lesions and bone)
    noisy = ct > 62.0
    save("noisy.nii.gz", noisy, np.uint8)
    # two offset ellipsoids (prediction, reference) for the surface metrics
    ref = ((xf / 0.30) ** 2 + (yf / 0.24) ** 2 + (zf / 0.30) ** 2) <= 1.0
    off = max(1, round(0.02 * n))
    pred = (((xf - off / n) / 0.29) ** 2 + ((yf + off / (2 * n)) / 0.25) ** 2 + ((zf - off / n) / 0.31) ** 2) <= 1.0
    save("pred.nii.gz", pred, np.uint8)
    save("ref.nii.gz", ref, np.uint8)
    np.save(os.path.join(out, "pred.npy"), pred)
    np.save(os.path.join(out, "ref.npy"), ref)
    # radiomics ROI: a crop of the volume (64^3, or SIZE/2 for small sizes) around a lumpy lesion in it
    r = min(64, max(16, n // 2))
    lo = [(n - r) // 2 - n // 8, (n - r) // 2, (n - r) // 2]
    lo = [max(0, min(n - r, v)) for v in lo]
    crop = ct[lo[0]:lo[0] + r, lo[1]:lo[1] + r, lo[2]:lo[2] + r].copy()
    a, b, d = np.ogrid[0:r, 0:r, 0:r]
    rc = (r - 1) / 2.0
    ax, by, dz = (a - rc) * SPACING[0], (b - rc) * SPACING[1], (d - rc) * SPACING[2]
    rad = np.sqrt(ax ** 2 + by ** 2 + dz ** 2) + 1e-9
    theta = np.arccos(np.clip(dz / rad, -1, 1))
    phi = np.arctan2(by, ax)
    lump = 1.0 + 0.15 * np.sin(3 * theta) * np.cos(2 * phi)
    roi = rad <= 0.32 * r * SPACING[0] * lump
    roi_ct = crop.copy()
    texture = 8.0 * np.sin(np.broadcast_to(ax, roi.shape) / 3.0)  # some structure for the texture features
    roi_ct[roi] = (90.0 + texture[roi] + rng.normal(0.0, 12.0, size=int(roi.sum()))).astype(np.float32)
    roi_affine = affine.copy()
    roi_affine[:3, 3] = [lo[i] * SPACING[i] for i in range(3)]
    for name, array, dtype in (("roi-ct.nii.gz", roi_ct, np.float32), ("roi-mask.nii.gz", roi, np.uint8)):
        img = nib.Nifti1Image(np.asarray(array, dtype=dtype), roi_affine)
        img.header.set_xyzt_units("mm")
        nib.save(img, os.path.join(out, name))
    meta = {"size": n, "spacing": SPACING, "roiSize": r, "roiVoxels": int(roi.sum()), "lesionVoxels": int(lesions.sum()),
            "noisyVoxels": int(noisy.sum()), "refVoxels": int(ref.sum()), "predVoxels": int(pred.sum())}
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f)
    print(json.dumps(meta))


# ------------------------------------------------------------------------------------------------- helpers
def crop_center(a, m=24):
    """A central crop of at most m voxels per axis (numpy array or SimpleITK image), for warm-up calls."""
    try:
        shape = a.shape
        sl = tuple(slice(max(0, (s - m) // 2), max(0, (s - m) // 2) + min(s, m)) for s in shape)
        return a[sl]
    except AttributeError:
        size = a.GetSize()
        sl = tuple(slice(max(0, (s - m) // 2), max(0, (s - m) // 2) + min(s, m)) for s in size)
        return a[sl]


def timed(fn, args, small_args, repeats):
    """Warm up once on small_args (errors ignored), then the fastest of `repeats` timed calls on args."""
    if small_args is not None:
        try:
            fn(*small_args)
        except Exception:
            pass
    best, result = math.inf, None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def nib_array(path, dtype=None):
    import numpy as np
    import nibabel as nib
    img = nib.load(path)
    return np.asarray(img.dataobj, dtype=dtype) if dtype else np.asanyarray(img.dataobj)


def medgrid_volume(path):
    """MedGrid's output volume in the nibabel (x, y, z) layout, or None when it cannot be read here."""
    if not path or not os.path.exists(path):
        return None
    try:
        import numpy as np
        return nib_array(path, np.float64)
    except ImportError:
        import numpy as np
        import SimpleITK as sitk
        return sitk.GetArrayFromImage(sitk.ReadImage(path)).transpose(2, 1, 0).astype(np.float64)


def sitk_array(img):
    import numpy as np
    import SimpleITK as sitk
    return sitk.GetArrayFromImage(img).transpose(2, 1, 0).astype(np.float64)


def max_abs(a, b, where=None):
    import numpy as np
    d = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
    if where is not None:
        d = d[where]
    d = d[np.isfinite(d)]
    return float(d.max()) if d.size else 0.0


def sitk_threads():
    import SimpleITK as sitk
    return sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()


# ------------------------------------------------------------------------------------------------- tasks
def run_gaussian(tool, d, mg, repeats):
    import numpy as np
    sigma_mm = 2.0
    if tool == "scipy":
        import scipy
        import scipy.ndimage as ndi
        ct = nib_array(os.path.join(d, "ct.nii.gz"), np.float32)
        sigma = [sigma_mm / s for s in SPACING]
        fn = lambda a: ndi.gaussian_filter(a, sigma=sigma, mode="nearest", truncate=4.0)
        secs, out = timed(fn, (ct,), (crop_center(ct),), repeats)
        m = medgrid_volume(mg)
        agree = None if m is None else "max|MedGrid-scipy| %.2g HU" % max_abs(m, out)
        return dict(seconds=secs, threads=1, version="scipy " + scipy.__version__,
                    call="ndimage.gaussian_filter(sigma=2/spacing, mode='nearest')", agreement=agree)
    import SimpleITK as sitk
    ct = sitk.ReadImage(os.path.join(d, "ct.nii.gz"), sitk.sitkFloat32)
    if tool == "sitk":
        fn = lambda im: sitk.SmoothingRecursiveGaussian(im, sigma_mm)
        call = "SmoothingRecursiveGaussian(2.0 mm)"
    else:
        fn = lambda im: sitk.DiscreteGaussian(im, variance=sigma_mm ** 2, maximumKernelWidth=64,
                                              maximumError=0.01, useImageSpacing=True)
        call = "DiscreteGaussian(variance 4 mm^2, useImageSpacing)"
    secs, out = timed(fn, (ct,), (crop_center(ct),), repeats)
    m = medgrid_volume(mg)
    agree = None if m is None else "max|MedGrid-%s| %.2g HU" % (tool, max_abs(m, sitk_array(out)))
    return dict(seconds=secs, threads=sitk_threads(), version="SimpleITK " + sitk.Version.VersionString(),
                call=call, agreement=agree)


def run_median(tool, d, mg, repeats):
    import numpy as np
    m = medgrid_volume(mg)
    if tool == "scipy":
        import scipy
        import scipy.ndimage as ndi
        ct = nib_array(os.path.join(d, "ct.nii.gz"), np.float32)
        fn = lambda a: ndi.median_filter(a, size=3, mode="nearest")
        secs, out = timed(fn, (ct,), (crop_center(ct),), repeats)
        agree = None if m is None else "max|MedGrid-scipy| %.2g" % max_abs(m, out)
        return dict(seconds=secs, threads=1, version="scipy " + scipy.__version__,
                    call="ndimage.median_filter(size=3, mode='nearest')", agreement=agree)
    import SimpleITK as sitk
    ct = sitk.ReadImage(os.path.join(d, "ct.nii.gz"), sitk.sitkFloat32)
    fn = lambda im: sitk.Median(im, [1, 1, 1])
    secs, out = timed(fn, (ct,), (crop_center(ct),), repeats)
    agree = None if m is None else "max|MedGrid-SimpleITK| %.2g" % max_abs(m, sitk_array(out))
    return dict(seconds=secs, threads=sitk_threads(), version="SimpleITK " + sitk.Version.VersionString(),
                call="Median([1,1,1])", agreement=agree)


def run_otsu(tool, d, mg, repeats):
    import numpy as np
    m = medgrid_volume(mg)
    if tool == "sitk":
        import SimpleITK as sitk
        ct = sitk.ReadImage(os.path.join(d, "ct.nii.gz"), sitk.sitkFloat32)

        def fn(im):
            f = sitk.OtsuThresholdImageFilter()
            f.SetInsideValue(0)
            f.SetOutsideValue(1)
            f.SetNumberOfHistogramBins(256)
            out = f.Execute(im)
            return out, f.GetThreshold()
        secs, (out, thr) = timed(fn, (ct,), (crop_center(ct),), repeats)
        agree = "threshold %.2f" % thr
        if m is not None:
            diff = int(np.count_nonzero((m > 0) != (sitk_array(out) > 0)))
            agree += "; masks differ in %d voxels" % diff
        return dict(seconds=secs, threads=sitk_threads(), version="SimpleITK " + sitk.Version.VersionString(),
                    call="OtsuThreshold(0, 1, 256 bins)", agreement=agree)
    import skimage
    from skimage.filters import threshold_otsu
    try:
        ct = nib_array(os.path.join(d, "ct.nii.gz"), np.float32)
    except ImportError:
        import SimpleITK as sitk
        ct = sitk.GetArrayFromImage(sitk.ReadImage(os.path.join(d, "ct.nii.gz"), sitk.sitkFloat32)).transpose(2, 1, 0)
    fn = lambda a: a > threshold_otsu(a, nbins=256)
    secs, out = timed(fn, (ct,), (crop_center(ct),), repeats)
    thr = threshold_otsu(ct, nbins=256)
    agree = "threshold %.2f" % thr
    if m is not None:
        agree += "; masks differ in %d voxels" % int(np.count_nonzero((m > 0) != out))
    return dict(seconds=secs, threads=1, version="scikit-image " + skimage.__version__,
                call="a > filters.threshold_otsu(a, nbins=256)", agreement=agree)


def same_partition(a, b):
    """Whether two label maps are equal, or equal up to renumbering (scipy numbers components in the raster
    order of the (x, y, z) array, z fastest; ITK and MedGrid run x fastest)."""
    import numpy as np
    if np.array_equal(a, b):
        return "label maps identical"
    fa, fb = a > 0, b > 0
    if not np.array_equal(fa, fb):
        return "foregrounds DIFFER"
    pairs = np.unique(np.stack([a[fa].astype(np.int64), b[fb].astype(np.int64)]), axis=1)
    na, nb = len(np.unique(a[fa])), len(np.unique(b[fb]))
    if pairs.shape[1] == na == nb:
        return "same components, numbered in another raster order"
    return "components DIFFER"


def run_components(tool, d, mg, repeats):
    import numpy as np
    m = medgrid_volume(mg)
    if tool == "scipy":
        import scipy
        import scipy.ndimage as ndi
        mask = nib_array(os.path.join(d, "noisy.nii.gz"), np.uint8)
        st = np.ones((3, 3, 3), dtype=bool)
        fn = lambda a: ndi.label(a, structure=st)
        secs, (labels, count) = timed(fn, (mask,), (crop_center(mask),), repeats)
        agree = "%d components" % count
        if m is not None:
            agree += "; MedGrid %d, %s" % (int(m.max()), same_partition(m, labels))
        return dict(seconds=secs, threads=1, version="scipy " + scipy.__version__,
                    call="ndimage.label(structure=ones((3,3,3)))", agreement=agree)
    import SimpleITK as sitk
    mask = sitk.ReadImage(os.path.join(d, "noisy.nii.gz"), sitk.sitkUInt8)
    fn = lambda im: sitk.ConnectedComponent(im, True)
    secs, out = timed(fn, (mask,), (crop_center(mask),), repeats)
    arr = sitk_array(out)
    agree = "%d components" % int(arr.max())
    if m is not None:
        agree += "; " + same_partition(m, arr)
    return dict(seconds=secs, threads=sitk_threads(), version="SimpleITK " + sitk.Version.VersionString(),
                call="ConnectedComponent(fullyConnected=True)", agreement=agree)


def run_distance(tool, d, mg, repeats):
    import numpy as np
    m = medgrid_volume(mg)
    if tool == "scipy":
        import scipy
        import scipy.ndimage as ndi
        mask = nib_array(os.path.join(d, "lesions.nii.gz"), np.uint8)
        fn = lambda a: ndi.distance_transform_edt(a == 0, sampling=SPACING)
        secs, out = timed(fn, (mask,), (crop_center(mask, 32),), repeats)
        agree = None if m is None else "max|MedGrid-scipy| %.2g mm" % max_abs(m, out)
        return dict(seconds=secs, threads=1, version="scipy " + scipy.__version__,
                    call="ndimage.distance_transform_edt(mask == 0, sampling=spacing)", agreement=agree)
    import SimpleITK as sitk
    mask = sitk.ReadImage(os.path.join(d, "lesions.nii.gz"), sitk.sitkUInt8)
    if tool == "sitk":
        fn = lambda im: sitk.SignedMaurerDistanceMap(im, insideIsPositive=False, squaredDistance=False,
                                                     useImageSpacing=True)
        call = "SignedMaurerDistanceMap(useImageSpacing)"
    else:
        fn = lambda im: sitk.DanielssonDistanceMap(im, inputIsBinary=True, squaredDistance=False, useImageSpacing=True)
        call = "DanielssonDistanceMap(inputIsBinary, useImageSpacing)"
    secs, out = timed(fn, (mask,), (crop_center(mask, 32),), repeats)
    agree = None
    if m is not None:
        ref = sitk_array(out)
        if tool == "sitk":
            agree = "max|MedGrid-max(Maurer,0)| %.2g mm" % max_abs(m, np.maximum(ref, 0.0))
        else:
            agree = "max|MedGrid-Danielsson| %.2g mm" % max_abs(m, ref)
    return dict(seconds=secs, threads=sitk_threads(), version="SimpleITK " + sitk.Version.VersionString(),
                call=call, agreement=agree)


def medgrid_metrics(mg, convention):
    if not mg or not os.path.exists(mg):
        return None
    with open(mg) as f:
        r = json.load(f)["result"]
    s = r.get(convention)
    return s


def run_metrics(tool, d, mg, repeats):
    import numpy as np
    pred = np.load(os.path.join(d, "pred.npy"))
    ref = np.load(os.path.join(d, "ref.npy"))
    small = (crop_center(pred, 32), crop_center(ref, 32))
    if tool == "surface-distance":
        import surface_distance as sd

        def fn(p, r):
            dist = sd.compute_surface_distances(r, p, SPACING)
            return sd.compute_robust_hausdorff(dist, 95), sd.compute_surface_dice_at_tolerance(dist, 1.0)
        secs, (hd95, nsd) = timed(fn, (pred, ref), small, repeats)
        mm = medgrid_metrics(mg, "surfaceElements")
        agree = "HD95 %.4g NSD %.4f" % (hd95, nsd)
        if mm:
            agree += " (MedGrid %.4g, %.4f)" % (mm["percentileHausdorff"], mm["normalizedSurfaceDice"])
        return dict(seconds=secs, threads=1, version="surface-distance",
                    call="compute_surface_distances + compute_robust_hausdorff(95) + surface_dice_at_tolerance(1)",
                    agreement=agree)
    import monai
    import torch
    from monai.metrics import compute_hausdorff_distance, compute_surface_dice
    tp = torch.from_numpy(pred[None, None].astype(np.float32))
    tr = torch.from_numpy(ref[None, None].astype(np.float32))
    sp = torch.from_numpy(small[0][None, None].astype(np.float32)), torch.from_numpy(small[1][None, None].astype(np.float32))

    def fn(p, r):
        hd = compute_hausdorff_distance(p, r, include_background=True, percentile=95, spacing=list(SPACING))
        nsd = compute_surface_dice(p, r, class_thresholds=[1.0], include_background=True, spacing=list(SPACING))
        return float(hd.reshape(-1)[0]), float(nsd.reshape(-1)[0])
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        secs, (hd95, nsd) = timed(fn, (tp, tr), sp, repeats)
    mm = medgrid_metrics(mg, "boundaryVoxels")
    agree = "HD95 %.4g NSD %.4f" % (hd95, nsd)
    if mm:
        agree += " (MedGrid %.4g, %.4f)" % (mm["percentileHausdorff"], mm["normalizedSurfaceDice"])
    return dict(seconds=secs, threads=torch.get_num_threads(), version="MONAI " + monai.__version__,
                call="compute_hausdorff_distance(percentile=95) + compute_surface_dice([1.0])", agreement=agree)


# IBSI identifier (MedGrid, pyradiomics preset) -> PyRadiomics feature name, for the agreement column
RADIOMICS_PAIRS = {
    "RNU0": "original_shape_MeshVolume", "C0JK": "original_shape_SurfaceArea",
    "Q4LE": "original_firstorder_Mean", "ECT3": "original_firstorder_Variance",
    "KE2A": "original_firstorder_Skewness", "TLU2": "original_firstorder_Entropy",
    "TU9B": "original_glcm_JointEntropy", "ACUI": "original_glcm_Contrast",
}


def run_radiomics(tool, d, mg, repeats):
    import logging
    import SimpleITK as sitk
    import radiomics
    from radiomics import featureextractor
    radiomics.setVerbosity(logging.ERROR)
    logging.getLogger("radiomics").setLevel(logging.ERROR)
    image = sitk.ReadImage(os.path.join(d, "roi-ct.nii.gz"), sitk.sitkFloat32)
    mask = sitk.ReadImage(os.path.join(d, "roi-mask.nii.gz"), sitk.sitkUInt8)
    extractor = featureextractor.RadiomicsFeatureExtractor(binWidth=25)
    # warm-up: a 10^3 cube in a 20^3 corner of the image
    small_img = image[:20, :20, :20]
    sub = sitk.Image([20, 20, 20], sitk.sitkUInt8)
    sub[5:15, 5:15, 5:15] = sitk.Image([10, 10, 10], sitk.sitkUInt8) + 1
    sub.CopyInformation(small_img)
    fn = lambda im, ma: extractor.execute(im, ma)
    secs, out = timed(fn, (image, mask), (small_img, sub), repeats)
    feats = {k: float(v) for k, v in out.items() if k.startswith("original_")}
    agree = "%d features" % len(feats)
    if mg and os.path.exists(mg):
        with open(mg) as f:
            mine = {x["ibsi"]: x["value"] for x in json.load(f)["result"]["features"]}
        worst, worst_name = 0.0, ""
        for ibsi, name in RADIOMICS_PAIRS.items():
            if ibsi in mine and name in feats and mine[ibsi] is not None:
                rel = abs(mine[ibsi] - feats[name]) / max(abs(feats[name]), 1e-12)
                if rel >= worst:
                    worst, worst_name = rel, name.replace("original_", "")
        agree += " (MedGrid %d); max rel diff over %d shared features %.2g (%s)" % (
            len(mine), len(RADIOMICS_PAIRS), worst, worst_name)
    return dict(seconds=secs, threads=1, version="PyRadiomics " + radiomics.__version__,
                call="RadiomicsFeatureExtractor(binWidth=25).execute (all default classes)", agreement=agree)


TASKS = {"gaussian": run_gaussian, "median": run_median, "otsu": run_otsu, "components": run_components,
         "distance": run_distance, "metrics": run_metrics, "radiomics": run_radiomics}

# what each tool needs, to say "not installed (pip install ...)" precisely
NEEDS = {"scipy": "scipy nibabel", "sitk": "SimpleITK", "sitk2": "SimpleITK", "skimage": "scikit-image",
         "surface-distance": "surface-distance (DeepMind)", "monai": "monai torch",
         "pyradiomics": "pyradiomics-bhklab"}


def run(task, tool, d, mg, repeats):
    try:
        res = TASKS[task](tool, d, mg, repeats)
    except ImportError as e:
        res = {"missing": "not installed (%s; %s)" % (NEEDS.get(tool, tool), e)}
    res.update(task=task, tool=tool)
    print(json.dumps(res))


# ------------------------------------------------------------------------------------------------- table
COLUMNS = [("scipy", "scipy"), ("sitk", "SimpleITK"), ("sitk2", "SimpleITK (2nd)"), ("other", "other")]


def table(path, cores):
    rows, order = {}, []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            key = r["row"]
            if key not in rows:
                rows[key] = {}
                order.append(key)
            rows[key][r["column"]] = r

    def cell(r, mg):
        if r is None:
            return "-"
        if "missing" in r:
            return "not installed"
        if "error" in r:
            return "error"
        s = r["seconds"]
        return "%.3f x%.2f" % (s, s / mg) if mg and mg > 0 else "%.3f" % s

    w0 = max([len(k) for k in order] + [6])
    head = "%-*s %9s %9s %17s %17s %17s %17s %10s" % (w0, "kernel", "MedGrid", "1 core", "scipy", "SimpleITK",
                                                      "SimpleITK (2nd)", "other", "best ref")
    print(head)
    print("-" * len(head))
    for key in order:
        cols = rows[key]
        mg = cols.get("medgrid", {}).get("seconds")
        mg1 = cols.get("medgrid1", {}).get("seconds")
        refs = [cols.get(c) for c, _ in COLUMNS[:3]]
        times = [r["seconds"] for r in refs if r and "seconds" in r]
        best = "x%.2f" % (min(times) / mg) if times and mg else "-"
        print("%-*s %9s %9s %17s %17s %17s %17s %10s" % (
            w0, key, "%.3f" % mg if mg is not None else "failed", "%.3f" % mg1 if mg1 is not None else "-",
            cell(cols.get("scipy"), mg), cell(cols.get("sitk"), mg), cell(cols.get("sitk2"), mg),
            cell(cols.get("other"), mg), best))
    print()
    print("Seconds are compute only: inputs loaded first, then the kernel call timed (MedGrid: the \"seconds\" of")
    print("`medgrid kernel run --timing`, file reading and writing excluded). 'xR' = reference seconds / MedGrid")
    print("seconds (all cores): above 1 means MedGrid is faster. 'best ref' = the faster of scipy and SimpleITK")
    print("over MedGrid. '1 core' = MedGrid under `taskset -c 0` (its threads share core 0). 'other' = scikit-image")
    print("(otsu), surface-distance / MONAI (metrics), PyRadiomics (radiomics). Machine: %s cores." % cores)
    print()
    print("What each cell ran, threads, and agreement with MedGrid's result:")
    for key in order:
        cols = rows[key]
        mgr = cols.get("medgrid", {})
        print("  %s  [MedGrid %s, %s threads]" % (key, mgr.get("call", ""), mgr.get("threads", "?")))
        for c, label in COLUMNS:
            r = cols.get(c)
            if r is None:
                continue
            if "missing" in r:
                print("    %-16s %s" % (label, r["missing"]))
            elif "error" in r:
                print("    %-16s error: %s" % (label, r["error"]))
            else:
                print("    %-16s %s — %s, %s thread%s%s" % (
                    label, r.get("version", ""), r.get("call", ""), r.get("threads", "?"),
                    "" if r.get("threads") == 1 else "s",
                    "; " + r["agreement"] if r.get("agreement") else ""))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--size", type=int, required=True)
    g.add_argument("--out", required=True)
    r = sub.add_parser("run")
    r.add_argument("task", choices=sorted(TASKS))
    r.add_argument("tool")
    r.add_argument("--dir", required=True)
    r.add_argument("--medgrid", default="")
    r.add_argument("--repeats", type=int, default=1)
    t = sub.add_parser("table")
    t.add_argument("results")
    t.add_argument("--cores", default=str(os.cpu_count()))
    a = p.parse_args()
    if a.cmd == "generate":
        generate(a.size, a.out)
    elif a.cmd == "run":
        run(a.task, a.tool, a.dir, a.medgrid, a.repeats)
    else:
        table(a.results, a.cores)


if __name__ == "__main__":
    main()
