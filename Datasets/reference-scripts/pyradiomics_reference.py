"""PyRadiomics reference values for the PyRadiomics-compatible preset of MedGrid's radiomics extractor.

Builds a small deterministic synthetic case (24 x 22 x 20 voxels, spacing 0.8 x 0.9 x 1.5 mm, integer
intensities 0..~430, a notched ellipsoid mask), writes it as raw little-endian float32 (x fastest) with a
JSON sidecar to Tests/MedGridImagingTests/Reference/pyradiomics/{case_image,case_mask}.{f32,json}, and runs
PyRadiomics (package pyradiomics-bhklab 3.1.4, imported as `radiomics`; SimpleITK, numpy) with all
original-image feature classes, binWidth 25, no resampling, no normalisation, writing every feature value to
Tests/MedGridImagingTests/Reference/pyradiomics/pyradiomics_features.json.

Run (from the package root):  /tmp/radiomics-venv/bin/python reference-scripts/pyradiomics_reference.py
(/tmp/radiomics-venv: python3 -m venv, pip install pyradiomics-bhklab nibabel scikit-image)
"""
import json, os, logging
import numpy as np
import SimpleITK as sitk
import radiomics
from radiomics import featureextractor

logging.getLogger("radiomics").setLevel(logging.ERROR)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "MedGridImagingTests", "Reference", "pyradiomics")
os.makedirs(out, exist_ok=True)

nx, ny, nz = 24, 22, 20
spacing = (0.8, 0.9, 1.5)
z, y, x = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
noise = ((x * 73856093) ^ (y * 19349663) ^ (z * 83492791)) % 60
img = np.floor(100 + 150 * np.sin(x / 3.0) * np.cos(y / 4.0) + 40 * z / 3.0 + noise).astype(np.float32)
img = np.clip(img, 0, None)
mask = ((((x - 12) / 8.0) ** 2 + ((y - 11) / 7.0) ** 2 + ((z - 10) / 6.0) ** 2) <= 1.0).astype(np.float32)
mask[(x > 15) & (y < 8)] = 0  # a notch so the ROI is not convex

def save(arr, stem):
    with open(os.path.join(out, stem + ".f32"), "wb") as f:
        f.write(arr.astype("<f4").tobytes())  # C order over (z, y, x): x fastest
    with open(os.path.join(out, stem + ".json"), "w") as f:
        json.dump({"size": [nx, ny, nz], "spacing": list(spacing), "origin": [0.0, 0.0, 0.0]}, f)

save(img, "case_image")
save(mask, "case_mask")

def to_sitk(arr):
    im = sitk.GetImageFromArray(arr)
    im.SetSpacing(spacing)
    return im

extractor = featureextractor.RadiomicsFeatureExtractor(binWidth=25, label=1)
extractor.disableAllFeatures()
for cls in ["firstorder", "shape", "glcm", "glrlm", "glszm", "gldm", "ngtdm"]:
    extractor.enableFeatureClassByName(cls)
res = extractor.execute(to_sitk(img), to_sitk(mask.astype(np.uint8)))
values = {k[len("original_"):]: float(v) for k, v in res.items() if k.startswith("original_")}
with open(os.path.join(out, "pyradiomics_features.json"), "w") as f:
    json.dump({"pyradiomics_version": radiomics.__version__, "binWidth": 25, "features": values}, f, indent=1, sort_keys=True)
print(len(values), "features; ROI voxels", int(mask.sum()))
