"""Reference values for MedGridCohort Tables/ and Models/ tests.

What it computes (all on public data bundled with scikit-learn, or on seeded synthetic data):
  * breast_cancer.csv  - sklearn.datasets.load_breast_cancer (Wisconsin Diagnostic Breast Cancer, UCI;
                         Street, Wolberg & Mangasarian 1993), 569 rows, 30 features, target (1 = benign).
  * iris.csv           - sklearn.datasets.load_iris (Fisher 1936), 150 x 4.
  * blobs.csv          - sklearn.datasets.make_blobs(n_samples=3000, centers=6, n_features=5, random_state=7).
  * logistic_mle.json      statsmodels Logit (unpenalised) on 5 raw breast-cancer features:
                           params, bse, z, p-values, log-likelihood.
  * logistic_l2.json       StandardScaler (population sd) on all 30 features, then scikit-learn
                           LogisticRegression(C in {1.0, 0.05}, solver="newton-cholesky", tol=1e-14):
                           scaler means/scales and coefficients (intercept unpenalised).
  * roc.json               roc_auc_score and a DeLong (1988) variance written here from the paper's
                           structural components (O(m n), direct psi-kernel), for (a) the MLE model's
                           probabilities and (b) the same rounded to 1 decimal (many ties); 95% CI.
  * calibration.json       for p = sigmoid(0.7 logit(p_mle) + 0.3): mean(y) - mean(p); calibration intercept
                           from statsmodels GLM(Binomial, offset=logit p); slope from statsmodels Logit(y, [1, logit p]);
                           10 equal-size groups of sorted p with Hosmer-Lemeshow and scipy chi2.sf(df=8).
  * crossval.json          StratifiedKFold(5, shuffle=False) fold assignment and per-fold roc_auc of
                           Pipeline(StandardScaler, LogisticRegression(C=1, newton-cholesky, tol=1e-14)).
  * kmeans.json            sklearn KMeans(init=<explicit centres>, n_init=1, algorithm="lloyd", tol=0,
                           max_iter=300) on iris (k=3, init rows 0, 50, 100) and blobs (k=6, init rows 0..5):
                           labels, centres, inertia, n_iter.
  * xport/*.xpt            SAS XPORT v5 files written by the writer below (TS-140 layout), with IBM-float
                           edge cases and the 28 missing codes; xport_expected.json holds the exact values
                           (Fraction -> float, correctly rounded) and what pandas.read_sas returns.

Versions used: numpy 2.4.6, scipy 1.17.1, pandas 2.3.3, scikit-learn 1.9.1, statsmodels 0.15.0, Python 3.

Run:  /tmp/ref-venv/bin/python reference-scripts/models_reference.py
(writes into Tests/MedGridCohortTests/Reference/models and .../tables, relative to the package root).
"""
import json
import math
import os
import struct
from fractions import Fraction

import numpy as np
import pandas as pd
import scipy.stats
import sklearn
import statsmodels
import statsmodels.api as sm
from sklearn.cluster import KMeans
from sklearn.datasets import load_breast_cancer, load_iris, make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "MedGridCohortTests", "Reference")
MODELS = os.path.join(ROOT, "models")
TABLES = os.path.join(ROOT, "tables")
os.makedirs(MODELS, exist_ok=True)
os.makedirs(TABLES, exist_ok=True)


def dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")


def fl(a):
    return [float(x) for x in np.asarray(a).ravel()]


versions = {"numpy": np.__version__, "scipy": scipy.__version__, "pandas": pd.__version__,
            "scikit-learn": sklearn.__version__, "statsmodels": statsmodels.__version__}

# ---------------------------------------------------------------- data
bc = load_breast_cancer()
names = [n.replace(" ", "_") for n in bc.feature_names]
bcdf = pd.DataFrame(bc.data, columns=names)
bcdf["target"] = bc.target
bcdf.to_csv(os.path.join(MODELS, "breast_cancer.csv"), index=False, float_format="%.17g")
# Re-read so every value is exactly what the Swift tests parse from the CSV.
bcdf = pd.read_csv(os.path.join(MODELS, "breast_cancer.csv"), float_precision="round_trip")
X_all = bcdf[names].to_numpy()
y = bcdf["target"].to_numpy().astype(float)

iris = load_iris()
irisdf = pd.DataFrame(iris.data, columns=["sepal_length", "sepal_width", "petal_length", "petal_width"])
irisdf.to_csv(os.path.join(MODELS, "iris.csv"), index=False, float_format="%.17g")
irisdf = pd.read_csv(os.path.join(MODELS, "iris.csv"), float_precision="round_trip")

bx, _ = make_blobs(n_samples=3000, centers=6, n_features=5, random_state=7)
blobdf = pd.DataFrame(bx, columns=[f"x{i+1}" for i in range(5)])
blobdf.to_csv(os.path.join(MODELS, "blobs.csv"), index=False, float_format="%.17g")
blobdf = pd.read_csv(os.path.join(MODELS, "blobs.csv"), float_precision="round_trip")

# ---------------------------------------------------------------- logistic (MLE)
mle_features = ["mean_radius", "mean_texture", "mean_smoothness", "mean_compactness", "mean_symmetry"]
Xm = sm.add_constant(bcdf[mle_features].to_numpy())
res = sm.Logit(y, Xm).fit(method="newton", tol=1e-14, maxiter=200, disp=0)
p_mle = res.predict(Xm)
dump(os.path.join(MODELS, "logistic_mle.json"), {
    "features": mle_features, "params": fl(res.params), "bse": fl(res.bse), "z": fl(res.tvalues),
    "p": fl(res.pvalues), "llf": float(res.llf), "versions": versions,
})

# ---------------------------------------------------------------- logistic (L2, sklearn)
scaler = StandardScaler().fit(X_all)
Xs = scaler.transform(X_all)
l2 = {"scaler_mean": fl(scaler.mean_), "scaler_scale": fl(scaler.scale_),
      "sample_sd": fl(X_all.std(axis=0, ddof=1)), "fits": []}
for C in [1.0, 0.05]:
    lr = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-14, max_iter=1000).fit(Xs, y)
    l2["fits"].append({"C": C, "intercept": float(lr.intercept_[0]), "coef": fl(lr.coef_)})
dump(os.path.join(MODELS, "logistic_l2.json"), l2)


# ---------------------------------------------------------------- ROC / DeLong
def delong(scores, labels):
    """DeLong, DeLong & Clarke-Pearson (1988): structural components by the psi kernel, O(m n)."""
    X = scores[labels == 1]
    Y = scores[labels == 0]
    m, n = len(X), len(Y)
    psi = (X[:, None] > Y[None, :]).astype(float) + 0.5 * (X[:, None] == Y[None, :])
    auc = psi.mean()
    v10 = psi.mean(axis=1)
    v01 = psi.mean(axis=0)
    s10 = ((v10 - auc) ** 2).sum() / (m - 1)
    s01 = ((v01 - auc) ** 2).sum() / (n - 1)
    var = s10 / m + s01 / n
    return auc, var


roc = {}
for key, s in [("mle", p_mle), ("rounded", np.round(p_mle, 1))]:
    auc, var = delong(s, y)
    se = math.sqrt(var)
    z = scipy.stats.norm.ppf(0.975)
    roc[key] = {"scores": fl(s), "roc_auc_score": float(roc_auc_score(y, s)), "delong_auc": float(auc),
                "variance": float(var), "se": se, "lower": max(0.0, auc - z * se), "upper": min(1.0, auc + z * se)}
roc["outcome"] = fl(y)
dump(os.path.join(MODELS, "roc.json"), roc)

# ---------------------------------------------------------------- calibration
lp = np.log(p_mle / (1 - p_mle))
p_cal = 1 / (1 + np.exp(-(0.7 * lp + 0.3)))
o = np.log(p_cal / (1 - p_cal))
glm = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=o).fit(tol=1e-14)
slope = sm.Logit(y, sm.add_constant(o)).fit(method="newton", tol=1e-14, disp=0)
order = np.argsort(p_cal, kind="stable")
G = 10
N = len(y)
bins = []
hl = 0.0
for g in range(G):
    idx = order[g * N // G:(g + 1) * N // G]
    O = float(y[idx].sum())
    E = float(p_cal[idx].sum())
    bins.append({"count": int(len(idx)), "observed": O, "expected": E})
    hl += (O - E) ** 2 / (E * (1 - E / len(idx)))
dump(os.path.join(MODELS, "calibration.json"), {
    "predicted": fl(p_cal), "outcome": fl(y), "observed_minus_expected": float(y.mean() - p_cal.mean()),
    "calibration_intercept": float(glm.params[0]), "slope_intercept": float(slope.params[0]),
    "calibration_slope": float(slope.params[1]), "bins": bins, "hosmer_lemeshow": hl, "df": G - 2,
    "p_value": float(scipy.stats.chi2.sf(hl, G - 2)),
})

# ---------------------------------------------------------------- cross-validation
skf = StratifiedKFold(n_splits=5, shuffle=False)
folds = np.zeros(N, dtype=int)
aucs = []
for f, (tr, te) in enumerate(skf.split(X_all, y)):
    folds[te] = f
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-14, max_iter=1000))
    pipe.fit(X_all[tr], y[tr])
    aucs.append(float(roc_auc_score(y[te], pipe.predict_proba(X_all[te])[:, 1])))
dump(os.path.join(MODELS, "crossval.json"), {"folds": [int(v) for v in folds], "fold_aucs": aucs,
                                             "mean_auc": float(np.mean(aucs)), "C": 1.0})

# ---------------------------------------------------------------- k-means
km = {}
for key, df, rows in [("iris", irisdf, [0, 50, 100]), ("blobs", blobdf, [0, 1, 2, 3, 4, 5])]:
    X = df.to_numpy()
    init = X[rows]
    model = KMeans(n_clusters=len(rows), init=init, n_init=1, algorithm="lloyd", tol=0.0, max_iter=300).fit(X)
    km[key] = {"init_rows": rows, "init": fl(init), "labels": [int(v) for v in model.labels_],
               "centres": fl(model.cluster_centers_), "inertia": float(model.inertia_), "n_iter": int(model.n_iter_)}
dump(os.path.join(MODELS, "kmeans.json"), km)

# ---------------------------------------------------------------- SAS XPORT v5


def ibm_bytes(x):
    """Exact IBM hex float (8 bytes) of a Python float (every IEEE double in IBM range is exact)."""
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


def raw_ibm(sign, exponent, fraction):
    return bytes([(0x80 if sign else 0) | exponent]) + fraction.to_bytes(7, "big")


def ibm_exact(b):
    b = b + b"\x00" * (8 - len(b))
    sign = -1 if b[0] & 0x80 else 1
    e = b[0] & 0x7F
    frac = int.from_bytes(b[1:], "big")
    return float(sign * Fraction(frac, 1 << 56) * Fraction(16) ** (e - 64)) if frac else (-0.0 if sign < 0 else 0.0)


def pad80(b, fill=b" "):
    return b + fill * ((-len(b)) % 80)


def rec(s):
    b = s.encode("latin-1") if isinstance(s, str) else s
    assert len(b) <= 80
    return b.ljust(80, b" ")


def namestr(ntype, length, varnum, name, label, pos, fmt=""):
    return struct.pack(">hhhh8s40s8shhh2s8shhl52s", ntype, 0, length, varnum, name.ljust(8).encode(),
                       label.ljust(40).encode("latin-1"), fmt.ljust(8).encode(), 0, 0, 0, b"  ",
                       b" " * 8, 0, 0, pos, b"\x00" * 52)


def member(name, label, variables, rows):
    """variables: list of (name, label, 'num'|'char', length); rows: list of lists of raw bytes per value."""
    out = rec("HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!000000000000000001600000000140")
    out += rec("HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!000000000000000000000000000000")
    out += rec("SAS     " + name.ljust(8) + "SASDATA " + "9.4     " + "Linux   " + " " * 24 + "01JAN24:00:00:00")
    out += rec("01JAN24:00:00:00" + " " * 16 + label.ljust(40) + "DATA    ")
    out += rec("HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!000000%04d00000000000000000000" % len(variables))
    ns = b""
    pos = 0
    for i, (vn, vl, kind, length) in enumerate(variables):
        ns += namestr(1 if kind == "num" else 2, length, i + 1, vn, vl, pos)
        pos += length
    out += pad80(ns)
    out += rec("HEADER RECORD*******OBS     HEADER RECORD!!!!!!!000000000000000000000000000000")
    data = b"".join(b"".join(r) for r in rows)
    out += pad80(data)
    return out


def library(members):
    out = rec("HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!000000000000000000000000000000")
    out += rec("SAS     SAS     SASLIB  9.4     Linux   " + " " * 24 + "01JAN24:00:00:00")
    out += rec("01JAN24:00:00:00")
    for m in members:
        out += m
    return out


def charval(s, length):
    return s.encode("latin-1").ljust(length, b" ")


# Member 1: numeric edge cases (8-byte), a 4-byte and a 3-byte truncated numeric, a character column.
values = [0.0, 1.0, -1.0, 0.1, -123.456, 1e-70, 5.397605346934028e-79, 7.2e75, 1e10, 3.141592653589793,
          2.0 ** -60, 1 / 3, 65536.0, -0.5]
missing_codes = ["."] + ["._"] + [f".{chr(c)}" for c in range(ord("A"), ord("Z") + 1)]
num_raw = [ibm_bytes(v) for v in values]
# Fractions with more than 53 significant bits (not exactly representable): rounding cases.
num_raw += [raw_ibm(0, 0x41, 0x10000000000001),   # 1 + 2^-52 (exact, 53 bits)
            raw_ibm(0, 0x41, 0x10000000000000 | 0x8),  # 1 + 2^-49? exact
            raw_ibm(0, 0x41, 0x9FFFFFFFFFFFFF),  # 56 significant bits -> rounds up
            raw_ibm(1, 0x48, 0xFFFFFFFFFFFFFF),  # all ones -> rounds up to 16^8 (exact power)
            raw_ibm(0, 0x40, 0x80000000000004),  # exact tie -> even (down to 0.5)
            raw_ibm(0, 0x40, 0x8000000000000C),  # exact tie -> even (up)
            raw_ibm(0, 0x42, 0x00000000000001)]  # unnormalised tiny fraction
num_raw += [(c.encode()[1:2] if c != "." else b".") + b"\x00" * 7 for c in missing_codes]
n1 = len(num_raw)
short4 = [ibm_bytes(v)[:4] for v in [1.0, 0.1, -2.5, 1e-5]] + [b"A\x00\x00\x00"]
short3 = [ibm_bytes(v)[:3] for v in [100.0, -0.1, 12345.0]] + [b".\x00\x00"]
texts = ["alpha", "", "Ünïcode", "b c"]
rows = []
for i in range(n1):
    rows.append([num_raw[i],
                 short4[i % len(short4)],
                 short3[i % len(short3)],
                 charval(texts[i % len(texts)], 8)])
m1 = member("EDGE", "IBM float edge cases", [("VALUE", "Value (8 bytes)", "num", 8),
                                            ("SHORT4", "Value (4 bytes)", "num", 4),
                                            ("SHORT3", "Value (3 bytes)", "num", 3),
                                            ("NAME", "Name text", "char", 8)], rows)
# Member 2: an ADTTE-like member with 5-byte observations (blank padding holds whole blank observations).
adtte_rows = [[charval("S%02d" % (i % 3 + 1), 3), ibm_bytes(float(i % 2))[:2]] for i in range(7)]
m2 = member("ADTTE", "Small ADTTE", [("SITEID", "Site", "char", 3), ("CNSR", "Censor", "num", 2)], adtte_rows)
os.makedirs(os.path.join(TABLES, "xport"), exist_ok=True)
with open(os.path.join(TABLES, "xport", "edge.xpt"), "wb") as f:
    f.write(library([m1, m2]))
with open(os.path.join(TABLES, "xport", "adtte.xpt"), "wb") as f:
    f.write(library([m2]))


def exact_col(raws):
    out = []
    for b in raws:
        if b[0:1] in (b".", b"_") or (0x41 <= b[0] <= 0x5A):
            if all(c == 0 for c in b[1:]):
                out.append(None)
                continue
        out.append(ibm_exact(b))
    return out


expected = {
    "EDGE": {
        "VALUE": exact_col(num_raw),
        "SHORT4": exact_col([short4[i % len(short4)] for i in range(n1)]),
        "SHORT3": exact_col([short3[i % len(short3)] for i in range(n1)]),
        "NAME": [texts[i % len(texts)] or None for i in range(n1)],
        "rows": n1,
    },
    "ADTTE": {"SITEID": ["S%02d" % (i % 3 + 1) for i in range(7)], "CNSR": [float(i % 2) for i in range(7)], "rows": 7},
}
pdf = pd.read_sas(os.path.join(TABLES, "xport", "edge.xpt"), format="xport")
expected["pandas_EDGE"] = {c: [None if (isinstance(v, float) and math.isnan(v)) else v for v in fl(pdf[c])] for c in ["VALUE", "SHORT4", "SHORT3"]}
pdf2 = pd.read_sas(os.path.join(TABLES, "xport", "adtte.xpt"), format="xport")
expected["pandas_ADTTE"] = {"rows": int(len(pdf2)), "CNSR": fl(pdf2["CNSR"])}
dump(os.path.join(TABLES, "xport_expected.json"), expected)

# Report pandas vs exact agreement.
agree = sum(1 for a, b in zip(expected["EDGE"]["VALUE"], expected["pandas_EDGE"]["VALUE"]) if a == b)
print("pandas agrees with exact IBM values on", agree, "of", n1, "VALUE cells")
for a, b in zip(expected["EDGE"]["VALUE"], expected["pandas_EDGE"]["VALUE"]):
    if a != b:
        print("  differs: exact", a, "pandas", b)
print("done")
