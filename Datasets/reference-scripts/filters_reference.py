"""Reference outputs for MedGrid's volume filters (Sources/MedGridImaging/Filters).

Computes, for three small synthetic volumes (24x20x12 voxels, spacing 0.7 x 0.9 x 2.0 mm, LPS origin
(-12.5, 30.25, 7.0), a non-identity direction), the expected results of:

- Gaussian smoothing: scipy.ndimage.gaussian_filter(sigma = sigma_mm / spacing, truncate, mode)
  (mode 'nearest' and 'reflect', a zero-sigma axis, a kernel longer than the z axis);
  for information, SimpleITK DiscreteGaussian / SmoothingRecursiveGaussian differences go to cases.json;
- median: SimpleITK MedianImageFilter(radius) (cross-checked equal to scipy median_filter mode='nearest');
- resampling: SimpleITK ResampleImageFilter (identity transform, same origin and direction, new spacing,
  size round(size * spacing / newSpacing)) with sitkLinear and sitkNearestNeighbor, default value 0;
- clipping: SimpleITK ClampImageFilter; windowing: SimpleITK IntensityWindowingImageFilter -> [0, 1];
- binary morphology: scipy.ndimage binary_dilation / binary_erosion / binary_opening / binary_closing with
  the explicit ball structuring element (dx*sx)**2 + (dy*sy)**2 + (dz*sz)**2 <= r**2 and border_value 0/1;
  plus SimpleITK BinaryDilate / BinaryErode with a sitkBall kernel (checked to equal the same ball with
  radius 1 mm on spacing 1 / (k + 0.5)).

Volumes are written as raw little-endian float32 (x fastest, then y, then z) with a JSON sidecar holding
size, spacing, origin and direction (LPS, row-major); cases.json lists every case with its parameters.

Versions used: Python 3.11, numpy 2.4.6, scipy 1.17.1, SimpleITK 2.5.7 (ITK 5.4).
Run: /tmp/ref-venv/bin/python reference-scripts/filters_reference.py   (from /work/scratch/filters)
Deterministic: numpy default_rng(20240611); rerunning reproduces every file byte for byte.
"""

import json
import math
import os
import sys

import numpy as np
import scipy
import scipy.ndimage as ndi
import SimpleITK as sitk

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "MedGridImagingTests", "Reference", "filters")
os.makedirs(OUT, exist_ok=True)

SIZE = (24, 20, 12)  # x, y, z
SPACING = (0.7, 0.9, 2.0)
ORIGIN = (-12.5, 30.25, 7.0)
# A rotation of 30 degrees about z, then 10 degrees about x (row-major, columns are the axis directions).
cz, sz_ = math.cos(math.radians(30)), math.sin(math.radians(30))
cx, sx_ = math.cos(math.radians(10)), math.sin(math.radians(10))
RZ = np.array([[cz, -sz_, 0], [sz_, cz, 0], [0, 0, 1]])
RX = np.array([[1, 0, 0], [0, cx, -sx_], [0, sx_, cx]])
DIRECTION = tuple(float(v) for v in (RZ @ RX).reshape(-1))

cases = []


def write_volume(name, array_zyx, spacing=SPACING, origin=ORIGIN, direction=DIRECTION):
    a = np.ascontiguousarray(array_zyx, dtype="<f4")
    nz, ny, nx = a.shape
    with open(os.path.join(OUT, name + ".f32"), "wb") as f:
        f.write(a.tobytes())
    side = {
        "file": name + ".f32",
        "format": "raw little-endian float32, x fastest then y then z",
        "size": [nx, ny, nz],
        "spacing": [float(v) for v in spacing],
        "origin": [float(v) for v in origin],
        "direction": [float(v) for v in direction],
    }
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(side, f, indent=1)
        f.write("\n")
    return name


def write_image(name, image):
    """Writes a SimpleITK image with its own geometry."""
    return write_volume(name, sitk.GetArrayFromImage(image).astype(np.float32), image.GetSpacing(),
                        image.GetOrigin(), image.GetDirection())


def to_sitk(array_zyx, spacing=SPACING):
    img = sitk.GetImageFromArray(np.ascontiguousarray(array_zyx, dtype=np.float32))
    img.SetSpacing(spacing)
    img.SetOrigin(ORIGIN)
    img.SetDirection(DIRECTION)
    return img


# ---------------------------------------------------------------- inputs
rng = np.random.default_rng(20240611)
nx, ny, nz = SIZE
z, y, x = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
px, py, pz = x * SPACING[0], y * SPACING[1], z * SPACING[2]
blob = 100.0 * np.exp(-(((px - 8) / 4.0) ** 2 + ((py - 9) / 5.0) ** 2 + ((pz - 10) / 7.0) ** 2))
noise = (blob + 0.3 * px * py - 2.0 * pz + rng.normal(0.0, 10.0, size=blob.shape)).astype(np.float32)
write_volume("noise", noise)

ints = np.clip(np.round(noise / 10.0 + 3 + rng.integers(-2, 3, size=noise.shape)), 0, 15).astype(np.float32)
ints[ints == 0] = 0.0  # no -0.0 (np.round gives it; -0 and +0 tie in a median, so either may come back)
write_volume("ints", ints)

mask = np.zeros(noise.shape, dtype=bool)
mask |= ((px - 7) / 4.5) ** 2 + ((py - 8) / 5.0) ** 2 + ((pz - 11) / 7.0) ** 2 <= 1.0
mask |= ((px - 15.5) / 2.5) ** 2 + ((py - 15) / 3.5) ** 2 + ((pz - 4) / 5.0) ** 2 <= 1.0  # touches x/z edges
mask |= (px > 12) & (px < 14.5) & (py > 2) & (py < 6) & (pz > 10)  # slab reaching the top z slice
mask ^= rng.random(noise.shape) < 0.03  # speckles and small holes
write_volume("mask", mask.astype(np.float32))

# ---------------------------------------------------------------- Gaussian (scipy)
sitk_img_noise = to_sitk(noise)
for name, sigma_mm, truncate, mode in [
    ("gauss_nearest", (1.0, 1.5, 3.0), 4.0, "nearest"),
    ("gauss_reflect", (1.0, 1.5, 3.0), 4.0, "reflect"),
    ("gauss_reflect_long", (0.7, 2.0, 9.0), 3.0, "reflect"),  # z radius 14 > 12 voxels
    ("gauss_nearest_long", (0.7, 2.0, 9.0), 3.0, "nearest"),
    ("gauss_zero_y", (1.2, 0.0, 2.0), 4.0, "nearest"),
]:
    sigma_vox_zyx = [sigma_mm[2] / SPACING[2], sigma_mm[1] / SPACING[1], sigma_mm[0] / SPACING[0]]
    out = ndi.gaussian_filter(noise, sigma=sigma_vox_zyx, truncate=truncate, mode=mode)
    assert out.dtype == np.float32
    write_volume(name, out)
    info = {}
    if mode == "nearest" and sigma_mm[1] > 0:
        dg = sitk.GetArrayFromImage(sitk.DiscreteGaussian(sitk_img_noise, variance=[s * s for s in sigma_mm],
                                                          maximumKernelWidth=64, maximumError=1e-6,
                                                          useImageSpacing=True))
        rg = sitk.GetArrayFromImage(sitk.SmoothingRecursiveGaussian(sitk_img_noise, sigma=list(sigma_mm)))
        info = {"maxAbsDiffSimpleITKDiscreteGaussian": float(np.max(np.abs(dg - out))),
                "maxAbsDiffSimpleITKSmoothingRecursiveGaussian": float(np.max(np.abs(rg - out))),
                "maxAbsValue": float(np.max(np.abs(out)))}
    cases.append({"name": name, "operation": "gaussian", "input": "noise", "expected": name,
                  "sigmaMM": list(sigma_mm), "truncate": truncate, "boundary": mode,
                  "tolerance": {"relative": 1e-5, "absoluteFloor": 1e-5}, "info": info})

# ---------------------------------------------------------------- median (SimpleITK)
for name, source, arr, radius in [
    ("median_r1_noise", "noise", noise, (1, 1, 1)),
    ("median_r1_ints", "ints", ints, (1, 1, 1)),
    ("median_r211_ints", "ints", ints, (2, 1, 1)),
    ("median_r021_noise", "noise", noise, (0, 2, 1)),
    ("median_r2_noise", "noise", noise, (2, 2, 2)),
]:
    out = sitk.GetArrayFromImage(sitk.Median(to_sitk(arr), [int(r) for r in radius]))
    size_zyx = (2 * radius[2] + 1, 2 * radius[1] + 1, 2 * radius[0] + 1)
    check = ndi.median_filter(arr, size=size_zyx, mode="nearest")
    assert np.array_equal(check, out), name + ": scipy and SimpleITK medians differ"
    write_volume(name, out)
    cases.append({"name": name, "operation": "median", "input": source, "expected": name,
                  "radius": list(radius), "tolerance": {"exact": True}})

# ---------------------------------------------------------------- resampling (SimpleITK)
mask_img = to_sitk(mask.astype(np.float32))
for name, source, img, new_spacing, interp in [
    ("resample_linear_iso1", "noise", sitk_img_noise, (1.0, 1.0, 1.0), "linear"),
    ("resample_linear_mixed", "noise", sitk_img_noise, (0.5, 1.2, 0.8), "linear"),
    ("resample_nearest_mixed", "mask", mask_img, (0.5, 1.2, 0.8), "nearest"),
    ("resample_nearest_coarse", "mask", mask_img, (1.0, 1.0, 1.2), "nearest"),
    ("resample_nearest_noise", "noise", sitk_img_noise, (1.0, 1.0, 1.2), "nearest"),
]:
    new_size = [max(1, int(math.floor(n * s / t + 0.5))) for n, s, t in zip(SIZE, SPACING, new_spacing)]
    out = sitk.Resample(img, new_size, sitk.Transform(), sitk.sitkLinear if interp == "linear"
                        else sitk.sitkNearestNeighbor, img.GetOrigin(), new_spacing, img.GetDirection(), 0.0,
                        sitk.sitkFloat32)
    write_image(name, out)
    cases.append({"name": name, "operation": "resample", "input": source, "expected": name,
                  "newSpacing": list(new_spacing), "interpolation": interp,
                  "tolerance": {"absolute": 1e-4} if interp == "linear" else {"exact": True}})

# ---------------------------------------------------------------- clip / window (SimpleITK)
out = sitk.GetArrayFromImage(sitk.Clamp(sitk_img_noise, sitk.sitkFloat32, -5.0, 42.5))
write_volume("clip", out)
cases.append({"name": "clip", "operation": "clip", "input": "noise", "expected": "clip",
              "lower": -5.0, "upper": 42.5, "tolerance": {"exact": True}})
level, width = 20.0, 60.0
out = sitk.GetArrayFromImage(sitk.IntensityWindowing(sitk_img_noise, level - width / 2, level + width / 2, 0.0, 1.0))
write_volume("window", out)
cases.append({"name": "window", "operation": "window", "input": "noise", "expected": "window",
              "level": level, "width": width, "tolerance": {"absolute": 1e-6}})


# ---------------------------------------------------------------- morphology (scipy, SimpleITK)
def ball(radius_mm, spacing):
    """Ball structuring element as a [z, y, x] boolean array (the MedGrid definition)."""
    reach = [int(math.floor(radius_mm / s)) + 1 for s in spacing]
    dz, dy, dx = np.meshgrid(*[np.arange(-r, r + 1) for r in reach[::-1]], indexing="ij")
    inside = (dx * spacing[0]) ** 2 + (dy * spacing[1]) ** 2 + (dz * spacing[2]) ** 2 <= radius_mm ** 2
    zz, yy, xx = np.nonzero(inside)
    return inside[zz.min():zz.max() + 1, yy.min():yy.max() + 1, xx.min():xx.max() + 1]


for radius in (2.1, 4.0):
    st = ball(radius, SPACING)
    tag = str(radius).replace(".", "p")
    ops = [
        ("dilate", "background", lambda m: ndi.binary_dilation(m, st)),
        ("erode", "background", lambda m: ndi.binary_erosion(m, st, border_value=0)),
        ("erode", "foreground", lambda m: ndi.binary_erosion(m, st, border_value=1)),
        ("open", "background", lambda m: ndi.binary_opening(m, st)),
        ("close", "background", lambda m: ndi.binary_closing(m, st)),
        ("open", "foreground", lambda m: ndi.binary_dilation(ndi.binary_erosion(m, st, border_value=1), st)),
        ("close", "foreground", lambda m: ndi.binary_erosion(ndi.binary_dilation(m, st), st, border_value=1)),
    ]
    for op, border, fn in ops:
        name = f"morph_{op}_{border}_r{tag}"
        write_volume(name, fn(mask).astype(np.float32))
        cases.append({"name": name, "operation": "morphology", "input": "mask", "expected": name,
                      "morphology": op, "border": border, "radiusMM": radius, "spacing": list(SPACING),
                      "structuringElementVoxels": int(st.sum()), "tolerance": {"exact": True}})

# SimpleITK ball kernels: radius (kx, ky, kz) voxels == MedGrid ball of 1 mm on spacing 1 / (k + 0.5).
for k in [(1, 1, 1), (2, 1, 1), (3, 2, 1)]:
    equivalent_spacing = tuple(1.0 / (v + 0.5) for v in k)
    probe = np.zeros((2 * k[2] + 3, 2 * k[1] + 3, 2 * k[0] + 3), dtype=np.uint8)
    probe[k[2] + 1, k[1] + 1, k[0] + 1] = 1
    kernel = sitk.GetArrayFromImage(sitk.BinaryDilate(sitk.GetImageFromArray(probe), list(k), sitk.sitkBall))
    mine = ball(1.0, equivalent_spacing)
    assert np.array_equal(kernel[1:-1, 1:-1, 1:-1].astype(bool), mine), f"sitkBall {k} differs from the ball"
    m8 = sitk.Cast(mask_img, sitk.sitkUInt8)
    tag = "".join(str(v) for v in k)
    for op, image in [("dilate", sitk.BinaryDilate(m8, list(k), sitk.sitkBall, 0.0, 1.0)),
                      ("erode", sitk.BinaryErode(m8, list(k), sitk.sitkBall, 0.0, 1.0))]:
        name = f"sitk_{op}_k{tag}"
        write_volume(name, sitk.GetArrayFromImage(image).astype(np.float32))
        cases.append({"name": name, "operation": "morphology", "input": "mask", "expected": name,
                      "morphology": op, "border": "foreground", "radiusMM": 1.0,
                      "spacing": list(equivalent_spacing), "simpleITKKernelRadius": list(k),
                      "structuringElementVoxels": int(mine.sum()), "tolerance": {"exact": True}})

with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump({"tools": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__,
                         "SimpleITK": sitk.Version.VersionString(), "ITK": sitk.Version.ITKVersionString()},
               "cases": cases}, f, indent=1)
    f.write("\n")
print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)}")
