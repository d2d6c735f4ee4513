"""Writes Datasets/trial/cohort.xpt: the synthetic trial cohort (cohort.csv) as a SAS XPORT v5 file, the FDA
transport format, so that the XPORT reader is exercised on a realistic ADaM-like table.

Numbers are written as 8-byte IBM hex floats; every IEEE double converts exactly (IBM has 56 fraction bits),
so the XPORT file and the CSV hold the same values. Character columns are padded to their longest value.
No SAS involved; layout per SAS TS-140. Run: python3 Datasets/trial/make_cohort_xpt.py
"""
import csv
import os
import struct
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
NUMERIC = {"TRT01PN", "AGE", "ECOG", "AVAL", "CNSR"}


def ibm_bytes(x):
    if x == 0:
        return b"\x00" * 8
    sign = 0x80 if x < 0 else 0
    f = Fraction(abs(x))
    e = 64
    while f >= 1:
        f /= 16
        e += 1
    while f < Fraction(1, 16):
        f *= 16
        e -= 1
    frac = f * (1 << 56)
    assert frac.denominator == 1, x
    return bytes([sign | e]) + int(frac).to_bytes(7, "big")


def rec(s):
    b = s.encode("latin-1") if isinstance(s, str) else s
    return b.ljust(80, b" ")


def pad80(b):
    return b + b" " * ((-len(b)) % 80)


def namestr(ntype, length, varnum, name, label, pos):
    return struct.pack(">hhhh8s40s8shhh2s8shhl52s", ntype, 0, length, varnum, name.ljust(8).encode(),
                       label.ljust(40).encode("latin-1"), b" " * 8, 0, 0, 0, b"  ", b" " * 8, 0, 0, pos, b"\x00" * 52)


rows = list(csv.DictReader(open(os.path.join(HERE, "cohort.csv"))))
names = list(rows[0].keys())
variables = []
for n in names:
    if n in NUMERIC:
        variables.append((n, "num", 8))
    else:
        variables.append((n, "char", max(1, max(len(r[n]) for r in rows))))
out = rec("HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!000000000000000000000000000000")
out += rec("SAS     SAS     SASLIB  9.4     Linux   " + " " * 24 + "01JAN26:00:00:00")
out += rec("01JAN26:00:00:00")
out += rec("HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!000000000000000001600000000140")
out += rec("HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!000000000000000000000000000000")
out += rec("SAS     " + "ADTTE".ljust(8) + "SASDATA " + "9.4     " + "Linux   " + " " * 24 + "01JAN26:00:00:00")
out += rec("01JAN26:00:00:00" + " " * 16 + "Synthetic trial time-to-event".ljust(40) + "DATA    ")
out += rec("HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!000000%04d00000000000000000000" % len(variables))
ns, pos = b"", 0
for i, (n, kind, length) in enumerate(variables):
    ns += namestr(1 if kind == "num" else 2, length, i + 1, n, n, pos)
    pos += length
out += pad80(ns)
out += rec("HEADER RECORD*******OBS     HEADER RECORD!!!!!!!000000000000000000000000000000")
data = b""
for r in rows:
    for n, kind, length in variables:
        if kind == "num":
            data += b".\x00\x00\x00\x00\x00\x00\x00" if r[n] in ("", "NA", ".") else ibm_bytes(float(r[n]))
        else:
            data += r[n].encode("latin-1").ljust(length, b" ")
out += pad80(data)
open(os.path.join(HERE, "cohort.xpt"), "wb").write(out)
print("wrote", os.path.join(HERE, "cohort.xpt"), len(rows), "rows")
