"""Python side of Benchmarks/cohort-analytics.sh: makes the synthetic cohort CSVs, times lifelines and
scikit-learn on them, checks their results against MedGrid's, and prints the table.

  cohort_reference.py generate survival|binary|blobs --rows N --out FILE [--seed S]
  cohort_reference.py centres FILE --k K          the first K data rows, flattened, as a JSON list (the text
                                                  of the CSV cells, so both sides start from the same values)
  cohort_reference.py run TASK --csv FILE [--medgrid JSON] [--solver S] [--k K] [--repeats N]
                                                  one JSON line: seconds (compute only) and agreement
  cohort_reference.py table RESULTS.jsonl         the comparison table (standard library only)

The CSV is read with pandas (float_precision='round_trip', so every value is the exact decimal of the file,
as MedGrid parses it) before the clock starts; then one warm-up call on the first rows, and only the fit is
timed (time.perf_counter), the fastest of --repeats. The number of threads of the reference is set by the
caller (OMP_NUM_THREADS and friends) and enforced here with threadpoolctl when it is installed.
"""
import argparse
import json
import math
import os
import sys
import time

COX_COVARIATES = ["X%d" % i for i in range(1, 11)]
LOGISTIC_COVARIATES = ["X%d" % i for i in range(1, 21)]
KMEANS_COLUMNS = ["F%d" % i for i in range(1, 11)]


# ------------------------------------------------------------------------------------------------- generate
def write_csv(path, header, columns, formats):
    """Write columns (numpy arrays) with printf formats, in chunks (fast enough for millions of rows)."""
    import numpy as np
    n = len(columns[0])
    fmt = ",".join(formats) + "\n"
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        chunk = 100_000
        for start in range(0, n, chunk):
            block = np.column_stack([c[start:start + chunk] for c in columns]).astype(object)
            f.write("".join(fmt % tuple(row) for row in block))


def generate(kind, rows, out, seed):
    import numpy as np
    rng = np.random.default_rng(seed)
    if kind == "survival":
        # Weibull proportional hazards (shape 1.3, scale 365 days), X1 a 0/1 arm, X2..X10 standard normal;
        # uniform censoring over 3 years; times rounded up to whole days, so there are many ties.
        x = rng.normal(size=(rows, 10))
        x[:, 0] = rng.integers(0, 2, size=rows)
        x = np.round(x, 6)
        beta = np.array([-0.5, 0.3, -0.2, 0.1, 0.0, 0.05, -0.1, 0.2, 0.0, 0.15])
        u = rng.uniform(size=rows)
        t = 365.0 * (-np.log(u) / np.exp(x @ beta)) ** (1 / 1.3)
        c = rng.uniform(0, 3 * 365.0, size=rows)
        time_ = np.maximum(1, np.ceil(np.minimum(t, c))).astype(np.int64)
        event = (t <= c).astype(np.int64)
        write_csv(out, ["TIME", "EVENT"] + COX_COVARIATES, [time_, event] + [x[:, j] for j in range(10)],
                  ["%d", "%d", "%d"] + ["%.6f"] * 9)
        print(json.dumps({"rows": rows, "events": int(event.sum()), "distinctTimes": int(len(np.unique(time_)))}))
    elif kind == "binary":
        p = len(LOGISTIC_COVARIATES)
        x = np.round(rng.normal(size=(rows, p)), 6)
        beta = np.round(rng.normal(0, 0.4, size=p), 3)
        eta = -0.5 + x @ beta
        y = (rng.uniform(size=rows) < 1 / (1 + np.exp(-eta))).astype(np.int64)
        write_csv(out, ["Y"] + LOGISTIC_COVARIATES, [y] + [x[:, j] for j in range(p)], ["%d"] + ["%.6f"] * p)
        print(json.dumps({"rows": rows, "events": int(y.sum())}))
    else:
        k, p = 8, len(KMEANS_COLUMNS)
        centres = rng.uniform(-5, 5, size=(k, p))
        labels = rng.integers(0, k, size=rows)
        x = np.round(centres[labels] + rng.normal(0, 1.5, size=(rows, p)), 6)
        write_csv(out, KMEANS_COLUMNS, [x[:, j] for j in range(p)], ["%.6f"] * p)
        print(json.dumps({"rows": rows, "clusters": k}))


def centres(path, k):
    with open(path) as f:
        f.readline()
        values = []
        for _ in range(k):
            values.extend(cell.strip() for cell in f.readline().split(","))
    print("[" + ",".join(values) + "]")


# ------------------------------------------------------------------------------------------------- run
def limit_threads():
    n = int(os.environ.get("MEDGRID_BENCH_REF_THREADS", "1"))
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=n)
    except ImportError:
        pass
    return n


def read_csv(path):
    import pandas as pd
    return pd.read_csv(path, float_precision="round_trip")


def timed(fn, args, small_args, repeats):
    if small_args is not None:
        try:
            fn(*small_args)
        except Exception:
            pass
    best, result = math.inf, None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def load_medgrid(path):
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f).get("result")


def run_cox(a):
    import warnings
    import lifelines
    from lifelines import CoxPHFitter
    df = read_csv(a.csv)[["TIME", "EVENT"] + COX_COVARIATES]

    def fit(frame):
        cph = CoxPHFitter()  # Efron ties, no penalty
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cph.fit(frame, duration_col="TIME", event_col="EVENT")
        start = time.perf_counter()
        cindex = cph.concordance_index_  # lazy in lifelines; MedGrid's result includes it
        return cph, cindex, time.perf_counter() - start
    secs, (cph, cindex, csecs) = timed(fit, (df,), (df.iloc[:2000],), a.repeats)
    res = dict(reference="lifelines CoxPHFitter fit + concordance_index_", version="lifelines " + lifelines.__version__,
               seconds=secs, fitSeconds=secs - csecs, note="fit %.3f s + concordance_index_ %.3f s" % (secs - csecs, csecs))
    mg = load_medgrid(a.medgrid)
    if mg:
        coef = {c["covariate"]: c for c in mg["coefficients"]}
        dc = max(abs(coef[n]["coef"] - cph.params_[n]) for n in COX_COVARIATES)
        ds = max(abs(coef[n]["se"] - cph.standard_errors_[n]) for n in COX_COVARIATES)
        res["agreement"] = "max|dcoef| %.1e, max|dse| %.1e, dC %.1e" % (dc, ds, abs(mg.get("concordance", float("nan")) - cindex))
        res["maxCoefDiff"] = dc
    return res


def run_km(a):
    import numpy as np
    import lifelines
    from lifelines import KaplanMeierFitter
    df = read_csv(a.csv)
    t, e = df["TIME"].to_numpy(), df["EVENT"].to_numpy()

    def fit(tt, ee):
        kmf = KaplanMeierFitter()
        kmf.fit(tt, ee)
        return kmf
    secs, kmf = timed(fit, (t, e), (t[:2000], e[:2000]), a.repeats)
    res = dict(reference="lifelines KaplanMeierFitter", version="lifelines " + lifelines.__version__, seconds=secs)
    mg = load_medgrid(a.medgrid)
    if mg:
        curve = mg["curves"][0]
        times = np.asarray(curve["times"], dtype=float)
        s_ref = kmf.survival_function_at_times(times).to_numpy()
        ds = float(np.max(np.abs(np.asarray(curve["survival"]) - s_ref))) if len(times) else 0.0
        med = kmf.median_survival_time_
        res["agreement"] = "max|dS| %.1e over %d times, median %s vs %s" % (ds, len(times), _num(curve.get("median")), _num(med))
    return res


def _num(v):
    if v is None:
        return "none"
    return "%g" % v


def run_logistic(a):
    import warnings
    import numpy as np
    import sklearn
    from sklearn.linear_model import LogisticRegression
    df = read_csv(a.csv)
    x = df[LOGISTIC_COVARIATES].to_numpy(dtype=np.float64)
    y = df["Y"].to_numpy()
    major_minor = tuple(int(p) for p in sklearn.__version__.split(".")[:2])
    unpenalised = {"C": np.inf} if major_minor >= (1, 8) else {"penalty": None}

    def fit(xx, yy):
        clf = LogisticRegression(solver=a.solver, max_iter=1000, **unpenalised)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(xx, yy)
        return clf
    secs, clf = timed(fit, (x, y), (x[:5000], y[:5000]), a.repeats)
    penalty = "C=inf" if "C" in unpenalised else "penalty=None"
    res = dict(reference="sklearn LogisticRegression %s (%s)" % (a.solver, penalty),
               version="scikit-learn " + sklearn.__version__, seconds=secs,
               note="%s iterations, default tol" % int(np.max(clf.n_iter_)))
    mg = load_medgrid(a.medgrid)
    if mg:
        coef = {c["name"]: c["coefficient"] for c in mg["coefficients"]}
        diffs = [abs(coef["(Intercept)"] - clf.intercept_[0])]
        diffs += [abs(coef[n] - clf.coef_[0][i]) for i, n in enumerate(LOGISTIC_COVARIATES)]
        res["agreement"] = "max|dcoef| %.1e" % max(diffs)
        res["maxCoefDiff"] = max(diffs)
    return res


def run_kmeans(a):
    import numpy as np
    import sklearn
    from sklearn.cluster import KMeans
    df = read_csv(a.csv)
    x = df[KMEANS_COLUMNS].to_numpy(dtype=np.float64)
    init = x[:a.k].copy()

    def fit(xx):
        km = KMeans(n_clusters=a.k, init=init, n_init=1, algorithm="lloyd", max_iter=300, tol=0.0)
        km.fit(xx)
        return km
    secs, km = timed(fit, (x,), (x[:5000],), a.repeats)
    res = dict(reference="sklearn KMeans lloyd, init=first %d rows, n_init=1, tol=0" % a.k,
               version="scikit-learn " + sklearn.__version__, seconds=secs,
               note="%d iterations" % km.n_iter_)
    mg = load_medgrid(a.medgrid)
    if mg:
        rel = abs(mg["inertia"] - km.inertia_) / max(abs(km.inertia_), 1e-300)
        dc = float(np.max(np.abs(np.asarray(mg["centres"]) - km.cluster_centers_)))
        res["agreement"] = "inertia rel diff %.1e, max|dcentre| %.1e, iterations %s vs %d" % (
            rel, dc, mg.get("iterations"), km.n_iter_)
    return res


RUNNERS = {"cox": run_cox, "km": run_km, "logistic": run_logistic, "kmeans": run_kmeans}


def run(a):
    threads = limit_threads()
    try:
        res = RUNNERS[a.task](a)
        res["threads"] = threads
    except ImportError as e:
        res = {"missing": "not installed (%s)" % e}
    print(json.dumps(res))


# ------------------------------------------------------------------------------------------------- table
def table(path, cores):
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    header = "%-16s %9s %11s %11s  %-56s %9s %8s %8s  %s" % (
        "task", "rows", "MedGrid s", "1 core s", "reference", "ref s", "ratio", "ratio 1c", "agreement")
    print(header)
    print("-" * len(header))
    expanded = []
    for r in rows:
        expanded.append(r)
        ref = r.get("ref", {})
        if "fitSeconds" in ref:  # lifelines Cox: also the fit alone (without the concordance MedGrid computes)
            alone = dict(ref, seconds=ref["fitSeconds"], reference="lifelines CoxPHFitter fit() alone")
            alone.pop("fitSeconds")
            expanded.append(dict(r, ref=alone))
    for r in expanded:
        mg, mg1, ref = r.get("medgrid"), r.get("medgrid1"), r.get("ref", {})
        if "missing" in ref or "error" in ref:
            refs, ratio, ratio1, agree = ("not installed" if "missing" in ref else "error"), "-", "-", ref.get("missing", ref.get("error", ""))
        else:
            s = ref.get("seconds")
            refs = "%.3f" % s
            ratio = "x%.2f" % (s / mg) if mg else "-"
            ratio1 = "x%.2f" % (s / mg1) if mg1 else "-"
            agree = ref.get("agreement", "")
        print("%-16s %9d %11s %11s  %-56s %9s %8s %8s  %s" % (
            r["task"], r["rows"], "%.3f" % mg if mg is not None else "failed",
            "%.3f" % mg1 if mg1 is not None else "-", ref.get("reference", "")[:56], refs, ratio, ratio1, agree))
    print()
    print("Seconds are compute only: the CSV is parsed first and excluded (MedGrid: the \"seconds\" of")
    print("`medgrid kernel run --timing`; Python: pandas.read_csv before the clock starts), then the fit alone is")
    print("timed. MedGrid s = all cores; 1 core s = MedGrid under `taskset -c 0` (its threads share core 0).")
    print("ratio = reference s / MedGrid s (all cores), ratio 1c = reference s / MedGrid 1-core s: above 1 means")
    print("MedGrid is faster. The references ran with %s thread(s) (OMP/OPENBLAS/MKL_NUM_THREADS, threadpoolctl)."
          % os.environ.get("MEDGRID_BENCH_REF_THREADS", "1"))
    print("Machine: %s cores." % cores)
    notes = [(r["task"], r["rows"], r["ref"]) for r in rows if r.get("ref", {}).get("note") or r.get("ref", {}).get("version")]
    if notes:
        print()
        print("Notes:")
        for task, n, ref in notes:
            print("  %-16s %9d  %s%s" % (task, n, ref.get("version", ""), "; " + ref["note"] if ref.get("note") else ""))
        print("  MedGrid's survival.cox computes SEs, LR/Wald/score tests and the concordance index in its seconds; lifelines")
        print("  computes the concordance lazily, so it is timed both with concordance_index_ (the same work) and without.")
        print("  lifelines' fit also estimates the baseline hazard, which MedGrid does not.")
        print("  MedGrid's model.logistic also gives SEs and Wald p-values (scikit-learn computes neither).")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("kind", choices=["survival", "binary", "blobs"])
    g.add_argument("--rows", type=int, required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--seed", type=int, default=7)
    c = sub.add_parser("centres")
    c.add_argument("csv")
    c.add_argument("--k", type=int, default=8)
    r = sub.add_parser("run")
    r.add_argument("task", choices=sorted(RUNNERS))
    r.add_argument("--csv", required=True)
    r.add_argument("--medgrid", default="")
    r.add_argument("--solver", default="lbfgs")
    r.add_argument("--k", type=int, default=8)
    r.add_argument("--repeats", type=int, default=1)
    t = sub.add_parser("table")
    t.add_argument("results")
    t.add_argument("--cores", default=str(os.cpu_count()))
    a = p.parse_args()
    if a.cmd == "generate":
        generate(a.kind, a.rows, a.out, a.seed)
    elif a.cmd == "centres":
        centres(a.csv, a.k)
    elif a.cmd == "run":
        run(a)
    else:
        table(a.results, a.cores)


if __name__ == "__main__":
    main()
