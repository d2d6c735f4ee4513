#!/usr/bin/env python3
"""Reference check of `medgrid dicom deidentify` output against DICOM PS3.15 Annex E (Basic profile).

This is a reference check, run by hand or by a test harness on a machine that has pydicom: it reads
MedGrid's output with an independent DICOM library. pydicom is never a runtime dependency of MedGrid.
It runs with pydicom 2.3 (Debian bookworm's python3-pydicom) and pydicom 3.0, and needs nothing else
(no numpy).

Run `medgrid dicom deidentify` three times over the same inputs:
    medgrid dicom deidentify IN... --out RUN   --key KEY_A
    medgrid dicom deidentify IN... --out SAME  --key KEY_A
    medgrid dicom deidentify IN... --out OTHER --key KEY_B
then
    python3 Datasets/reference-scripts/deidentify_check.py \\
        --table Sources/MedGridImaging/DICOM/BasicProfileTable.swift \\
        --run RUN --same-key SAME --other-key OTHER [--json]

Each DIR must hold .deidentify/summary.json:
    {"files": [{"input": "/abs/in.dcm", "output": "/abs/DIR/x.dcm", "uids": {"<old>": "<new>"}, ...}], ...}
Only files[].input, files[].output and files[].uids are read. Inputs are matched across runs by input path.

What it checks (every failure is reported with run, input file, output file and tag):
  0. summary: DIR/.deidentify/summary.json exists, is valid JSON, has mode 0600, lists the same inputs in
     the three runs, and every output lies under its DIR.
  1. profile: the profile table is parsed from BasicProfileTable.swift (group, element, keyword, action;
     other fields of a row, such as vr:, are ignored).
     The ORIGINAL data set and its file meta group are walked recursively (every sequence item); for every
     element whose tag is in the table and whose original value is not empty, the element at the same
     place in the output (same chain of sequence tag / item index) must be:
       X  absent;
       Z  present with an empty value (None, '', empty sequence);
       D  present, not empty, and different from the original (C is checked the same way);
       U  present; each value starts with "2.25.", is at most 64 characters, differs from the original
          and equals files[].uids[original] of the summary. (The meta's MediaStorageSOPInstanceUID may
          instead be the new UID of the original SOPInstanceUID: a writer may rebuild the meta from the
          data set, and some inputs, e.g. pydicom's rtdose.dcm, have the two differ.)
     If a parent sequence is gone or has fewer items in the output, the element is gone: that passes.
     Values are compared as text (str() of the value; a sequence as the text of its items).
     Original values are never printed.
  2. forbidden: no private element (odd group) anywhere in the output, no curve data (50xx,eeee), no
     overlay data or comments (60xx,3000) / (60xx,4000); searched recursively, file meta included.
  3. markers: PatientIdentityRemoved is "YES", DeidentificationMethod is not empty, and
     DeidentificationMethodCodeSequence has an item with CodeValue "113100", CodingSchemeDesignator "DCM".
  4. pixels: PixelData (and FloatPixelData / DoubleFloatPixelData) bytes of the output equal the input's
     (raw bytes as pydicom gives them: inflated for the deflated transfer syntax, the encapsulated
     stream for compressed ones; byte-swapped first if exactly one of the two is big endian). Rows,
     Columns, BitsAllocated, BitsStored, HighBit, PixelRepresentation, SamplesPerPixel,
     PhotometricInterpretation, NumberOfFrames, RescaleSlope, RescaleIntercept and DoseGridScaling are
     unchanged where the input has them.
  5. uids: (a) within --run, two inputs that share StudyInstanceUID (resp. SeriesInstanceUID,
     FrameOfReferenceUID, SOPInstanceUID) share it in the output and two that differ still differ; the
     summary maps one old UID to one new UID across all files, and two old UIDs never to the same new
     one; SOPInstanceUID equals the meta's MediaStorageSOPInstanceUID in every output.
     (b) --same-key gives the same uids maps, the same Study/Series/SOP Instance UIDs, and byte-identical
     output files. (c) --other-key maps every old UID of --run to a different new UID, and its
     Study/Series/SOP Instance / Frame of Reference UIDs all differ from --run's.
  6. readable: every output file has the DICM prefix, a file meta group, is read by pydicom with every
     element parsed, and its SOPClassUID (and MediaStorageSOPClassUID) equals the input's SOPClassUID.
Checks 1-4 and 6 run on the outputs of --run and --other-key, and on --same-key's where they are not
byte-identical to --run's.

Output: a short text summary and one line per failure, or with --json one JSON object
{"files": N, "checked_elements": N, "failures": [...]} where files counts the inputs of --run and
checked_elements the profile elements of check 1 over all runs checked. Exit status: 0 when every check
passes, 1 on any failure, 2 on a usage error (bad arguments, table not parsed).
"""
import argparse
import json
import os
import re
import stat
import sys
import warnings

import pydicom
from pydicom.datadict import keyword_for_tag
from pydicom.sequence import Sequence

SUMMARY_NAME = os.path.join(".deidentify", "summary.json")

# One row: group, element, keyword and action; other string fields between keyword and action (vr: "PN")
# are allowed and ignored.
TABLE_ROW = re.compile(
    r'BasicProfileRow\(\s*group:\s*0x([0-9A-Fa-f]{4}),\s*element:\s*0x([0-9A-Fa-f]{4}),'
    r'\s*keyword:\s*"([^"]*)",(?:\s*\w+:\s*"[^"]*",)*\s*action:\s*\.([a-zA-Z])\s*\)')
TABLE_COUNT = re.compile(r'^//\s*Rows:\s*(\d+)', re.MULTILINE)

# Tags used by the checks (numbers, so that the script does not depend on pydicom's keyword list).
SOP_CLASS_UID = 0x00080016
SOP_INSTANCE_UID = 0x00080018
STUDY_INSTANCE_UID = 0x0020000D
SERIES_INSTANCE_UID = 0x0020000E
FRAME_OF_REFERENCE_UID = 0x00200052
MEDIA_STORAGE_SOP_CLASS_UID = 0x00020002
MEDIA_STORAGE_SOP_INSTANCE_UID = 0x00020003
TRANSFER_SYNTAX_UID = 0x00020010
PATIENT_IDENTITY_REMOVED = 0x00120062
DEIDENTIFICATION_METHOD = 0x00120063
DEIDENTIFICATION_METHOD_CODE_SEQUENCE = 0x00120064
CODE_VALUE = 0x00080100
CODING_SCHEME_DESIGNATOR = 0x00080102
BITS_ALLOCATED = 0x00280100

BIG_ENDIAN_TRANSFER_SYNTAX = "1.2.840.10008.1.2.2"

# Pixel data elements and the size in bytes of one value for byte swapping (None: take BitsAllocated).
PIXEL_ELEMENTS = [
    (0x7FE00010, "PixelData", None),
    (0x7FE00008, "FloatPixelData", 4),
    (0x7FE00009, "DoubleFloatPixelData", 8),
]
IMAGE_ATTRIBUTES = [
    (0x00280010, "Rows"),
    (0x00280011, "Columns"),
    (0x00280100, "BitsAllocated"),
    (0x00280101, "BitsStored"),
    (0x00280102, "HighBit"),
    (0x00280103, "PixelRepresentation"),
    (0x00280002, "SamplesPerPixel"),
    (0x00280004, "PhotometricInterpretation"),
    (0x00280008, "NumberOfFrames"),
    (0x00281053, "RescaleSlope"),
    (0x00281052, "RescaleIntercept"),
    (0x3004000E, "DoseGridScaling"),
]
# UIDs compared between input files (5a) and between runs (5b, 5c).
SHARED_UIDS = [
    (STUDY_INSTANCE_UID, "StudyInstanceUID"),
    (SERIES_INSTANCE_UID, "SeriesInstanceUID"),
    (FRAME_OF_REFERENCE_UID, "FrameOfReferenceUID"),
    (SOP_INSTANCE_UID, "SOPInstanceUID"),
]
SAME_KEY_UIDS = SHARED_UIDS[:2] + SHARED_UIDS[3:]   # Study, Series, SOP Instance


# ---------------------------------------------------------------- small helpers

def tag_text(tag):
    tag = int(tag)
    return "(%04X,%04X)" % (tag >> 16, tag & 0xFFFF)


def tag_name(tag, table=None):
    tag = int(tag)
    if table and tag in table:
        return table[tag][0]
    if tag & 0x00010000:
        return "private"
    try:
        name = keyword_for_tag(tag)
    except Exception:
        name = ""
    return name or "unknown"


def path_text(path, tag, table=None):
    """Human-readable place of an element: 'Seq[0] > Other[1] > Keyword'."""
    parts = ["%s[%d]" % (tag_name(seq_tag, table), index) for seq_tag, index in path]
    parts.append(tag_name(tag, table))
    return " > ".join(parts)


def is_empty(value):
    """True for a value that carries nothing: None, '', b'', an empty sequence or list of empty values."""
    if value is None:
        return True
    if isinstance(value, Sequence):
        return len(value) == 0
    if isinstance(value, bytes):
        return len(value.strip(b"\x00 ")) == 0
    if isinstance(value, str):
        return len(value.strip("\x00 ")) == 0
    if isinstance(value, (int, float)):
        return False
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return all(is_empty(item) for item in value)
    return len(str(value).strip("\x00 ")) == 0


def value_text(value):
    """Text used to compare an original value with the output's."""
    if isinstance(value, Sequence):
        items = []
        for item in value:
            items.append("{" + ",".join("%s=%s" % (tag_text(e.tag), value_text(e.value)) for e in item) + "}")
        return "[" + ",".join(items) + "]"
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def value_list(value):
    """The values of a (possibly multi-valued) element as a list of strings."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [str(value)]
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [str(item) for item in value]
    return [str(value)]


def walk(dataset, path=()):
    """Yield (path, element) for every element of the data set, depth first, into every sequence item.
    path is a tuple of (sequence tag, item index) pairs leading to the element's data set."""
    for elem in dataset:
        yield path, elem
        if isinstance(elem.value, Sequence):
            for index, item in enumerate(elem.value):
                for found in walk(item, path + ((int(elem.tag), index),)):
                    yield found


def locate(dataset, path, tag):
    """Find the element with this tag at this path in another data set.
    Returns ('gone', None) when a parent sequence or item is missing, ('absent', None) when the parent
    data set is there but not the element, ('present', element) otherwise."""
    current = dataset
    for seq_tag, index in path:
        if current is None or seq_tag not in current:
            return "gone", None
        value = current[seq_tag].value
        if not isinstance(value, Sequence) or index >= len(value):
            return "gone", None
        current = value[index]
    if current is None or tag not in current:
        return "absent", None
    return "present", current[tag]


def element_value(dataset, tag):
    """str() of a top-level element's value, or None when absent or empty."""
    if dataset is None or tag not in dataset:
        return None
    value = dataset[tag].value
    if is_empty(value):
        return None
    return str(value)


def file_meta_of(dataset):
    return getattr(dataset, "file_meta", None)


def swap_bytes(data, width):
    """Reverse the byte order of every width-byte word of data."""
    if width <= 1 or len(data) % width != 0:
        return bytes(data)
    swapped = bytearray(len(data))
    for k in range(width):
        swapped[k::width] = data[width - 1 - k::width]
    return bytes(swapped)


def transfer_syntax(dataset):
    meta = file_meta_of(dataset)
    return element_value(meta, TRANSFER_SYNTAX_UID) or ""


# ---------------------------------------------------------------- the report

class Report:
    def __init__(self):
        self.failures = []
        self.checked_elements = 0
        self.files = 0

    def fail(self, check, run, message, entry=None, tag=None, path=None):
        failure = {"check": check, "run": run}
        if entry is not None:
            failure["input"] = entry.get("input")
            failure["output"] = entry.get("output")
        if tag is not None:
            failure["tag"] = tag_text(tag)
        if path is not None:
            failure["path"] = path
        failure["message"] = message
        self.failures.append(failure)


# ---------------------------------------------------------------- inputs: table, summaries, files

def parse_table(path):
    """{tag: (keyword, action letter)} from BasicProfileTable.swift."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    table = {}
    for match in TABLE_ROW.finditer(text):
        group, element, keyword, action = match.groups()
        table[(int(group, 16) << 16) | int(element, 16)] = (keyword, action.upper())
    declared = TABLE_COUNT.search(text)
    if not table:
        raise ValueError("no BasicProfileRow found in %s" % path)
    if declared and int(declared.group(1)) != len(table):
        raise ValueError("%s declares %s rows but %d were parsed" % (path, declared.group(1), len(table)))
    return table


def load_run(directory, run, report):
    """The files[] entries of DIR/.deidentify/summary.json, keyed by the real path of the input."""
    summary_path = os.path.join(directory, SUMMARY_NAME)
    if not os.path.isfile(summary_path):
        report.fail("0-summary", run, "missing %s" % summary_path)
        return None
    mode = stat.S_IMODE(os.stat(summary_path).st_mode)
    if mode != 0o600:
        report.fail("0-summary", run, "%s has mode %04o, expected 0600" % (summary_path, mode))
    try:
        with open(summary_path, encoding="utf-8") as handle:
            summary = json.load(handle)
        files = summary["files"]
    except Exception as error:
        report.fail("0-summary", run, "cannot read %s: %s" % (summary_path, error))
        return None
    root = os.path.realpath(directory)
    entries = {}
    for raw in files:
        entry = {"input": raw.get("input"), "output": raw.get("output"), "uids": raw.get("uids") or {}}
        if not entry["input"] or not entry["output"]:
            report.fail("0-summary", run, "files[] entry without input or output", entry)
            continue
        if not os.path.isabs(entry["output"]):
            entry["output"] = os.path.join(directory, entry["output"])
        if os.path.commonpath([root, os.path.realpath(entry["output"])]) != root:
            report.fail("0-summary", run, "output is not under %s" % directory, entry)
        key = os.path.realpath(entry["input"])
        if key in entries:
            report.fail("0-summary", run, "input listed twice", entry)
        entries[key] = entry
    return entries


def read_dicom(path):
    """(dataset, None) or (None, error text). Every element is parsed, so a malformed one is an error."""
    try:
        dataset = pydicom.dcmread(path, force=True)
        for _ in walk(dataset):
            pass
        meta = file_meta_of(dataset)
        if meta is not None:
            for _ in walk(meta):
                pass
        return dataset, None
    except Exception as error:
        return None, "%s: %s" % (type(error).__name__, error)


# ---------------------------------------------------------------- per-file checks

def check_readable(run, entry, original, report):
    """Check 6. Returns the output data set, or None when it cannot be read."""
    path = entry["output"]
    if not os.path.isfile(path):
        report.fail("6-readable", run, "output file missing", entry)
        return None
    with open(path, "rb") as handle:
        head = handle.read(132)
    if head[128:132] != b"DICM":
        report.fail("6-readable", run, "no DICM prefix at offset 128", entry)
    output, error = read_dicom(path)
    if output is None:
        report.fail("6-readable", run, "pydicom cannot read it: %s" % error, entry)
        return None
    meta = file_meta_of(output)
    if meta is None or TRANSFER_SYNTAX_UID not in meta:
        report.fail("6-readable", run, "no file meta group with a TransferSyntaxUID", entry)
    in_class = element_value(original, SOP_CLASS_UID)
    out_class = element_value(output, SOP_CLASS_UID)
    if in_class != out_class:
        report.fail("6-readable", run, "SOPClassUID differs from the input's (%s)" % out_class, entry,
                    SOP_CLASS_UID, "SOPClassUID")
    meta_class = element_value(meta, MEDIA_STORAGE_SOP_CLASS_UID)
    if in_class is not None and meta_class != in_class:
        report.fail("6-readable", run, "MediaStorageSOPClassUID differs from the input's SOPClassUID (%s)"
                    % meta_class, entry, MEDIA_STORAGE_SOP_CLASS_UID, "MediaStorageSOPClassUID")
    return output


def check_profile_element(action, original, state, found, uid_map, also_allowed=()):
    """Problems (a list of texts) of one element of the table; empty when it passes.
    also_allowed: further new UIDs accepted for action U (see check_profile)."""
    if state == "gone":
        return []
    if state == "absent":
        if action in ("X", "K"):
            return []
        expected = "a zero-length value" if action == "Z" else "a replaced value"
        return ["action %s: element removed, expected %s" % (action, expected)]
    new_value = found.value
    new_empty = is_empty(new_value)
    unchanged = not new_empty and value_text(new_value) == value_text(original.value)
    if action == "X":
        if unchanged:
            return ["action X: still present, value unchanged"]
        return ["action X: still present (%s)" % ("empty" if new_empty else "value replaced")]
    if action == "Z":
        if new_empty:
            return []
        return ["action Z: not empty (%s)" % ("value unchanged" if unchanged else "value replaced")]
    if action in ("D", "C"):
        if new_empty:
            return ["action %s: empty, expected a non-empty replacement" % action]
        if unchanged:
            return ["action %s: value unchanged" % action]
        return []
    if action == "U":
        old_uids = value_list(original.value)
        new_uids = value_list(new_value)
        if new_empty:
            return ["action U: empty, expected a new UID"]
        if len(old_uids) != len(new_uids):
            return ["action U: %d values, the original has %d" % (len(new_uids), len(old_uids))]
        problems = []
        for index, (old, new) in enumerate(zip(old_uids, new_uids)):
            where = " (value %d)" % (index + 1) if len(old_uids) > 1 else ""
            if old.strip("\x00 ") == "":
                continue
            if new == old:
                problems.append("action U%s: UID unchanged" % where)
                continue
            if not new.startswith("2.25."):
                problems.append("action U%s: new UID %s does not start with 2.25." % (where, new))
            if len(new) > 64:
                problems.append("action U%s: new UID %s is %d characters (> 64)" % (where, new, len(new)))
            mapped = uid_map.get(old)
            if new in also_allowed:
                continue
            if mapped is None:
                problems.append("action U%s: original UID not in the summary's uids" % where)
            elif mapped != new:
                problems.append("action U%s: new UID %s is not the summary's mapping %s" % (where, new, mapped))
        return problems
    return []   # K and anything unknown: nothing to check


def check_profile(run, entry, original, output, table, report):
    """Check 1.
    A writer may rebuild the file meta from the data set, so the output's MediaStorageSOPInstanceUID may
    also be the new UID of the original SOPInstanceUID (they differ in some files, e.g. pydicom's
    rtdose.dcm); check 5a then requires it to equal the output's SOPInstanceUID."""
    sop = element_value(original, SOP_INSTANCE_UID)
    media_allowed = (entry["uids"][sop],) if sop in entry["uids"] else ()
    roots = [(file_meta_of(original), file_meta_of(output)), (original, output)]
    for source, target in roots:
        if source is None:
            continue
        for path, elem in walk(source):
            tag = int(elem.tag)
            if tag not in table or is_empty(elem.value):
                continue
            report.checked_elements += 1
            action = table[tag][1]
            state, found = locate(target, path, tag)
            allowed = media_allowed if tag == MEDIA_STORAGE_SOP_INSTANCE_UID and not path else ()
            for problem in check_profile_element(action, elem, state, found, entry["uids"], allowed):
                report.fail("1-profile", run, problem, entry, tag, path_text(path, tag, table))


def forbidden_reason(tag):
    group, element = tag >> 16, tag & 0xFFFF
    if group & 1:
        return "private element (odd group)"
    if group & 0xFF00 == 0x5000:
        return "curve data (50xx group)"
    if group & 0xFF00 == 0x6000 and element == 0x3000:
        return "overlay data (60xx,3000)"
    if group & 0xFF00 == 0x6000 and element == 0x4000:
        return "overlay comments (60xx,4000)"
    return None


def check_forbidden(run, entry, output, report, dataset=None, path=()):
    """Check 2: recursive; the content of a forbidden sequence is not searched (it goes with its parent)."""
    if dataset is None:
        meta = file_meta_of(output)
        if meta is not None:
            check_forbidden(run, entry, output, report, meta, ())
        dataset = output
    for elem in dataset:
        tag = int(elem.tag)
        reason = forbidden_reason(tag)
        if reason:
            report.fail("2-forbidden", run, reason, entry, tag, path_text(path, tag))
            continue
        if isinstance(elem.value, Sequence):
            for index, item in enumerate(elem.value):
                check_forbidden(run, entry, output, report, item, path + ((tag, index),))


def check_markers(run, entry, output, report):
    """Check 3."""
    removed = element_value(output, PATIENT_IDENTITY_REMOVED)
    if removed != "YES":
        report.fail("3-markers", run, "PatientIdentityRemoved is %r, expected 'YES'" % removed, entry,
                    PATIENT_IDENTITY_REMOVED, "PatientIdentityRemoved")
    if element_value(output, DEIDENTIFICATION_METHOD) is None:
        report.fail("3-markers", run, "DeidentificationMethod missing or empty", entry,
                    DEIDENTIFICATION_METHOD, "DeidentificationMethod")
    found = False
    if DEIDENTIFICATION_METHOD_CODE_SEQUENCE in output:
        items = output[DEIDENTIFICATION_METHOD_CODE_SEQUENCE].value
        if isinstance(items, Sequence):
            for item in items:
                if (element_value(item, CODE_VALUE) == "113100"
                        and element_value(item, CODING_SCHEME_DESIGNATOR) == "DCM"):
                    found = True
    if not found:
        report.fail("3-markers", run, "DeidentificationMethodCodeSequence has no item (113100, DCM)", entry,
                    DEIDENTIFICATION_METHOD_CODE_SEQUENCE, "DeidentificationMethodCodeSequence")


def first_difference(a, b):
    for index in range(min(len(a), len(b))):
        if a[index] != b[index]:
            return index
    return min(len(a), len(b))


def check_pixels(run, entry, original, output, report):
    """Check 4."""
    in_big = transfer_syntax(original) == BIG_ENDIAN_TRANSFER_SYNTAX
    out_big = transfer_syntax(output) == BIG_ENDIAN_TRANSFER_SYNTAX
    for tag, name, width in PIXEL_ELEMENTS:
        if tag not in original:
            if tag in output:
                report.fail("4-pixels", run, "%s present in the output but not in the input" % name,
                            entry, tag, name)
            continue
        if tag not in output:
            report.fail("4-pixels", run, "%s missing from the output" % name, entry, tag, name)
            continue
        before = original[tag].value or b""
        after = output[tag].value or b""
        if not isinstance(before, bytes) or not isinstance(after, bytes):
            report.fail("4-pixels", run, "%s is not raw bytes (%s / %s)"
                        % (name, type(before).__name__, type(after).__name__), entry, tag, name)
            continue
        if in_big != out_big:
            if width is None:
                bits = element_value(original, BITS_ALLOCATED)
                width = int(bits) // 8 if bits and original[tag].VR != "OB" else 1
            before = swap_bytes(before, width)
        if before != after:
            report.fail("4-pixels", run, "%s differs: %d bytes in, %d bytes out, first difference at byte %d"
                        % (name, len(before), len(after), first_difference(before, after)), entry, tag, name)
    for tag, name in IMAGE_ATTRIBUTES:
        before = element_value(original, tag)
        if before is None:
            continue
        after = element_value(output, tag)
        if after != before:
            report.fail("4-pixels", run, "%s changed (%s -> %s)" % (name, before, after), entry, tag, name)


def check_media_storage(run, entry, output, report):
    """Check 5a, per file: the data set's SOPInstanceUID is the meta's MediaStorageSOPInstanceUID."""
    sop = element_value(output, SOP_INSTANCE_UID)
    media = element_value(file_meta_of(output), MEDIA_STORAGE_SOP_INSTANCE_UID)
    if sop != media:
        report.fail("5-uids", run, "SOPInstanceUID %s differs from MediaStorageSOPInstanceUID %s" % (sop, media),
                    entry, SOP_INSTANCE_UID, "SOPInstanceUID")


def check_files(run, entries, inputs, table, report):
    """Checks 1-4, 5a (per file) and 6 on the outputs of one run. Returns {input key: output data set}."""
    outputs = {}
    for key, entry in entries.items():
        original = inputs.get(key)
        if original is None:
            continue
        output = check_readable(run, entry, original, report)
        if output is None:
            continue
        outputs[key] = output
        check_profile(run, entry, original, output, table, report)
        check_forbidden(run, entry, output, report)
        check_markers(run, entry, output, report)
        check_pixels(run, entry, original, output, report)
        check_media_storage(run, entry, output, report)
    return outputs


# ---------------------------------------------------------------- checks across files and runs

def check_uid_pairs(entries, inputs, outputs, report):
    """Check 5a: inputs that shared a UID share it in the output, inputs that differed still differ."""
    keys = sorted(key for key in entries if key in outputs and key in inputs)
    for tag, name in SHARED_UIDS:
        for i, first in enumerate(keys):
            for second in keys[i + 1:]:
                in_a, in_b = element_value(inputs[first], tag), element_value(inputs[second], tag)
                out_a, out_b = element_value(outputs[first], tag), element_value(outputs[second], tag)
                if in_a is None or in_b is None or out_a is None or out_b is None:
                    continue
                if (in_a == in_b) != (out_a == out_b):
                    how = "shared" if in_a == in_b else "differed"
                    report.fail("5-uids", "run", "%s %s in the inputs but not in the outputs (other file: %s)"
                                % (name, how, entries[second]["input"]), entries[first], tag, name)


def check_uid_maps(entries, report):
    """Check 5a: one old UID -> one new UID over the whole run; no two old UIDs -> one new UID."""
    new_for_old, old_for_new = {}, {}
    for key in sorted(entries):
        entry = entries[key]
        for old, new in sorted(entry["uids"].items()):
            if old in new_for_old and new_for_old[old][0] != new:
                report.fail("5-uids", "run", "summary maps one original UID to %s here and to %s in %s"
                            % (new, new_for_old[old][0], new_for_old[old][1]), entry)
            new_for_old.setdefault(old, (new, entry["input"]))
            if new in old_for_new and old_for_new[new][0] != old:
                report.fail("5-uids", "run", "summary maps two original UIDs to %s (also in %s)"
                            % (new, old_for_new[new][1]), entry)
            old_for_new.setdefault(new, (old, entry["input"]))


def read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def check_same_key(run_entries, same_entries, run_outputs, report):
    """Check 5b. Returns the keys whose --same-key output is not byte-identical to --run's."""
    different = []
    for key, entry in sorted(run_entries.items()):
        other = same_entries.get(key)
        if other is None:
            continue
        if other["uids"] != entry["uids"]:
            report.fail("5-uids", "same-key", "summary uids differ from --run's", other)
        before, after = read_bytes(entry["output"]), read_bytes(other["output"])
        if before is None or after is None:
            continue   # reported by check 6
        if before == after:
            continue
        different.append(key)
        report.fail("5-uids", "same-key", "output is not byte-identical to --run's %s (%d bytes here, %d there, "
                    "first difference at byte %d)" % (entry["output"], len(after), len(before),
                                                      first_difference(before, after)), other)
        dataset, _ = read_dicom(other["output"])
        if dataset is None or key not in run_outputs:
            continue
        for tag, name in SAME_KEY_UIDS:
            if element_value(dataset, tag) != element_value(run_outputs[key], tag):
                report.fail("5-uids", "same-key", "%s differs from --run's" % name, other, tag, name)
    return different


def check_other_key(run_entries, other_entries, run_outputs, other_outputs, report):
    """Check 5c: a different key remaps every UID differently."""
    for key, entry in sorted(run_entries.items()):
        other = other_entries.get(key)
        if other is None:
            continue
        for old, new in sorted(entry["uids"].items()):
            remapped = other["uids"].get(old)
            if remapped is None:
                report.fail("5-uids", "other-key", "an original UID of --run (-> %s) is not in the summary's uids"
                            % new, other)
            elif remapped == new:
                report.fail("5-uids", "other-key", "UID %s is the same as with --run's key" % new, other)
        if key in run_outputs and key in other_outputs:
            for tag, name in SHARED_UIDS:
                a, b = element_value(run_outputs[key], tag), element_value(other_outputs[key], tag)
                if a is not None and a == b:
                    report.fail("5-uids", "other-key", "%s %s is the same as with --run's key" % (name, a),
                                other, tag, name)


def check_same_inputs(run_entries, entries, run, report):
    """Check 0: the three runs list the same inputs."""
    for key in sorted(set(run_entries) - set(entries)):
        report.fail("0-summary", run, "input of --run missing from this run", run_entries[key])
    for key in sorted(set(entries) - set(run_entries)):
        report.fail("0-summary", run, "input not in --run", entries[key])


# ---------------------------------------------------------------- main

def run_checks(args, table):
    report = Report()
    run_entries = load_run(args.run, "run", report)
    same_entries = load_run(args.same_key, "same-key", report)
    other_entries = load_run(args.other_key, "other-key", report)
    if run_entries is None:
        return report
    report.files = len(run_entries)

    inputs = {}
    for key, entry in sorted(run_entries.items()):
        dataset, error = read_dicom(entry["input"])
        if dataset is None:
            report.fail("0-summary", "run", "cannot read the input: %s" % error, entry)
        else:
            inputs[key] = dataset

    run_outputs = check_files("run", run_entries, inputs, table, report)
    check_uid_pairs(run_entries, inputs, run_outputs, report)
    check_uid_maps(run_entries, report)

    if same_entries is not None:
        check_same_inputs(run_entries, same_entries, "same-key", report)
        different = check_same_key(run_entries, same_entries, run_outputs, report)
        if different:
            subset = dict((key, same_entries[key]) for key in different)
            check_files("same-key", subset, inputs, table, report)
    if other_entries is not None:
        check_same_inputs(run_entries, other_entries, "other-key", report)
        other_outputs = check_files("other-key", other_entries, inputs, table, report)
        check_other_key(run_entries, other_entries, run_outputs, other_outputs, report)
    return report


def print_text(report):
    for failure in report.failures:
        parts = ["FAIL [%s] %s:" % (failure["check"], failure["run"])]
        if failure.get("input"):
            parts.append(failure["input"])
        if failure.get("output"):
            parts.append("-> " + failure["output"])
        if failure.get("tag"):
            parts.append("%s %s:" % (failure["tag"], failure.get("path", "")))
        parts.append(failure["message"])
        print(" ".join(parts))
    counts = {}
    for failure in report.failures:
        counts[failure["check"]] = counts.get(failure["check"], 0) + 1
    verdict = "PASS" if not report.failures else "FAIL"
    detail = ", ".join("%s: %d" % (check, counts[check]) for check in sorted(counts))
    print("deidentify_check %s: %d files, %d profile elements checked, %d failures%s (pydicom %s)"
          % (verdict, report.files, report.checked_elements, len(report.failures),
             " (" + detail + ")" if detail else "", pydicom.__version__))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Check `medgrid dicom deidentify` output with pydicom.")
    parser.add_argument("--table", required=True, help="path to BasicProfileTable.swift")
    parser.add_argument("--run", required=True, help="output directory of the run under test")
    parser.add_argument("--same-key", required=True, help="output directory of a second run, same key")
    parser.add_argument("--other-key", required=True, help="output directory of a run with another key")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")   # pydicom's value warnings about the inputs are not failures here
    try:
        table = parse_table(args.table)
    except (OSError, ValueError) as error:
        print("deidentify_check: %s" % error, file=sys.stderr)
        return 2
    report = run_checks(args, table)
    if args.json:
        print(json.dumps({"files": report.files, "checked_elements": report.checked_elements,
                          "failures": report.failures}, indent=1))
    else:
        print_text(report)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
