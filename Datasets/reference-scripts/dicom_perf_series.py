"""Writes a large synthetic CT series for the DICOM reader's performance check (not a reference file).

200 slices of 512 x 512 int16, explicit VR little endian, RescaleIntercept -1024, axial, 1.25 mm apart,
into /tmp/dicom-perf/ (about 100 MB). pydicom 3.0.2, numpy 2.4.6.
Run:  /tmp/ref-venv/bin/python reference-scripts/dicom_perf_series.py
then: DICOM_PERF_DIR=/tmp/dicom-perf swift test -c release -Xswiftc -enable-testing --filter DICOMPerformance
"""
import os
import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

out = "/tmp/dicom-perf"
os.makedirs(out, exist_ok=True)
series, study = generate_uid(), generate_uid()
rng = np.random.default_rng(1)
for k in range(200):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID; ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"; ds.StudyInstanceUID = study; ds.SeriesInstanceUID = series; ds.InstanceNumber = k + 1
    ds.ImagePositionPatient = ["-250", "-250", f"{1.25 * k:.2f}"]; ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PixelSpacing = ["0.9765625", "0.9765625"]; ds.SliceThickness = "1.25"
    ds.Rows = ds.Columns = 512; ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 1
    ds.RescaleSlope, ds.RescaleIntercept = "1", "-1024"
    ds.PixelData = rng.integers(0, 2048, size=(512, 512)).astype("<i2").tobytes()
    ds.save_as(os.path.join(out, "slice%03d.dcm" % ((k * 37) % 200)), enforce_file_format=True)
print("wrote", out)
