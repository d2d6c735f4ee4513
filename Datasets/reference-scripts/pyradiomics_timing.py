"""Side-by-side timing and agreement check: PyRadiomics on a 128^3 volume with a 64^3 ROI.

Writes /tmp/radiomics-perf/{image,mask}.f32 (+ .json sidecars; little-endian float32, x fastest) for the Swift
performance test (RADIOMICS_PERF_DIR=/tmp/radiomics-perf swift test -c release --filter Performance), times
PyRadiomics (pyradiomics-bhklab 3.1.4: firstorder, shape, glcm, glrlm, glszm, gldm, ngtdm; binWidth 25) on it, and,
if /tmp/radiomics-perf/swift_features.json exists (written by the Swift test), prints the agreement of
shared features. Volume: v = floor(500 + 250 sin(x/5) cos(y/7) + 150 sin(z/6) + hash(x,y,z) % 200), ROI the
block [32, 96)^3, spacing 1 mm.

Run: /tmp/radiomics-venv/bin/python reference-scripts/pyradiomics_timing.py
"""
import json, os, time, logging
import numpy as np
import SimpleITK as sitk
import radiomics
from radiomics import featureextractor

logging.getLogger("radiomics").setLevel(logging.ERROR)
d = "/tmp/radiomics-perf"
os.makedirs(d, exist_ok=True)
n = 128
z, y, x = np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij")
h = ((x * 73856093) ^ (y * 19349663) ^ (z * 83492791)) % 200
img = np.floor(500 + 250 * np.sin(x / 5.0) * np.cos(y / 7.0) + 150 * np.sin(z / 6.0) + h).astype(np.float32)
mask = np.zeros_like(img)
mask[32:96, 32:96, 32:96] = 1
for arr, stem in ((img, "image"), (mask, "mask")):
    arr.astype("<f4").tofile(os.path.join(d, stem + ".f32"))
    json.dump({"size": [n, n, n], "spacing": [1.0, 1.0, 1.0], "origin": [0.0, 0.0, 0.0]}, open(os.path.join(d, stem + ".json"), "w"))

extractor = featureextractor.RadiomicsFeatureExtractor(binWidth=25, label=1)
extractor.disableAllFeatures()
for cls in ["firstorder", "shape", "glcm", "glrlm", "glszm", "gldm", "ngtdm"]:
    extractor.enableFeatureClassByName(cls)
im, mk = sitk.GetImageFromArray(img), sitk.GetImageFromArray(mask.astype(np.uint8))
t0 = time.perf_counter()
res = extractor.execute(im, mk)
t1 = time.perf_counter()
values = {k[len("original_"):]: float(v) for k, v in res.items() if k.startswith("original_")}
print(f"PyRadiomics {radiomics.__version__}: {len(values)} features in {t1 - t0:.2f} s")
json.dump(values, open(os.path.join(d, "pyradiomics_features.json"), "w"), indent=1, sort_keys=True)
sw = os.path.join(d, "swift_features.json")
if os.path.exists(sw):
    ours = json.load(open(sw))
    worst = 0.0
    for k, v in sorted(ours.items()):
        ref = values[k]
        rel = abs(v - ref) / max(abs(ref), 1e-12)
        worst = max(worst, rel)
        print(f"  {k:45s} ours {v:.10g}  PyRadiomics {ref:.10g}  rel {rel:.2e}")
    print(f"  {len(ours)} features compared, worst relative difference {worst:.2e}")
