"""Timings of the Python reference implementations on the 256^3 masks of SurfaceDistancePerformanceTests.

Reference: sphere centre (128,128,128) radius 80; prediction: ellipsoid centre (132,126,128) radii (78,84,76);
spacing 1 mm; indexed [x, y, z]. Times scipy.ndimage.distance_transform_edt (reference == 0), DeepMind
surface-distance (compute_surface_distances + robust Hausdorff 95 + surface Dice at 2 mm) and MONAI
(compute_hausdorff_distance percentile 95 + compute_surface_dice at 2 mm). Versions: see surface_reference.py.
Run: /tmp/surface-venv/bin/python reference-scripts/surface_benchmark.py
"""
import time
import warnings

import numpy as np
from scipy import ndimage as ndi

n = 256
x, y, z = np.meshgrid(*[np.arange(n, dtype=np.float64)] * 3, indexing="ij")
ref = ((x - 128) / 80) ** 2 + ((y - 128) / 80) ** 2 + ((z - 128) / 80) ** 2 <= 1
pred = ((x - 132) / 78) ** 2 + ((y - 126) / 84) ** 2 + ((z - 128) / 76) ** 2 <= 1
sp = (1.0, 1.0, 1.0)

t = time.perf_counter()
d = ndi.distance_transform_edt(ref == 0, sampling=sp)
print(f"scipy edt 256^3: {time.perf_counter() - t:.3f} s")

import surface_distance as sd
if not hasattr(np, "Inf"):
    np.Inf = np.inf
t = time.perf_counter()
s = sd.compute_surface_distances(ref, pred, sp)
hd95 = sd.compute_robust_hausdorff(s, 95)
nsd = sd.compute_surface_dice_at_tolerance(s, 2.0)
print(f"surface-distance HD95+NSD: {time.perf_counter() - t:.3f} s  HD95 {hd95} NSD {nsd}")

import torch
from monai.metrics import compute_hausdorff_distance, compute_surface_dice
yt = torch.from_numpy(np.stack([~ref, ref])[None].astype(np.float32))
yp = torch.from_numpy(np.stack([~pred, pred])[None].astype(np.float32))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t = time.perf_counter()
    hd = compute_hausdorff_distance(yp, yt, percentile=95, spacing=list(sp)).item()
    nsd = compute_surface_dice(yp, yt, class_thresholds=[2.0], spacing=list(sp)).item()
    print(f"MONAI HD95+NSD: {time.perf_counter() - t:.3f} s  HD95 {hd} NSD {nsd}")
