"""Reference values for ExactSum: correctly rounded sums from Python's math.fsum.

math.fsum (CPython, Shewchuk's algorithm) returns the exact sum of its inputs correctly rounded to
nearest, ties to even. This script builds adversarial term lists (massive cancellation, 1e308/1e-308
mixes, subnormals, exact halfway cases, long lists crossing the carry-propagation interval, random
exponents over the full range) and writes Tests/MedGridCohortTests/Reference/survival/exact_sum_fsum.json:
  [{"name": ..., "terms": [hex bit patterns], "fsum": hex bit pattern}, ...]
Bit patterns are 16-digit lower-case hex strings of the IEEE-754 binary64 encoding.

Versions: CPython 3 (math.fsum), numpy (random generator only, seed fixed).
Run: /tmp/ref-venv/bin/python reference-scripts/exact_sum_reference.py   (from /work/scratch/survival)
"""
import json, math, os, struct
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "MedGridCohortTests", "Reference", "survival",
                   "exact_sum_fsum.json")

def hx(x):
    return struct.pack(">d", x).hex()

rng = np.random.default_rng(20240611)
cases = []

def case(name, terms):
    try:
        s = math.fsum(terms)
    except (OverflowError, ValueError):
        return
    if not math.isfinite(s):
        return
    cases.append({"name": name, "terms": [hx(float(t)) for t in terms], "fsum": hx(s)})

case("cancel_1e308", [1e308, 1.0, -1e308])
case("cancel_1e308_tiny", [1e308, 1e-308, -1e308])
case("tie_even_down", [1.0, 2.0 ** -53])
case("tie_even_up", [1.0 + 2.0 ** -52, 2.0 ** -53])
case("tie_broken_by_sticky", [1.0, 2.0 ** -53, 2.0 ** -300])
case("tie_broken_negative", [1.0, 2.0 ** -53, -(2.0 ** -300)])
case("subnormals", [5e-324, 5e-324, -1e-320, 2.2250738585072014e-308, -2.225073858507201e-308])
case("max_minus_max", [1.7976931348623157e308, 1.7976931348623157e308, -1.7976931348623157e308])
case("near_overflow_round", [1.7976931348623157e308, 2.0 ** 969, -(2.0 ** 969)])
case("huge_and_tiny", [1e308, 1e-308, 1e-308, -1e308, 1e-308])
case("classic_fsum", [0.1] * 10)
case("one_third_alt", [1 / 3, -1 / 3, 1 / 3, 1e-17])
case("negative_zero_and_values", [-0.0, 1.5, -1.5, -0.0, 2.0 ** -1074])

for k in range(8):
    n = int(rng.integers(1, 2500))
    exps = rng.integers(-1074, 1000, size=n)
    mant = rng.random(n) + 1.0
    signs = rng.choice([-1.0, 1.0], size=n)
    terms = [float(s * math.ldexp(m, int(e))) for s, m, e in zip(signs, mant, exps)]
    # Append negatives of a random subset so that big parts cancel and the small tail decides.
    idx = rng.choice(n, size=n // 2, replace=False)
    terms += [-terms[i] for i in idx]
    order = rng.permutation(len(terms))
    case(f"random_full_range_{k}", [terms[i] for i in order])

for k in range(6):
    n = 1200
    big = rng.normal(0, 1e16, size=n)
    small = rng.normal(0, 1.0, size=n)
    terms = list(big) + list(-big) + list(small)
    order = rng.permutation(len(terms))
    case(f"cancel_normal_{k}", [float(terms[i]) for i in order])

for k in range(4):
    n = 800
    terms = list(rng.normal(0, 1, size=n) * 10.0 ** rng.integers(-30, 30, size=n))
    case(f"moderate_{k}", [float(t) for t in terms])

with open(OUT, "w") as f:
    json.dump(cases, f)
print(len(cases), "cases ->", OUT)
