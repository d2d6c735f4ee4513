#!/usr/bin/env python3
"""Create the NIfTI fixtures and expected statistics used by MedGridKernelTests.

Writes into Tests/MedGridKernelTests/Reference/stats/:
  ct_int16_scaled.nii.gz  int16, scl_slope 0.5, scl_inter -1024, anisotropic, rotated sform (qform_code 0)
  mr_float32_be.nii       float32 big-endian, uncompressed, rotated qform with qfac -1 (sform_code 0),
                          scl_slope NaN (= no scaling)
  mask_uint8.nii.gz       uint8, same grid as the CT; label 1 = a sphere, label 2 = a box; scl_slope 0
  expected.json           statistics (numpy) and geometry (SimpleITK, LPS)

Headers are built with nibabel's Nifti1Header and the voxel bytes are written by this script, so the
stored types and scaling fields are exactly as described (nibabel's array writer would re-choose the
scaling). Values are then read back with nibabel (statistics) and SimpleITK (geometry), and the two
readers' geometries are cross-checked. gzip output uses mtime 0 so reruns are byte-identical.

Usage:  python3 Datasets/reference-scripts/make_stats_reference.py   (from the repository root)
"""
import gzip
import io
import json
import math
import platform
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "MedGridKernelTests" / "Reference" / "stats"
PERCENTILES = [5, 25, 50, 75, 95, 97.5]


def rotation(axis, degrees):
    t = math.radians(degrees)
    c, s = math.cos(t), math.sin(t)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def affine(rot, spacing, offset):
    a = np.eye(4)
    a[:3, :3] = rot @ np.diag(spacing)
    a[:3, 3] = offset
    return a


def write_nifti(path, header, raw):
    """header: Nifti1Header; raw: numpy array already in the on-disk dtype/byte order (x fastest)."""
    header["vox_offset"] = 352
    blob = header.binaryblock + b"\0\0\0\0" + np.asarray(raw).tobytes(order="F")
    if path.suffix == ".gz":
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as f:
            f.write(blob)
        blob = buf.getvalue()
    path.write_bytes(blob)


def make_header(shape, dtype, endianness="<"):
    h = nib.Nifti1Header(endianness=endianness)
    h.set_data_shape(shape)
    h.set_data_dtype(dtype)
    h.set_xyzt_units("mm")
    return h


def stats(values, spacing):
    v = np.asarray(values, dtype=np.float64).ravel()
    out = {"voxelCount": int(v.size), "volumeMM3": float(v.size * float(np.prod(spacing)))}
    if v.size == 0:
        return out | {"percentiles": {}}
    out |= {
        "mean": float(np.mean(v)),
        "std": float(np.std(v, ddof=0)),
        "min": float(np.min(v)),
        "max": float(np.max(v)),
    }
    keys = [f"p{p:g}" for p in PERCENTILES]
    vals = np.percentile(v, PERCENTILES, method="linear")
    out["percentiles"] = {k: float(x) for k, x in zip(keys, vals)}
    return out


def geometry(path, stored_type):
    img = sitk.ReadImage(str(path))
    g = {
        "size": list(img.GetSize()),
        "spacing": list(img.GetSpacing()),
        "origin": list(img.GetOrigin()),
        "direction": list(img.GetDirection()),
        "storedType": stored_type,
    }
    # Cross-check against nibabel's affine converted RAS -> LPS (negate the first two rows).
    nimg = nib.load(str(path))
    a = nimg.affine.copy()
    a[:2, :] *= -1
    zooms = np.array(nimg.header.get_zooms()[:3], dtype=np.float64)
    assert np.allclose(a[:3, 3], g["origin"], atol=1e-4), (path, a[:3, 3], g["origin"])
    assert np.allclose(a[:3, :3] / zooms, np.reshape(g["direction"], (3, 3)), atol=1e-5), path
    assert np.allclose(zooms, g["spacing"], atol=1e-6), path
    return g


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240611)

    # (a) CT: int16 stored, real = 0.5 * stored - 1024.
    shape = (40, 36, 12)
    ct_spacing = (0.7, 0.9, 3.0)
    x, y, z = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    hu = np.full(shape, -1000.0)
    body = ((x - 19.5) / 17) ** 2 + ((y - 17.5) / 13) ** 2 <= 1
    hu[body] = 40
    hu[((x - 20) ** 2 + (y - 25) ** 2) <= 9] = 700
    hu += rng.normal(0, 12, shape)
    stored = np.clip(np.rint((hu + 1024) / 0.5), -32768, 32767).astype("<i2")
    ct_affine = affine(rotation("z", 20) @ rotation("x", 10), ct_spacing, (-12.5, 30.25, -40.0))
    h = make_header(shape, np.int16)
    h.set_zooms(ct_spacing)
    h.set_sform(ct_affine, code=1)
    h.set_qform(None, code=0)
    h["scl_slope"], h["scl_inter"] = 0.5, -1024
    write_nifti(OUT / "ct_int16_scaled.nii.gz", h, stored)

    # (c) mask on the CT grid: 1 = sphere, 2 = box; scl_slope 0 means "no scaling".
    mask = np.zeros(shape, dtype=np.uint8)
    mask[((x - 14) ** 2 + (y - 15) ** 2 + ((z - 6) * 3.0 / 0.7) ** 2) <= 36] = 1
    mask[26:31, 10:14, 3:8] = 2
    h = make_header(shape, np.uint8)
    h.set_zooms(ct_spacing)
    h.set_sform(ct_affine, code=1)
    h.set_qform(None, code=0)
    h["scl_slope"], h["scl_inter"] = 0, 0
    write_nifti(OUT / "mask_uint8.nii.gz", h, mask)

    # (b) MR: float32 big-endian, qform only, improper rotation (qfac -1), scl_slope NaN.
    mshape = (32, 30, 10)
    mr_spacing = (1.1, 1.1, 4.0)
    mx, my, mz = np.meshgrid(*(np.arange(n) for n in mshape), indexing="ij")
    mr = 300 + 4.0 * mx - 2.5 * my + 9.0 * mz + rng.normal(0, 15, mshape)
    mr = mr.astype(np.float32)
    flip = np.diag([1.0, 1.0, -1.0])
    mr_affine = affine(rotation("y", 15) @ flip, mr_spacing, (80.0, -95.5, 20.0))
    h = make_header(mshape, np.float32, endianness=">")
    h.set_qform(mr_affine, code=1)
    h.set_zooms(mr_spacing)
    h.set_sform(None, code=0)
    h["scl_slope"], h["scl_inter"] = np.nan, np.nan
    write_nifti(OUT / "mr_float32_be.nii", h, mr.astype(">f4"))

    files = {
        "ct_int16_scaled.nii.gz": "int16",
        "mr_float32_be.nii": "float32",
        "mask_uint8.nii.gz": "uint8",
    }
    volumes = {name: geometry(OUT / name, t) for name, t in files.items()}

    ct = nib.load(str(OUT / "ct_int16_scaled.nii.gz")).get_fdata(dtype=np.float64)
    mk = np.asarray(nib.load(str(OUT / "mask_uint8.nii.gz")).dataobj)
    mrv = nib.load(str(OUT / "mr_float32_be.nii")).get_fdata(dtype=np.float64)
    assert np.array_equal(ct, stored.astype(np.float64) * 0.5 - 1024)
    ct_sp, mr_sp = volumes["ct_int16_scaled.nii.gz"]["spacing"], volumes["mr_float32_be.nii"]["spacing"]
    cases = [
        ("ct_whole", "ct_int16_scaled.nii.gz", None, None, stats(ct, ct_sp)),
        ("ct_in_mask", "ct_int16_scaled.nii.gz", "mask_uint8.nii.gz", None, stats(ct[mk > 0], ct_sp)),
        ("ct_label_2", "ct_int16_scaled.nii.gz", "mask_uint8.nii.gz", 2, stats(ct[mk == 2], ct_sp)),
        ("mr_whole", "mr_float32_be.nii", None, None, stats(mrv, mr_sp)),
    ]
    expected = {
        "conventions": {
            "geometry": "ITK/LPS as reported by SimpleITK; direction is 3x3 row-major",
            "std": "population (ddof=0)",
            "percentiles": "numpy.percentile method='linear' (R type 7) on float64 values",
            "mask": "voxel selected when mask > 0, or mask == label when label is given",
        },
        "tools": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "nibabel": nib.__version__,
            "SimpleITK": sitk.Version_VersionString(),
        },
        "volumes": volumes,
        "statistics": [
            {"name": n, "image": i, "mask": m, "label": l} | s for n, i, m, l, s in cases
        ],
    }
    (OUT / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")
    for p in sorted(OUT.iterdir()):
        print(f"{p.name}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
