#!/usr/bin/python3
"""Reference values for Ferry's drift statistics, computed once with SciPy and committed.

Run from the repository root (needs Debian's python3-scipy):

    /usr/bin/python3 scripts/monitoring/drift_reference.py

Writes fixtures/monitoring/drift-stats.json; test/drift-stats.test.ts compares
src/monitoring/stats.ts and drift.ts against it.
"""
import json
import numpy as np
import scipy
from scipy import special, stats
from scipy.spatial import distance

rng = np.random.default_rng(20261122)
out = {"scipy": scipy.__version__}

out["chi2_sf"] = [[x, df, float(stats.chi2.sf(x, df))] for x, df in
                  [(0.5, 1), (3.84, 1), (10, 1), (1, 2), (5.99, 2), (7.2, 3), (20, 4), (3, 5), (30, 9), (100, 50), (0.01, 3), (60, 10), (150, 30)]]
out["norm_cdf"] = [[x, float(stats.norm.cdf(x))] for x in [-8, -5, -3, -1.96, -1, -0.5, 0, 0.3, 1, 1.645, 2.5, 4, 6]]
out["kolmogorov"] = [[x, float(special.kolmogorov(x))] for x in [0.2, 0.4, 0.5, 0.7, 0.9, 1.0, 1.2, 1.36, 1.63, 2.0, 3.0]]
out["gammaincc"] = [[a, x, float(special.gammaincc(a, x))] for a, x in [(0.5, 0.1), (0.5, 2), (1, 1), (2.5, 1), (2.5, 10), (10, 5), (10, 20), (25, 30)]]

ks = []
for n, m, shift in [(200, 300, 0.0), (500, 400, 0.2), (1000, 1000, 0.1), (100, 5000, 0.0), (800, 2000, 0.05)]:
    a = np.round(rng.normal(0, 1, n), 6)
    b = np.round(rng.normal(shift, 1, m), 6)
    r_exact = stats.ks_2samp(a, b, method="exact" if n * m <= 1_000_000 else "asymp")
    r_asymp = stats.ks_2samp(a, b, method="asymp")
    ks.append({"a": a.tolist(), "b": b.tolist(), "statistic": float(r_exact.statistic), "p_exact": float(r_exact.pvalue), "p_asymp": float(r_asymp.pvalue),
               "wasserstein": float(stats.wasserstein_distance(a, b)), "std_a": float(np.std(a))})
out["ks"] = ks

chi = []
for ref, cur in [([50, 30, 20], [45, 35, 20]), ([100, 100, 100, 100], [80, 120, 90, 110]), ([10, 20, 30], [30, 20, 10]), ([500, 300, 150, 50], [480, 330, 140, 50])]:
    ref = np.array(ref, float); cur = np.array(cur, float)
    exp = ref / ref.sum() * cur.sum()
    r = stats.chisquare(cur, exp)
    c2 = stats.chi2_contingency(np.array([ref, cur]), correction=False)
    chi.append({"ref": ref.tolist(), "cur": cur.tolist(), "statistic": float(r.statistic), "p": float(r.pvalue),
                "contingency_statistic": float(c2[0]), "contingency_p": float(c2[1])})
out["chisquare"] = chi

js = []
for p, q in [([0.5, 0.5], [0.4, 0.6]), ([0.2, 0.3, 0.5], [0.3, 0.3, 0.4]), ([0.1, 0.9, 0.0], [0.2, 0.5, 0.3]), ([1, 0], [0, 1])]:
    js.append({"p": p, "q": q, "distance": float(distance.jensenshannon(p, q))})
out["jensenshannon"] = js

# Two-proportion z-test p-values (Evidently's formula) via the normal CDF.
z = []
for n1, k1, n2, k2 in [(500, 250, 400, 230), (1000, 100, 800, 60), (200, 150, 300, 220)]:
    p1, p2 = k1 / n1, k2 / n2
    p = (k1 + k2) / (n1 + n2)
    zz = (p1 - p2) / np.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    z.append({"n1": n1, "k1": k1, "n2": n2, "k2": k2, "z": float(zz), "p": float(2 * stats.norm.sf(abs(zz)))})
out["ztest"] = z

with open("fixtures/monitoring/drift-stats.json", "w") as f:
    json.dump(out, f)
print("wrote fixtures/monitoring/drift-stats.json with scipy", scipy.__version__)
