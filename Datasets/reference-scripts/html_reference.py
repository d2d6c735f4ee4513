"""Reference values for the HTML report tests (MedGridReports/HTML).

Computes
  * quantiles.json: numpy.quantile(..., method="linear") -- identical to R's quantile(type = 7) -- for a few
    samples (NaN entries are written as null and dropped before computing, as the Swift code treats missing
    values), plus ggplot2-style whiskers (most extreme value within 1.5 IQR of the quartiles) and outlier counts;
  * checksums.json: zlib.crc32 and zlib.adler32 of deterministic byte strings
    (x <- (1103515245 * x + 12345) mod 2^31, byte = (x >> 16) & 0xFF, starting from `seed`).

Library versions used: Python 3.11, numpy 2.x (see the "numpy" field written into quantiles.json), zlib from
the Python standard library.

Run:  /tmp/ref-venv/bin/python reference-scripts/html_reference.py
It writes Tests/MedGridReportsTests/Reference/html/{quantiles,checksums}.json next to this script's package.
"""
import json
import math
import os
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "MedGridReportsTests", "Reference", "html")
PROBS = [0.0, 0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975, 1.0]


def lcg_bytes(n, seed):
    x = seed
    out = bytearray()
    for _ in range(n):
        x = (1103515245 * x + 12345) & 0x7FFFFFFF
        out.append((x >> 16) & 0xFF)
    return bytes(out)


def sample_entry(values):
    finite = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    q = np.quantile(finite, PROBS, method="linear")
    q1, q3 = np.quantile(finite, [0.25, 0.75], method="linear")
    lo, hi = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    inside = finite[(finite >= lo) & (finite <= hi)]
    return {
        "values": [None if (v is None or not math.isfinite(v)) else v for v in values],
        "probabilities": PROBS,
        "quantiles": [float(x) for x in q],
        "lowerWhisker": float(inside.min()),
        "upperWhisker": float(inside.max()),
        "outliers": int(len(finite) - len(inside)),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240917)
    samples = [
        [1.0, 2.0, 3.0, 4.0],
        [0.1, 0.5, 0.3, 0.9, 0.7, 0.2],
        [-3.0, -1.0, 0.0, 2.0, 10.0, 11.0, -20.0],
        [0.93, float("nan"), 0.88, 0.91, 0.12, 0.95, 0.9, float("nan"), 0.89],
        [float(x) for x in np.round(rng.beta(8, 2, size=37), 6)],
        [float(x) for x in np.round(rng.normal(5.0, 2.0, size=101), 6)] + [40.0, -30.0],
        [2.5],
    ]
    with open(os.path.join(OUT, "quantiles.json"), "w") as f:
        json.dump({"numpy": np.__version__, "method": "linear (= R type 7)",
                   "samples": [sample_entry(s) for s in samples]}, f, indent=1)
    cases = []
    for n, seed in [(1, 1), (100, 2), (5552, 3), (5553, 4), (70000, 5), (300000, 6)]:
        b = lcg_bytes(n, seed)
        cases.append({"length": n, "seed": seed, "crc32": zlib.crc32(b), "adler32": zlib.adler32(b)})
    with open(os.path.join(OUT, "checksums.json"), "w") as f:
        json.dump({"zlib": zlib.ZLIB_RUNTIME_VERSION, "cases": cases}, f, indent=1)


if __name__ == "__main__":
    main()
