"""Convert the IBSI-1 digital phantom NIfTI files to raw little-endian float32 + JSON sidecar.

Reads Tests/MedGridImagingTests/Reference/ibsi/{phantom,mask}.nii.gz with nibabel and writes
{phantom,mask}.f32 (voxels x fastest, then y, then z, as stored in the NIfTI array, scl_slope applied)
and {phantom,mask}.json with "size" [nx,ny,nz], "spacing" (pixdim 1..3, mm) and "origin" (the qform/sform
translation converted to LPS: first two components negated). The original NIfTI files are kept.

Library versions: nibabel 5.x, numpy 2.x (from /tmp/ref-venv).
Run: /tmp/ref-venv/bin/python reference-scripts/convert_ibsi_phantom.py   (from the package root)
"""
import json, os, sys
import numpy as np
import nibabel as nib

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "MedGridImagingTests", "Reference", "ibsi")
for name in ("phantom", "mask"):
    img = nib.load(os.path.join(here, name + ".nii.gz"))
    data = np.asarray(img.get_fdata(), dtype="<f4")
    assert data.ndim == 3
    # NIfTI arrays are indexed [i, j, k] with i fastest on disk: Fortran order gives x fastest.
    raw = data.flatten(order="F").astype("<f4").tobytes()
    with open(os.path.join(here, name + ".f32"), "wb") as f:
        f.write(raw)
    aff = img.affine
    origin = [-float(aff[0, 3]), -float(aff[1, 3]), float(aff[2, 3])]
    meta = {"size": [int(s) for s in data.shape], "spacing": [float(z) for z in img.header.get_zooms()[:3]],
            "origin": origin}
    with open(os.path.join(here, name + ".json"), "w") as f:
        json.dump(meta, f)
    print(name, meta, "values:", sorted(set(data.flatten().tolist())))
    for k in range(data.shape[2]):
        print(" slice", k); print(data[:, :, k].T)
