"""Reference values for the MedGrid survival statistics (Kaplan-Meier, Nelson-Aalen, log-rank, Cox, C-index).

Computes, on the Rossi recidivism data and the NCCTG lung data shipped with lifelines:
  - Kaplan-Meier (lifelines KaplanMeierFitter): survival, Greenwood sum, log-log ("exponential Greenwood")
    band, median and its CI (median_survival_times of the band). The `plain` and `log` bands are derived
    here with numpy from lifelines' S and Greenwood sum using R survfit's formulas (clipped to [0, 1]).
  - Nelson-Aalen (lifelines NelsonAalenFitter, nelson_aalen_smoothing True and False): H, variance, band.
  - Log-rank: lifelines logrank_test (2 groups), multivariate_logrank_test (k groups), statsmodels
    duration.survdiff(strata=...) for the stratified test.
  - Cox: lifelines CoxPHFitter (Efron ties; unstratified and strata=['wexp']; robust=True on a tie-free
    variant of Rossi where lifelines' residuals are exact), statsmodels PHReg (Breslow ties, unstratified
    and stratified, robust covariance with one group per subject), score test U(0)' I(0)^-1 U(0) from
    statsmodels PHReg score/hessian at 0, Wald beta' V^-1 beta from lifelines, LR test from lifelines,
    concordance from lifelines.
  - Harrell's C (lifelines.utils.concordance_index) on lung with tied scores.
  - A timing of lifelines CoxPHFitter on the synthetic 100k x 10 benchmark data (SplitMix64 generator, same
    as the Swift test SurvivalPerformanceTests), printed only.

Writes Tests/MedGridCohortTests/Reference/survival/{rossi.csv, lung.csv, survival_reference.json}.
Versions used: lifelines 0.30.3, statsmodels 0.15.0, numpy 2.4.6, scipy 1.17.1, pandas 2.3.3.
Run from /work/scratch/survival:  /tmp/ref-venv/bin/python reference-scripts/survival_reference.py [--bench]
"""
import json, math, os, sys, time
import numpy as np
import pandas as pd
import lifelines
from lifelines import KaplanMeierFitter, NelsonAalenFitter, CoxPHFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test
from lifelines.utils import median_survival_times, concordance_index
from lifelines.datasets import load_rossi, load_lung
import statsmodels
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import survdiff
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "MedGridCohortTests", "Reference", "survival")
os.makedirs(OUT, exist_ok=True)

rossi = load_rossi()
lung = load_lung()
rossi.to_csv(os.path.join(OUT, "rossi.csv"), index=False)
lung.to_csv(os.path.join(OUT, "lung.csv"), index=False)
COX_COLS = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]

def fl(a):
    return [None if (isinstance(v, float) and not math.isfinite(v)) else float(v) for v in np.asarray(a, dtype=float)]

def num(v):
    v = float(v)
    return v if math.isfinite(v) else None

ref = {"versions": {"lifelines": lifelines.__version__, "statsmodels": statsmodels.__version__,
                    "numpy": np.__version__, "pandas": pd.__version__}}

# ---------------- Kaplan-Meier ----------------
def km(name, T, E, alpha=0.05):
    kmf = KaplanMeierFitter(alpha=alpha).fit(T, E)
    tl = kmf.timeline  # includes 0
    S = kmf.survival_function_.values[:, 0]
    G = kmf._cumulative_sq_.reindex(tl).values
    ci = kmf.confidence_interval_.values
    z = stats.norm.ppf(1 - alpha / 2)
    se = np.sqrt(G)
    plain_lo = np.clip(S - z * S * se, 0, 1); plain_hi = np.clip(S + z * S * se, 0, 1)
    log_lo = S * np.exp(-z * se); log_hi = np.minimum(S * np.exp(z * se), 1)
    med_ci = median_survival_times(kmf.confidence_interval_)
    ref["km_" + name] = {
        "alpha": alpha, "times": fl(tl), "survival": fl(S), "greenwood_sum": fl(G),
        "loglog_lower": fl(ci[:, 0]), "loglog_upper": fl(ci[:, 1]),
        "plain_lower": fl(plain_lo), "plain_upper": fl(plain_hi), "log_lower": fl(log_lo), "log_upper": fl(log_hi),
        "median": num(kmf.median_survival_time_),
        "median_lower": num(med_ci.iloc[0, 0]), "median_upper": num(med_ci.iloc[0, 1]),
        "at": [0.5, 100.0, 310.0, 1000.0, 52.0],
        "survival_at": fl(kmf.survival_function_at_times([0.5, 100.0, 310.0, 1000.0, 52.0]).values),
    }

km("rossi", rossi.week, rossi.arrest)
km("lung", lung.time, lung.status)
km("lung_alpha10", lung.time, lung.status, alpha=0.10)
lung_m = lung[lung.sex == 1]
km("lung_male", lung_m.time, lung_m.status)

# ---------------- Nelson-Aalen ----------------
for smooth in (True, False):
    naf = NelsonAalenFitter(nelson_aalen_smoothing=smooth).fit(lung.time, lung.status)
    tl = naf.timeline
    ref["na_lung_" + ("smoothed" if smooth else "discrete")] = {
        "times": fl(tl), "cumulative_hazard": fl(naf.cumulative_hazard_.values[:, 0]),
        "variance": fl(naf._cumulative_sq.reindex(tl).values),
        "lower": fl(naf.confidence_interval_.values[:, 0]), "upper": fl(naf.confidence_interval_.values[:, 1]),
    }

# ---------------- Log-rank ----------------
m = lung.sex == 1
r2 = logrank_test(lung.time[m], lung.time[~m], lung.status[m], lung.status[~m])
ref["logrank_lung_sex"] = {"chi_square": float(r2.test_statistic), "p_value": float(r2.p_value)}
lung_e = lung.dropna(subset=["ph.ecog"])
rk = multivariate_logrank_test(lung_e.time, lung_e["ph.ecog"].astype(int), lung_e.status)
ref["logrank_lung_ecog"] = {"chi_square": float(rk.test_statistic), "p_value": float(rk.p_value),
                            "df": int(rk.degrees_of_freedom)}
rr = multivariate_logrank_test(rossi.week, rossi.prio.clip(upper=3), rossi.arrest)
ref["logrank_rossi_prio4"] = {"chi_square": float(rr.test_statistic), "p_value": float(rr.p_value)}
chi, p = survdiff(rossi.week.values, rossi.arrest.values, rossi.fin.values, strata=rossi.wexp.values)
ref["logrank_rossi_fin_strata_wexp"] = {"chi_square": float(chi), "p_value": float(p)}
chi, p = survdiff(lung_e.time.values, lung_e.status.values, lung_e.sex.values, strata=lung_e["ph.ecog"].astype(int).values)
ref["logrank_lung_sex_strata_ecog"] = {"chi_square": float(chi), "p_value": float(p)}
chi, p = survdiff(rossi.week.values, rossi.arrest.values, rossi.fin.values)
ref["logrank_rossi_fin_statsmodels"] = {"chi_square": float(chi), "p_value": float(p)}

# ---------------- Cox ----------------
def sm_fit(df, ties, strata=None, time_col="week"):
    COX_COLS = [c for c in globals()["COX_COLS"] if c != strata]
    mod = PHReg(df[time_col].values, df[COX_COLS].values.astype(float), status=df.arrest.values, ties=ties,
                strata=None if strata is None else df[strata].values)
    res = mod.fit(method="newton", maxiter=100, tol=1e-12)
    rmod = PHReg(df[time_col].values, df[COX_COLS].values.astype(float), status=df.arrest.values, ties=ties,
                 strata=None if strata is None else df[strata].values)
    rmod.groups = np.arange(len(df))
    robust = rmod.robust_covariance(res.params)
    U0 = mod.score(np.zeros(len(COX_COLS)))
    H0 = mod.hessian(np.zeros(len(COX_COLS)))
    score_test = float(U0 @ np.linalg.solve(-H0, U0))
    ll0 = mod.loglike(np.zeros(len(COX_COLS)))
    V = np.linalg.inv(-mod.hessian(res.params))
    wald = float(res.params @ np.linalg.solve(V, res.params))
    return {"covariates": COX_COLS, "coef": fl(res.params), "se": fl(np.sqrt(np.diag(V))), "robust_se": fl(np.sqrt(np.diag(robust))),
            "log_likelihood": float(res.llf), "null_log_likelihood": float(ll0),
            "score_test": score_test, "score_p": float(stats.chi2.sf(score_test, len(COX_COLS))),
            "wald": wald, "wald_p": float(stats.chi2.sf(wald, len(COX_COLS))),
            "lr": float(2 * (res.llf - ll0)), "lr_p": float(stats.chi2.sf(2 * (res.llf - ll0), len(COX_COLS)))}

def ll_fit(df, strata=None, robust=False, time_col="week"):
    cph = CoxPHFitter(strata=strata)
    covs = [c for c in COX_COLS if strata is None or c not in strata]
    cols = [time_col, "arrest"] + covs + ([] if strata is None else strata)
    cph.fit(df[cols], duration_col=time_col, event_col="arrest", robust=robust)
    lr = cph.log_likelihood_ratio_test()
    beta = cph.params_.values
    V = cph.variance_matrix_.values
    wald = float(beta @ np.linalg.solve(V, beta))
    out = {"covariates": covs, "coef": fl(beta), "se": fl(cph.standard_errors_.values), "log_likelihood": float(cph.log_likelihood_),
           "lr": float(lr.test_statistic), "lr_p": float(lr.p_value), "wald": wald,
           "wald_p": float(stats.chi2.sf(wald, len(beta))), "concordance": float(cph.concordance_index_),
           "hr_lower": fl(cph.summary["exp(coef) lower 95%"].values),
           "hr_upper": fl(cph.summary["exp(coef) upper 95%"].values), "p": fl(cph.summary["p"].values)}
    if not robust:
        out["model_se"] = out["se"]
    return out

ref["cox_rossi_efron"] = ll_fit(rossi)
sm_e = sm_fit(rossi, "efron")
ref["cox_rossi_efron"]["score_test"] = sm_e["score_test"]
ref["cox_rossi_efron"]["score_p"] = sm_e["score_p"]
ref["cox_rossi_efron"]["statsmodels_coef"] = sm_e["coef"]
ref["cox_rossi_efron_strata_wexp"] = ll_fit(rossi, strata=["wexp"])
ref["cox_rossi_breslow"] = sm_fit(rossi, "breslow")
ref["cox_rossi_breslow_strata_wexp"] = sm_fit(rossi, "breslow", strata="wexp")
# Tie-free variant: week + (row + 1) / 1000, where Efron == Breslow and lifelines' robust residuals are exact.
rossi_d = rossi.copy()
rossi_d["week"] = rossi.week + (np.arange(len(rossi)) + 1) / 1000.0
ref["cox_rossi_distinct_robust"] = ll_fit(rossi_d, robust=True)
ref["cox_rossi_distinct_robust"]["statsmodels_robust_se"] = sm_fit(rossi_d, "breslow")["robust_se"]

# ---------------- Concordance ----------------
lc = lung.dropna(subset=["ph.karno"])
ref["cindex_lung_karno"] = {"value": float(concordance_index(lc.time, lc["ph.karno"], lc.status))}
ref["cindex_lung_age"] = {"value": float(concordance_index(lung.time, -lung.age, lung.status))}

with open(os.path.join(OUT, "survival_reference.json"), "w") as f:
    json.dump(ref, f, indent=1)
print("wrote", os.path.join(OUT, "survival_reference.json"))

# ---------------- Benchmark (optional) ----------------
MASK = (1 << 64) - 1
class SplitMix64:
    def __init__(self, seed): self.s = seed
    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)
    def uniform(self): return (self.next() >> 11) * 2.0 ** -53

def bench_data(n=100_000, p=10, seed=2024):
    g = SplitMix64(seed)
    beta = [0.1 * (j + 1) * (-1) ** j for j in range(p)]
    X = np.empty((n, p)); T = np.empty(n); E = np.empty(n, dtype=bool)
    for i in range(n):
        eta = 0.0
        for j in range(p):
            v = 2 * g.uniform() - 1
            X[i, j] = v; eta += beta[j] * v
        t = -math.log(1 - g.uniform()) / math.exp(eta)
        c = -math.log(1 - g.uniform()) / 0.5
        T[i] = min(t, c); E[i] = t <= c
    return X, T, E

if "--bench" in sys.argv:
    X, T, E = bench_data()
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])]); df["T"] = T; df["E"] = E
    t0 = time.perf_counter()
    cph = CoxPHFitter().fit(df, "T", "E")
    print(f"lifelines CoxPHFitter (Efron) 100k x 10: {time.perf_counter() - t0:.2f} s; coef[0:3] = {cph.params_.values[:3]}; events = {E.sum()}")
