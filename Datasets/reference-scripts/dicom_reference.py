"""Reference data for the MedGrid DICOM reader (Sources/MedGridImaging/DICOM).

What it does
  1. Copies small public test files shipped inside pydicom (pydicom/data/test_files, MIT licence) into
     Tests/MedGridImagingTests/Reference/dicom/files/.
  2. Writes synthetic series with pydicom into Reference/dicom/synthetic/:
     - ct_oblique/: 6-slice CT, explicit VR LE, int16 signed, RescaleSlope 1 / Intercept -1024,
       PixelPaddingValue -2000 (some voxels padded), oblique ImageOrientationPatient, file names shuffled
       relative to slice order (so reading must sort by position along the normal).
     - two_series/: two 3-slice series (different SeriesInstanceUID) in one folder.
     - nonuniform/: 4 slices with one slice missing (gaps 2, 2, 4 mm).
     - enhanced_ct.dcm: enhanced CT multi-frame (5 frames, frames stored out of order, per-frame
       PlanePosition + PixelValueTransformation (slope differs per frame), shared PixelMeasures +
       PlaneOrientation).
     - mf_signed12.dcm / mf_signed12_rle.dcm / mf_signed12_implicit.dcm / mf_signed12_bigendian.dcm /
       mf_signed12_deflated.dcm: classic 3-frame multi-frame, BitsStored 12, HighBit 11, signed,
       SpacingBetweenSlices 2.5, in five transfer syntaxes (RLE encoded by pydicom's own encoder).
     - u12_highbit11.dcm / u12_highbit15.dcm: unsigned BitsStored 12 with garbage in the top 4 bits, HighBit
       11 and 15 (both libraries read the low 12 bits and ignore HighBit).
  3. Writes expected.json: for every file/series the size (x, y, z), spacing, origin, direction (LPS,
     row-major 3x3, columns = row cosine, column cosine, normal) and voxel values in real units
     (stored * slope + intercept; padding voxels as null = NaN, the MedGrid convention).
     Geometry and voxels come from SimpleITK (ReadImage / ImageSeriesReader) where SimpleITK reads the
     data correctly ("geometrySource": "SimpleITK"); otherwise (enhanced multi-frame, which SimpleITK
     reads without per-frame positions or spacing, and the big endian 32-bit RT dose, whose pixels SimpleITK
     misreads) from pydicom + numpy following the DICOM definitions ("geometrySource": "pydicom"). Voxel values always agree between the two where both read
     the file (checked here; the script fails otherwise).

Library versions used: pydicom 3.0.2, SimpleITK 2.5.7, numpy 2.4.6 (Python 3.11).
Run:  /tmp/ref-venv/bin/python reference-scripts/dicom_reference.py   (from /work/scratch/dicom)
"""
import json, os, random, shutil, copy
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian,
                         DeflatedExplicitVRLittleEndian, RLELossless)
from pydicom.uid import generate_uid as pydicom_generate_uid
import SimpleITK as sitk

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "MedGridImagingTests", "Reference", "dicom")
FILES = os.path.join(ROOT, "files")
SYN = os.path.join(ROOT, "synthetic")
TESTDATA = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
COPIED = ["CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_RLE.dcm",
          "MR_small_padded.dcm", "image_dfl.dcm", "rtdose.dcm", "rtdose_rle.dcm", "rtdose_expb.dcm",
          "nested_priv_SQ.dcm", "JPEG2000.dcm", "JPEG-lossy.dcm", "MR_small_jpeg_ls_lossless.dcm", "SC_rgb_rle.dcm",
          "MR_truncated.dcm", "liver_1frame.dcm"]


_uid_counter = [0]


def new_uid():
    """Deterministic UIDs (pydicom's hash-of-entropy-sources form), so reruns reproduce the same files."""
    _uid_counter[0] += 1
    return pydicom_generate_uid(entropy_srcs=["medgrid-dicom-reference", str(_uid_counter[0])])


def norm(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def values_real(arr, slope, intercept, pad_mask):
    out = arr.astype(np.float64) * slope + intercept
    out = out.astype(np.float32).astype(np.float64)
    out[pad_mask] = np.nan
    return out


def summarize(vox):
    """vox: float array in x-fastest order (numpy z,y,x flattened)."""
    flat = vox.ravel()
    finite = flat[~np.isnan(flat)]
    rng = random.Random(7)
    idx = sorted(rng.sample(range(flat.size), min(256, flat.size)))
    out = {
        "count": int(flat.size), "nanCount": int(np.isnan(flat).sum()),
        "sum": float(finite.sum()), "min": float(finite.min()), "max": float(finite.max()),
        "samples": [[i, None if np.isnan(flat[i]) else float(flat[i])] for i in idx],
    }
    if flat.size <= 20000:
        out["all"] = [None if np.isnan(v) else float(v) for v in flat]
    return out


def sitk_geometry(img):
    return {"size": list(img.GetSize()), "spacing": list(img.GetSpacing()), "origin": list(img.GetOrigin()),
            "direction": list(img.GetDirection())}


def pad_mask_of(ds, raw):
    if "PixelPaddingValue" not in ds:
        return np.zeros(raw.shape, bool)
    p = int(ds.PixelPaddingValue)
    lim = int(ds.PixelPaddingRangeLimit) if "PixelPaddingRangeLimit" in ds else p
    lo, hi = min(p, lim), max(p, lim)
    return (raw >= lo) & (raw <= hi)


def single_file_entry(path, use_sitk=True):
    ds = pydicom.dcmread(path)
    raw = ds.pixel_array
    slope = float(ds.get("RescaleSlope", 1)); inter = float(ds.get("RescaleIntercept", 0))
    frames = int(ds.get("NumberOfFrames", 1))
    if frames == 1:
        raw = raw[np.newaxis]
    vox = values_real(raw, slope, inter, pad_mask_of(ds, raw))
    entry = {"transferSyntax": str(ds.file_meta.TransferSyntaxUID), "values": summarize(vox)}
    if use_sitk:
        img = sitk.ReadImage(path)
        a = sitk.GetArrayFromImage(img).astype(np.float64)
        if a.ndim == 2:
            a = a[np.newaxis]
        pm = pad_mask_of(ds, raw)
        assert a.shape == vox.shape, (path, a.shape, vox.shape)
        assert np.array_equal(np.where(pm, 0, a.astype(np.float32)), np.where(pm, 0, vox.astype(np.float32))), path
        entry.update(sitk_geometry(img)); entry["geometrySource"] = "SimpleITK"
    return entry, ds, raw


def write(ds, path, syntax):
    ds.file_meta.TransferSyntaxUID = syntax
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if syntax == ExplicitVRBigEndian:
        from pydicom.filewriter import dcmwrite
        ds.preamble = b"\0" * 128
        dcmwrite(path, ds, implicit_vr=False, little_endian=False, force_encoding=True)
    else:
        ds.save_as(path, enforce_file_format=True, little_endian=None, implicit_vr=None)


def base_dataset(series_uid, study_uid, sop_class="1.2.840.10008.5.1.4.1.1.2", modality="CT"):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = new_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.PatientName = "Synthetic^Phantom"
    ds.PatientID = "SYN0001"
    ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.1"
    return ds


def ct_slice(series_uid, study_uid, position, row, col, k, rows, cols, rng, pad=True, desc="oblique CT"):
    ds = base_dataset(series_uid, study_uid)
    ds.SeriesDescription = desc
    ds.SeriesNumber = 1
    ds.InstanceNumber = k + 1
    ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
    ds.ImageOrientationPatient = [f"{v:.8f}" for v in list(row) + list(col)]
    ds.PixelSpacing = ["0.7", "0.6"]  # row spacing 0.7, column spacing 0.6
    ds.SliceThickness = "2.0"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = "1", "-1024"
    arr = rng.integers(0, 3000, size=(rows, cols)).astype(np.int16)
    arr[0, :] = np.arange(cols) + 100 * k  # makes slices distinguishable
    if pad:
        ds.PixelPaddingValue = -2000  # SS, since PixelRepresentation is 1
        arr[rows - 1, : cols // 2] = -2000
    ds.PixelData = arr.tobytes()
    return ds


def series_entry(folder, series_uid=None):
    reader = sitk.ImageSeriesReader()
    names = reader.GetGDCMSeriesFileNames(folder, series_uid) if series_uid else reader.GetGDCMSeriesFileNames(folder)
    reader.SetFileNames(names)
    img = reader.Execute()
    a = sitk.GetArrayFromImage(img).astype(np.float64)
    # Padding: voxels whose stored value is the padding value become NaN (MedGrid convention).
    raws = [pydicom.dcmread(n) for n in names]
    pm = np.stack([pad_mask_of(d, d.pixel_array) for d in raws])
    a[pm] = np.nan
    entry = {"values": summarize(a)}
    entry.update(sitk_geometry(img)); entry["geometrySource"] = "SimpleITK ImageSeriesReader"
    entry["sortedFiles"] = [os.path.basename(n) for n in names]
    return entry


def main():
    if os.path.isdir(ROOT):
        for sub in ("files", "synthetic"):
            shutil.rmtree(os.path.join(ROOT, sub), ignore_errors=True)
    os.makedirs(FILES); os.makedirs(SYN)
    for n in COPIED:
        shutil.copy(os.path.join(TESTDATA, n), os.path.join(FILES, n))
    expected = {"files": {}, "series": {}}

    # 1. pydicom's files that SimpleITK reads correctly.
    for n in ["CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_RLE.dcm",
              "MR_small_padded.dcm", "image_dfl.dcm", "rtdose.dcm", "rtdose_rle.dcm"]:
        entry, _, _ = single_file_entry(os.path.join(FILES, n))
        expected["files"][n] = entry
    # rtdose_expb.dcm: SimpleITK misreads the 32-bit big-endian pixel data; values from pydicom, geometry
    # equals rtdose.dcm's (same dataset, other transfer syntax).
    entry, ds, _ = single_file_entry(os.path.join(FILES, "rtdose_expb.dcm"), use_sitk=False)
    for k in ("size", "spacing", "origin", "direction"):
        entry[k] = expected["files"]["rtdose.dcm"][k]
    entry["geometrySource"] = "SimpleITK on rtdose.dcm (same data set)"
    expected["files"]["rtdose_expb.dcm"] = entry

    # 2. Synthetic oblique CT series, shuffled file names.
    rng = np.random.default_rng(2024)
    row = norm([0.9, 0.3, 0.1]); tmp = norm([-0.2, 0.8, 0.4]); col = norm(tmp - np.dot(tmp, row) * row)
    row = np.round(row, 8); col = np.round(col, 8)
    normal = np.cross(row, col)
    study = new_uid(); series = new_uid()
    origin = np.array([-120.5, 34.25, 80.0])
    names = ["f%d.dcm" % i for i in [3, 0, 5, 1, 4, 2]]  # file name order differs from slice order
    folder = os.path.join(SYN, "ct_oblique"); os.makedirs(folder)
    for k in range(6):
        pos = origin + 2.5 * k * normal
        ds = ct_slice(series, study, pos, row, col, k, 12, 10, rng)
        write(ds, os.path.join(folder, names[k]), ExplicitVRLittleEndian)
    expected["series"]["ct_oblique"] = series_entry(folder)

    # 3. Two series in one folder.
    folder = os.path.join(SYN, "two_series"); os.makedirs(folder)
    uids = [new_uid(), new_uid()]
    for s, uid in enumerate(uids):
        for k in range(3):
            ds = ct_slice(uid, study, [0, 0, 3.0 * k + 100 * s], [1, 0, 0], [0, 1, 0], k, 8, 8, rng, pad=False,
                          desc="series %d" % s)
            write(ds, os.path.join(folder, "s%d_%d.dcm" % (s, k)), ExplicitVRLittleEndian)
    for s, uid in enumerate(uids):
        e = series_entry(folder, uid); e["seriesUID"] = uid
        expected["series"]["two_series_%d" % s] = e

    # 4. Non-uniform spacing (slice at z=6 missing).
    folder = os.path.join(SYN, "nonuniform"); os.makedirs(folder)
    uid = new_uid()
    for k, z in enumerate([0.0, 2.0, 4.0, 8.0]):
        write(ct_slice(uid, study, [0, 0, z], [1, 0, 0], [0, 1, 0], k, 6, 6, rng, pad=False),
              os.path.join(folder, "n%d.dcm" % k), ExplicitVRLittleEndian)

    # 5. Classic multi-frame, BitsStored 12 signed, five transfer syntaxes.
    ds = base_dataset(new_uid(), study, sop_class="1.2.840.10008.5.1.4.1.1.4", modality="MR")
    ds.Rows, ds.Columns, ds.NumberOfFrames = 7, 9, 3
    ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 1
    ds.ImagePositionPatient = ["10", "-20", "30"]
    ds.ImageOrientationPatient = ["0", "1", "0", "0", "0", "-1"]  # sagittal
    ds.PixelSpacing = ["1.25", "0.75"]
    ds.SpacingBetweenSlices = "2.5"; ds.SliceThickness = "2.0"
    ds.RescaleSlope = "0.5"; ds.RescaleIntercept = "3"
    vals = rng.integers(-2048, 2048, size=(3, 7, 9)).astype(np.int16)
    vals[0, 0, :4] = [-2048, -1, 0, 2047]
    stored = (vals.astype(np.int32) & 0x0FFF).astype(np.uint16)  # 12-bit two's complement, high bits zero
    ds.PixelData = stored.astype("<u2").tobytes()
    mf = {}
    for name, syntax in [("mf_signed12.dcm", ExplicitVRLittleEndian), ("mf_signed12_implicit.dcm", ImplicitVRLittleEndian),
                         ("mf_signed12_deflated.dcm", DeflatedExplicitVRLittleEndian)]:
        write(copy.deepcopy(ds), os.path.join(SYN, name), syntax)
    be = copy.deepcopy(ds); be.PixelData = stored.astype(">u2").tobytes(); be["PixelData"].VR = "OW"
    write(be, os.path.join(SYN, "mf_signed12_bigendian.dcm"), ExplicitVRBigEndian)
    rle = copy.deepcopy(ds); rle.compress(RLELossless, encoding_plugin="pydicom", generate_instance_uid=False)
    rle.save_as(os.path.join(SYN, "mf_signed12_rle.dcm"), enforce_file_format=True)
    normal = np.cross([0, 1, 0], [0, 0, -1]).astype(float)
    for name in ["mf_signed12.dcm", "mf_signed12_implicit.dcm", "mf_signed12_deflated.dcm",
                 "mf_signed12_bigendian.dcm", "mf_signed12_rle.dcm"]:
        d = pydicom.dcmread(os.path.join(SYN, name))
        assert np.array_equal(d.pixel_array, vals), name  # pydicom sign-extends 12-bit stored values
        entry, _, _ = single_file_entry(os.path.join(SYN, name))  # SimpleITK reads classic multi-frame correctly
        assert np.allclose(entry["origin"], [10, -20, 30]) and np.allclose(entry["spacing"], [0.75, 1.25, 2.5])
        assert np.allclose(entry["direction"], [0, 0, normal[0], 1, 0, normal[1], 0, -1, normal[2]])
        expected["files"]["synthetic/" + name] = entry

    # 5b. Unsigned 12-bit with garbage in the unused top bits; HighBit 11 and (non-standard) 15. Both pydicom and
    #     SimpleITK read the low 12 bits and ignore HighBit.
    for name, high in [("u12_highbit11.dcm", 11), ("u12_highbit15.dcm", 15)]:
        ds = base_dataset(new_uid(), study, sop_class="1.2.840.10008.5.1.4.1.1.4", modality="MR")
        ds.Rows, ds.Columns = 4, 4
        ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, high, 0
        ds.ImagePositionPatient = ["0", "0", "0"]; ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.PixelSpacing = ["1", "1"]
        ds.PixelData = np.array([0xF123, 0x0FFF, 0, 0x8001, 0x1000, 0xFFFF, 0x7ABC, 0x0ABC] * 2, "<u2").tobytes()
        write(ds, os.path.join(SYN, name), ExplicitVRLittleEndian)
        entry, _, _ = single_file_entry(os.path.join(SYN, name))
        expected["files"]["synthetic/" + name] = entry

    # 6. Enhanced CT multi-frame: frames stored out of order, per-frame rescale.
    ds = base_dataset(new_uid(), study, sop_class="1.2.840.10008.5.1.4.1.1.2.1")
    ds.Rows, ds.Columns, ds.NumberOfFrames = 5, 6, 5
    ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    row = np.array([1.0, 0.0, 0.0]); col = np.array([0.0, 0.8, -0.6]); normal = np.cross(row, col)
    shared = Dataset()
    pm = Dataset(); pm.PixelSpacing = ["0.9", "0.4"]; pm.SliceThickness = "3"; pm.SpacingBetweenSlices = "3"
    po = Dataset(); po.ImageOrientationPatient = [f"{v:.6f}" for v in list(row) + list(col)]
    shared.PixelMeasuresSequence = Sequence([pm]); shared.PlaneOrientationSequence = Sequence([po])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    order = [2, 0, 4, 1, 3]  # stored frame f holds slice order[f]
    base = np.array([5.0, -7.5, 12.0])
    per = []
    frames = rng.integers(0, 4000, size=(5, 5, 6)).astype(np.uint16)
    slopes = [1.0, 2.0, 0.5, 1.5, 1.0]
    for f in range(5):
        item = Dataset()
        pp = Dataset(); pp.ImagePositionPatient = [f"{v:.6f}" for v in base + 3.0 * order[f] * normal]
        pv = Dataset(); pv.RescaleSlope = f"{slopes[f]}"; pv.RescaleIntercept = "-100"; pv.RescaleType = "HU"
        item.PlanePositionSequence = Sequence([pp]); item.PixelValueTransformationSequence = Sequence([pv])
        per.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per)
    ds.PixelData = frames.astype("<u2").tobytes()
    write(ds, os.path.join(SYN, "enhanced_ct.dcm"), ExplicitVRLittleEndian)
    d = pydicom.dcmread(os.path.join(SYN, "enhanced_ct.dcm"))
    raw = d.pixel_array
    real = np.stack([raw[f].astype(np.float64) * slopes[f] - 100 for f in range(5)])
    by_slice = np.empty_like(real)
    for f in range(5):
        by_slice[order[f]] = real[f]
    expected["files"]["synthetic/enhanced_ct.dcm"] = {
        "transferSyntax": str(d.file_meta.TransferSyntaxUID), "values": summarize(by_slice),
        "size": [6, 5, 5], "spacing": [0.4, 0.9, 3.0], "origin": list(base),
        "direction": [row[0], col[0], normal[0], row[1], col[1], normal[1], row[2], col[2], normal[2]],
        "geometrySource": "pydicom (DICOM definitions: frames sorted by per-frame IPP along the normal)"}

    with open(os.path.join(ROOT, "expected.json"), "w") as fh:
        json.dump(expected, fh, separators=(",", ":"))
    print("wrote", os.path.join(ROOT, "expected.json"))


if __name__ == "__main__":
    main()
