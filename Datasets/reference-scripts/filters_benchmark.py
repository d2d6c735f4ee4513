"""Timing baseline for MedGrid's filter benchmarks: scipy.ndimage and SimpleITK on a 256^3 float32 volume.

Times (best of 3, wall clock) Gaussian smoothing with sigma = 2 mm on 1 mm spacing (scipy gaussian_filter
truncate 4 mode 'nearest'; SimpleITK DiscreteGaussian variance 4 and SmoothingRecursiveGaussian sigma 2) and
the radius-1 median (scipy median_filter size 3 mode 'nearest'; SimpleITK Median radius 1), SimpleITK with 1
thread and with all threads. scipy.ndimage is single-threaded.

Versions: Python 3.11, numpy 2.4.6, scipy 1.17.1, SimpleITK 2.5.7 (ITK 5.4).
Run: /tmp/ref-venv/bin/python reference-scripts/filters_benchmark.py
"""

import os
import time

import numpy as np
import scipy.ndimage as ndi
import SimpleITK as sitk

rng = np.random.default_rng(1)
a = rng.normal(100.0, 20.0, size=(256, 256, 256)).astype(np.float32)
img = sitk.GetImageFromArray(a)


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


rows = [("scipy gaussian_filter sigma 2 truncate 4 nearest", lambda: ndi.gaussian_filter(a, 2.0, mode="nearest")),
        ("scipy median_filter size 3 nearest", lambda: ndi.median_filter(a, size=3, mode="nearest"))]
for threads in (1, os.cpu_count()):
    def with_threads(f, n=threads):
        def run():
            sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(n)
            return f()
        return run
    rows += [
        (f"SimpleITK DiscreteGaussian variance 4 ({threads} thr)",
         with_threads(lambda: sitk.DiscreteGaussian(img, 4.0, 32, 0.01))),
        (f"SimpleITK SmoothingRecursiveGaussian sigma 2 ({threads} thr)",
         with_threads(lambda: sitk.SmoothingRecursiveGaussian(img, 2.0))),
        (f"SimpleITK Median radius 1 ({threads} thr)", with_threads(lambda: sitk.Median(img, [1, 1, 1]))),
    ]
for name, fn in rows:
    print(f"{name:60s} {best(fn):7.3f} s")
