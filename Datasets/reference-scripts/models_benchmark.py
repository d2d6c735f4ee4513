"""Benchmark data and scikit-learn timings for the MedGridCohort model performance check.

Writes to $MEDGRID_MODELS_BENCH (default /tmp/models-bench):
  logistic_X.f64 (1,000,000 x 20, row-major little-endian float64), logistic_y.f64 (0/1),
  kmeans_X.f64 (1,000,000 x 10), kmeans_init.f64 (8 x 10: rows 0..7), bench.csv (the logistic data as CSV
  with a header x1..x20,y, for the AnalysisTable parse benchmark) and sklearn_times.json.
Data: numpy default_rng(2024); logistic features N(0,1), true beta_j = (-1)^j * 0.1 * (j+1)/4, intercept -0.5;
k-means: 8 Gaussian blobs (sd 1) around centres drawn uniformly in [-10, 10]^10.
Timings: scikit-learn 1.9.1 LogisticRegression(C=1.0) with solver lbfgs (default) and newton-cholesky,
tol=1e-10; KMeans(n_clusters=8, init=rows 0..7, n_init=1, algorithm="lloyd", tol=0, max_iter=50).
Run with one thread:  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /tmp/ref-venv/bin/python reference-scripts/models_benchmark.py
"""
import json
import os
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression

out = os.environ.get("MEDGRID_MODELS_BENCH", "/tmp/models-bench")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(2024)
n, d = 1_000_000, 20
X = rng.standard_normal((n, d))
beta = np.array([(-1) ** j * 0.1 * (j + 1) / 4 for j in range(d)])
p = 1 / (1 + np.exp(-(X @ beta - 0.5)))
y = (rng.random(n) < p).astype(float)
X.astype("<f8").tofile(os.path.join(out, "logistic_X.f64"))
y.astype("<f8").tofile(os.path.join(out, "logistic_y.f64"))
if not os.path.exists(os.path.join(out, "bench.csv")):
    with open(os.path.join(out, "bench.csv"), "w") as f:
        f.write(",".join([f"x{j+1}" for j in range(d)] + ["y"]) + "\n")
        block = 100_000
        for s in range(0, n, block):
            rows = np.column_stack([np.round(X[s:s + block], 6), y[s:s + block]])
            f.write("\n".join(",".join(f"{v:.6f}" for v in r[:-1]) + f",{int(r[-1])}" for r in rows) + "\n")

centres = rng.uniform(-10, 10, (8, 10))
which = rng.integers(0, 8, 1_000_000)
K = centres[which] + rng.standard_normal((1_000_000, 10))
K.astype("<f8").tofile(os.path.join(out, "kmeans_X.f64"))
K[:8].astype("<f8").tofile(os.path.join(out, "kmeans_init.f64"))

times = {"threads": os.environ.get("OMP_NUM_THREADS")}
for solver in ["lbfgs", "newton-cholesky"]:
    t = time.perf_counter()
    lr = LogisticRegression(C=1.0, solver=solver, tol=1e-10, max_iter=1000).fit(X, y)
    times[f"logistic_{solver}_s"] = time.perf_counter() - t
    times[f"logistic_{solver}_n_iter"] = int(lr.n_iter_[0])
    times[f"logistic_{solver}_coef"] = [float(lr.intercept_[0])] + [float(v) for v in lr.coef_[0]]
t = time.perf_counter()
km = KMeans(n_clusters=8, init=K[:8], n_init=1, algorithm="lloyd", tol=0.0, max_iter=50).fit(K)
times["kmeans_s"] = time.perf_counter() - t
times["kmeans_n_iter"] = int(km.n_iter_)
times["kmeans_inertia"] = float(km.inertia_)
with open(os.path.join(out, "sklearn_times.json"), "w") as f:
    json.dump(times, f, indent=1)
print(json.dumps({k: v for k, v in times.items() if not k.endswith("coef")}, indent=1))
