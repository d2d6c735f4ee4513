"""Reference values for MedGridReports/Ranking (challengeR-style ranking of challenge algorithms).

What it computes (written to Tests/MedGridReportsTests/Reference/ranking/):
  wilcoxon.json  paired Wilcoxon signed-rank p-values from scipy.stats.wilcoxon, with the method chosen as R's
                 wilcox.test(paired=TRUE, exact=NULL, correct=TRUE) chooses it:
                   d = x - y over complete pairs; zeros dropped (scipy zero_method="wilcox");
                   method="exact" when n_nonzero < 50 and no ties among |d| and no zero was dropped,
                   else method="approx" with correction=True (tie-corrected variance, continuity correction).
                 If Rscript is on PATH, R's wilcox.test p-values are also recorded ("r_p") and checked to agree
                 with scipy to 1e-12.
  holm.json      Holm-adjusted p-values, statsmodels.stats.multitest.multipletests(method="holm")
                 (and R p.adjust(method="holm") when Rscript exists).
  kendall.json   Kendall tau-b with ties, scipy.stats.kendalltau(variant="b").
  quantiles.json numpy.quantile(method="linear") == R type 7.
  schemes.json   a small challenge table (6 algorithms x 14 cases, larger-is-better "DSC" and smaller-is-better
                 "HD" metric) found by a seeded search so that the four schemes give four different rankings;
                 rankings of every scheme x missing policy x adjustment computed here with
                 scipy.stats.rankdata(method="min"), numpy mean/median, the Wilcoxon above and statsmodels Holm;
                 consensus (mean of ranks); Kendall tau-b between schemes.
  bootstrap.json bootstrap rank distributions re-implemented here (SplitMix64 per replicate as documented in
                 RankingSettings.swift, Lemire bounded draws), numpy type-7 quantiles, scipy tau-b.
  scores.csv     tables dsc_missing (metric DSC) and hd (metric HD) of schemes.json in long format, task "seg",
                 rows shuffled, columns in a non-standard order, missing values as NA or empty.

Versions used: Python 3.11, numpy 2.4.6, scipy 1.17.1, statsmodels 0.15.0, pandas 2.3.3;
R 4.2.2 (Debian r-base-core) for the optional cross-check.

Run:  /tmp/ref-venv/bin/python reference-scripts/ranking_reference.py   (from /work/scratch/ranking)
"""

import json
import os
import shutil
import subprocess

import numpy as np
import scipy
import scipy.stats as st
from statsmodels.stats.multitest import multipletests

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "MedGridReportsTests", "Reference", "ranking")
os.makedirs(OUT, exist_ok=True)
HAVE_R = shutil.which("Rscript") is not None


def jnum(v):
    if v is None:
        return None
    v = float(v)
    return None if np.isnan(v) else v


# ---------------------------------------------------------------- Wilcoxon (R's method choice, scipy values)

def r_wilcox(x, y, alternative):
    """p-value of R's wilcox.test(x, y, paired=TRUE, alternative, exact=NULL, correct=TRUE) computed by scipy."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    d = x - y
    zeros = int(np.sum(d == 0))
    nz = d[d != 0]
    n = len(nz)
    if n == 0:
        return 1.0, "none", n, zeros  # documented deviation: p = 1 when nothing is left
    ties = len(np.unique(np.abs(nz))) != n
    method = "exact" if (n < 50 and not ties and zeros == 0) else "approx"
    res = st.wilcoxon(x, y, zero_method="wilcox", correction=True, alternative=alternative, method=method)
    return float(res.pvalue), method, n, zeros


def r_values(script):
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True).stdout
    return [float(v) for v in out.split()]


def rvec(v):
    return "c(" + ",".join("NA" if np.isnan(a) else repr(float(a)) for a in v) + ")"


wilcoxon_cases = []
rng = np.random.default_rng(20240611)


def add_case(name, x, y, alternatives=("less", "greater", "two-sided")):
    for alt in alternatives:
        p, method, n, zeros = r_wilcox(x, y, alt)
        wilcoxon_cases.append({"name": name, "x": [jnum(a) for a in x], "y": [jnum(a) for a in y],
                               "alternative": alt, "method": method, "n": n, "zeros": zeros, "p": p})


add_case("worked example: all differences tied", [0.2] * 4, [1.0] * 4, ("less",))
add_case("worked example, other directions", [0.2] * 4, [1.0] * 4, ("greater", "two-sided"))
add_case("exact n=10 no ties", list(np.round(rng.normal(0.8, 0.05, 10), 6)), list(np.round(rng.normal(0.78, 0.05, 10), 6)))
add_case("exact n=12 strong effect", list(np.round(rng.normal(0.9, 0.02, 12), 6)), list(np.round(rng.normal(0.7, 0.05, 12), 6)))
add_case("exact n=49", list(np.round(rng.normal(0, 1, 49), 6)), list(np.round(rng.normal(0.3, 1, 49), 6)))
add_case("approx n=60 no ties", list(np.round(rng.normal(0, 1, 60), 6)), list(np.round(rng.normal(0.2, 1, 60), 6)))
add_case("approx ties in |d|", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [2, 1, 5, 2, 6, 9, 4, 12, 6, 14])
add_case("approx zeros dropped", [1.0, 2.0, 3.0, 4.0, 5.5, 6.0, 7.25, 8.0], [1.0, 2.5, 3.0, 4.75, 5.0, 7.0, 9.0, 8.0])
add_case("approx zeros and ties", [3, 3, 3, 4, 5, 6, 7, 2, 9, 1, 1], [3, 4, 2, 5, 4, 8, 5, 2, 7, 1, 4])
add_case("single nonzero", [1.0, 2.0, 3.0], [1.0, 2.0, 2.5])
add_case("NaN pairs dropped", [0.5, float("nan"), 0.7, 0.9, 0.4, 0.66, 0.81], [0.45, 0.3, float("nan"), 0.8, 0.41, 0.6, 0.7])
add_case("all zero", [1.0, 2.0], [1.0, 2.0], ("less",))

if HAVE_R:
    for c in wilcoxon_cases:
        if c["method"] == "none":
            c["r_p"] = None
            continue
        alt = {"less": "less", "greater": "greater", "two-sided": "two.sided"}[c["alternative"]]
        x = np.array([np.nan if a is None else a for a in c["x"]])
        y = np.array([np.nan if a is None else a for a in c["y"]])
        (rp,) = r_values(f"cat(sprintf('%.17g', suppressWarnings(wilcox.test({rvec(x)}, {rvec(y)}, paired=TRUE, alternative='{alt}'))$p.value))")
        assert abs(rp - c["p"]) < 1e-12, (c["name"], c["alternative"], rp, c["p"])
        c["r_p"] = rp
json.dump(wilcoxon_cases, open(os.path.join(OUT, "wilcoxon.json"), "w"), indent=1)

# ---------------------------------------------------------------- Holm
holm_cases = [
    [0.01, 0.04, 0.03, 0.005],
    [0.2, 0.2, 0.01, 0.5, 0.04, 0.03],
    [0.5, 0.6, 0.7],
    [0.001, 0.3, 0.3, 0.3, 0.02, 0.04, 0.9, 0.0001],
]
holm = []
for p in holm_cases:
    adj = multipletests(p, method="holm")[1]
    entry = {"p": p, "adjusted": [float(a) for a in adj]}
    if HAVE_R:
        r = r_values(f"cat(sprintf('%.17g', p.adjust({rvec(np.array(p))}, method='holm')))")
        assert np.allclose(r, adj, atol=1e-15, rtol=0)
        entry["r_adjusted"] = r
    holm.append(entry)
json.dump(holm, open(os.path.join(OUT, "holm.json"), "w"), indent=1)

# ---------------------------------------------------------------- Kendall tau-b
kendall_cases = [
    ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]),
    ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]),
    ([1, 1, 2, 3], [1, 2, 2, 3]),
    ([1, 2, 2, 4, 4, 6], [2, 1, 3, 3, 6, 5]),
    ([1, 1, 1, 4, 5, 5, 7], [3, 1, 2, 4, 4, 7, 6]),
    ([3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2, 8, 1, 8]),
]
kendall = [{"x": x, "y": y, "tau": float(st.kendalltau(x, y, variant="b").statistic)} for x, y in kendall_cases]
json.dump(kendall, open(os.path.join(OUT, "kendall.json"), "w"), indent=1)

# ---------------------------------------------------------------- type 7 quantiles
qx = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0]
quantiles = {"x": qx, "p": [0.0, 0.025, 0.1, 0.5, 0.9, 0.975, 1.0],
             "q": [float(np.quantile(qx, p, method="linear")) for p in [0.0, 0.025, 0.1, 0.5, 0.9, 0.975, 1.0]]}
json.dump(quantiles, open(os.path.join(OUT, "quantiles.json"), "w"), indent=1)

# ---------------------------------------------------------------- schemes (independent implementation)
SCHEMES = ["mean-then-rank", "median-then-rank", "rank-then-mean", "test-then-rank"]


def min_ranks(scores, smaller_better):
    """ties min; NaN last (tied at count of non-NaN + 1)."""
    s = np.asarray(scores, float)
    out = np.empty(len(s), int)
    ok = ~np.isnan(s)
    key = s[ok] if smaller_better else -s[ok]
    out[ok] = st.rankdata(key, method="min").astype(int)
    out[~ok] = ok.sum() + 1
    return out


def prepare(V, scheme, policy, smaller_better):
    V = V.copy()
    imputed = None
    last_rank = False
    kind = policy[0]
    if kind == "constant":
        if np.isnan(V).any():
            imputed = policy[1]
        V[np.isnan(V)] = policy[1]
    elif kind == "worst":
        if scheme == "rank-then-mean":
            last_rank = True
        elif np.isnan(V).any():
            obs = V[~np.isnan(V)]
            imputed = float(obs.max() if smaller_better else obs.min())
            V[np.isnan(V)] = imputed
    return V, imputed, last_rank


def scheme_rank(V, scheme, smaller_better, policy, alpha=0.05, adjust="none", want_tests=False):
    V, imputed, last_rank = prepare(np.asarray(V, float), scheme, policy, smaller_better)
    K, n = V.shape
    tests = None
    if scheme in ("mean-then-rank", "median-then-rank"):
        f = np.nanmean if scheme == "mean-then-rank" else np.nanmedian
        scores = np.array([f(V[a]) if (~np.isnan(V[a])).any() else np.nan for a in range(K)])
        used = (~np.isnan(V)).sum(axis=1)
        ranks = min_ranks(scores, smaller_better)
    elif scheme == "rank-then-mean":
        sums = np.zeros(K)
        used = np.zeros(K, int)
        for c in range(n):
            col = V[:, c]
            r = min_ranks(col, smaller_better)
            for a in range(K):
                if np.isnan(col[a]):
                    if last_rank:
                        sums[a] += K
                        used[a] += 1
                else:
                    sums[a] += r[a]
                    used[a] += 1
        scores = np.where(used > 0, sums / np.maximum(used, 1), np.nan)
        ranks = min_ranks(scores, True)
    else:
        alt = "less" if smaller_better else "greater"
        raw, pairs = [], []
        for a in range(K):
            for b in range(K):
                if a != b:
                    p = r_wilcox(V[a], V[b], alt)[0]
                    raw.append(p)
                    pairs.append((a, b))
        adj = multipletests(raw, method="holm")[1] if adjust == "holm" else np.array(raw)
        wins = np.zeros(K)
        for (a, b), p in zip(pairs, adj):
            if p < alpha:
                wins[a] += 1
        scores = wins / (K - 1)
        used = (~np.isnan(V)).sum(axis=1)
        ranks = min_ranks(scores, False)
        tests = [{"algorithm": a, "opponent": b, "p": float(p0), "adjusted": float(p1), "significant": bool(p1 < alpha)}
                 for (a, b), p0, p1 in zip(pairs, raw, adj)]
    res = {"ranks": [int(r) for r in ranks], "scores": [jnum(s) for s in scores], "used": [int(u) for u in used],
           "imputed": jnum(imputed)}
    if want_tests:
        res["tests"] = tests
    return res


def make_table(seed):
    g = np.random.default_rng(seed)
    K, n = 6, 14
    dsc = np.empty((K, n))
    dsc[0] = np.clip(g.normal(0.86, 0.01, n), 0, 1)            # A: steady
    dsc[1] = np.clip(g.normal(0.93, 0.01, n), 0, 1)            # B: best median, catastrophic failures
    fail = g.choice(n, 4, replace=False)
    dsc[1, fail] = g.uniform(0.0, 0.2, 4)
    dsc[2] = np.clip(dsc[0] + g.normal(0.004, 0.004, n), 0, 1)  # C: tiny wins over A on most cases
    dsc[2, g.choice(n, 2, replace=False)] -= 0.25
    dsc[3] = np.clip(g.normal(0.85, 0.06, n), 0, 1)            # D: noisy
    dsc[4] = np.clip(g.normal(0.80, 0.03, n), 0, 1)            # E: weak
    dsc[5] = np.clip(g.normal(0.87, 0.09, n), 0, 1)            # F: high variance
    return np.round(dsc, 4)


chosen = None
for seed in range(1, 5000):
    dsc = make_table(seed)
    rk = [tuple(scheme_rank(dsc, s, False, ("worst",))["ranks"]) for s in SCHEMES]
    if len(set(rk)) == 4:
        chosen = seed
        break
assert chosen is not None
dsc = make_table(chosen)
ALGS = ["A-steady", "B-unstable", "C-close", "D-noisy", "E-weak", "F-variable"]
CASES = [f"case{j:02d}" for j in range(dsc.shape[1])]
# HD (smaller is better): a deterministic transform with its own ordering quirks
hd = np.round(40.0 * (1.0 - dsc) ** 1.5 + np.linspace(0, 1.3, dsc.shape[1])[None, :] * np.arange(6)[:, None] * 0.1, 4)

# missing cells for the policy tests
dsc_missing = dsc.copy()
for a, c in [(0, 3), (1, 0), (1, 9), (3, 3), (5, 12), (5, 13)]:
    dsc_missing[a, c] = np.nan

policies = [("worst",), ("constant", 0.5), ("excluded",)]


def policy_name(p):
    return p[0] if p[0] != "constant" else f"constant({p[1]})"


configs = []
for table_name, V, smaller in [("dsc", dsc, False), ("hd", hd, True), ("dsc_missing", dsc_missing, False)]:
    for scheme in SCHEMES:
        pols = policies if table_name == "dsc_missing" else [("worst",)]
        adjusts = ["none", "holm"] if scheme == "test-then-rank" else ["none"]
        for pol in pols:
            for adj in adjusts:
                r = scheme_rank(V, scheme, smaller, pol, alpha=0.05, adjust=adj, want_tests=(scheme == "test-then-rank"))
                configs.append({"table": table_name, "scheme": scheme, "smallerIsBetter": smaller,
                                "policy": pol[0], "constant": pol[1] if len(pol) > 1 else None,
                                "alpha": 0.05, "adjust": adj, **r})

# scheme agreement on dsc (worst policy): tau-b between every pair of schemes
agreement = []
for i in range(4):
    for j in range(i + 1, 4):
        ri = scheme_rank(dsc, SCHEMES[i], False, ("worst",))["ranks"]
        rj = scheme_rank(dsc, SCHEMES[j], False, ("worst",))["ranks"]
        agreement.append({"first": SCHEMES[i], "second": SCHEMES[j], "tau": float(st.kendalltau(ri, rj, variant="b").statistic)})

# consensus over (seg, DSC, mean-then-rank) and (seg, HD, rank-then-mean)
r1 = scheme_rank(dsc, "mean-then-rank", False, ("worst",))["ranks"]
r2 = scheme_rank(hd, "rank-then-mean", True, ("worst",))["ranks"]
mean_ranks = (np.array(r1) + np.array(r2)) / 2
consensus = {"components": [["seg", "DSC", "mean-then-rank"], ["seg", "HD", "rank-then-mean"]],
             "meanRanks": [float(m) for m in mean_ranks], "ranks": [int(r) for r in min_ranks(mean_ranks, True)]}

schemes_out = {"seed": chosen, "algorithms": ALGS, "cases": CASES,
               "tables": {"dsc": [[jnum(v) for v in row] for row in dsc],
                          "hd": [[jnum(v) for v in row] for row in hd],
                          "dsc_missing": [[jnum(v) for v in row] for row in dsc_missing]},
               "configs": configs, "agreement": agreement, "consensus": consensus}
json.dump(schemes_out, open(os.path.join(OUT, "schemes.json"), "w"), indent=1)

# long CSV (shuffled rows, quoted algorithm names): DSC from dsc_missing (missing as "NA" or empty), HD from hd
rows = []
for a, alg in enumerate(ALGS):
    for c, case in enumerate(CASES):
        v = dsc_missing[a, c]
        rows.append(("seg", "DSC", alg, case, ("NA" if a % 2 == 0 else "") if np.isnan(v) else repr(float(v))))
        rows.append(("seg", "HD", alg, case, repr(float(hd[a, c]))))
order = np.random.default_rng(7).permutation(len(rows))
with open(os.path.join(OUT, "scores.csv"), "w") as f:
    f.write("case,value,algorithm,metric,task\n")
    for i in order:
        t, m, alg, case, v = rows[i]
        f.write(f'{case},{v},"{alg}",{m},{t}\n')


# ---------------------------------------------------------------- bootstrap (independent re-implementation)
M64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


class SplitMix:
    def __init__(self, seed, replicate):
        self.state = mix((seed + GAMMA * (replicate + 1)) & M64)

    def next(self):
        self.state = (self.state + GAMMA) & M64
        return mix(self.state)

    def below(self, bound):
        m = self.next() * bound
        low = m & M64
        if low < bound:
            threshold = ((1 << 64) - bound) % bound
            while low < threshold:
                m = self.next() * bound
                low = m & M64
        return m >> 64


def bootstrap(V, scheme, smaller, policy, B, seed, adjust="none"):
    Vp, _, last_rank = prepare(np.asarray(V, float), scheme, policy, smaller)
    K, n = Vp.shape
    full = scheme_rank(V, scheme, smaller, policy, adjust=adjust)["ranks"]
    reps = []
    for b in range(B):
        g = SplitMix(seed, b)
        idx = [g.below(n) for _ in range(n)]
        # the policy was applied to the full matrix (Vp); re-applying it to the resample changes nothing except
        # keeping NaN for rank-then-mean/worst (last rank) and for excluded
        r = scheme_rank(Vp[:, idx], scheme, smaller, policy, adjust=adjust)["ranks"]
        reps.append(r)
    reps = np.array(reps)
    algs = []
    for a in range(K):
        x = reps[:, a].astype(float)
        counts = [int((reps[:, a] == r).sum()) for r in range(1, K + 1)]
        algs.append({"fullRank": int(full[a]), "counts": counts,
                     "median": float(np.quantile(x, 0.5, method="linear")),
                     "q025": float(np.quantile(x, 0.025, method="linear")),
                     "q975": float(np.quantile(x, 0.975, method="linear")), "first": counts[0]})
    taus = []
    for r in reps:
        t = st.kendalltau(full, r, variant="b").statistic
        taus.append(None if np.isnan(t) else float(t))
    defined = np.array([t for t in taus if t is not None])
    return {"algorithms": algs, "taus": taus, "tauMean": float(defined.mean()),
            "tauMedian": float(np.quantile(defined, 0.5)), "tauQ025": float(np.quantile(defined, 0.025)),
            "tauQ975": float(np.quantile(defined, 0.975))}


first_draws = {"seed": 42, "replicate": 3, "bound": 14, "raw": [], "draws": []}
g = SplitMix(42, 3)
first_draws["raw"] = [str(g.next()) for _ in range(4)]
g = SplitMix(42, 3)
first_draws["draws"] = [g.below(14) for _ in range(10)]

boot = {"generator": first_draws, "runs": []}
for name, V, smaller, scheme, policy, B, seed, adj in [
    ("dsc", dsc, False, "mean-then-rank", ("worst",), 300, 2024, "none"),
    ("dsc", dsc, False, "rank-then-mean", ("worst",), 300, 2024, "none"),
    ("dsc_missing", dsc_missing, False, "rank-then-mean", ("worst",), 200, 7, "none"),
    ("dsc_missing", dsc_missing, False, "median-then-rank", ("worst",), 200, 7, "none"),
    ("hd", hd, True, "test-then-rank", ("worst",), 60, 11, "holm"),
]:
    res = bootstrap(V, scheme, smaller, policy, B, seed, adj)
    res.update({"table": name, "scheme": scheme, "smallerIsBetter": smaller, "policy": policy[0], "B": B, "seed": seed,
                "adjust": adj})
    boot["runs"].append(res)
json.dump(boot, open(os.path.join(OUT, "bootstrap.json"), "w"), indent=1)

print("scipy", scipy.__version__, "numpy", np.__version__, "R cross-check", HAVE_R, "table seed", chosen)
for s in SCHEMES:
    print(s, scheme_rank(dsc, s, False, ("worst",))["ranks"])
