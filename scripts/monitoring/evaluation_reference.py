#!/usr/bin/python3
"""Labelled evaluation fixtures and scikit-learn's metrics on them, computed once and committed.

Run from the repository root (needs Debian's python3-sklearn):

    /usr/bin/python3 scripts/monitoring/evaluation_reference.py

The fixture models' held-out rows (fixtures/models/*/input.csv) are matched back to the
scikit-learn data sets they came from to recover the true labels. The metrics are computed
with sklearn.metrics from the reference predictions in expected.json (the training library's
own outputs), so test/evaluate.test.ts checks Ferry's metric code and its scoring together.
"""
import csv
import json
import numpy as np
from sklearn import metrics
from sklearn.datasets import load_breast_cancer, load_diabetes

def rows_of(path):
    with open(path) as f:
        r = list(csv.reader(f))
    return r[0], r[1:]

def match(X, feats):
    # Exact match on every feature (input.csv holds the data set's own values).
    out = []
    for row in feats:
        v = np.array([float(x) for x in row])
        d = np.abs(X - v).max(axis=1)
        i = int(d.argmin())
        assert d[i] < 1e-9, d[i]
        out.append(i)
    return out

out = {}
for name, loader, label in [("breast_mlp", load_breast_cancer, "diagnosis"), ("diabetes_regressor", load_diabetes, "progression")]:
    ds = loader()
    header, rows = rows_of(f"fixtures/models/{name}/input.csv")
    idx = match(ds.data, [r[1:] for r in rows])
    y = ds.target[idx]
    with open(f"fixtures/monitoring/{name}-labelled.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header + [label])
        for r, t in zip(rows, y):
            w.writerow(r + [int(t) if name == "breast_mlp" else float(t)])
    exp = json.load(open(f"fixtures/models/{name}/expected.json"))["outputs"]
    if name == "breast_mlp":
        pred = np.array(exp["label"]); proba = np.array(exp["probabilities"])
        out[name] = {"accuracy": metrics.accuracy_score(y, pred), "precision": metrics.precision_score(y, pred),
                     "recall": metrics.recall_score(y, pred), "f1": metrics.f1_score(y, pred),
                     "roc_auc": metrics.roc_auc_score(y, proba[:, 1]), "log_loss": metrics.log_loss(y, proba)}
    else:
        pred = np.array(exp["variable"]).reshape(-1)
        out[name] = {"mae": metrics.mean_absolute_error(y, pred), "rmse": float(np.sqrt(metrics.mean_squared_error(y, pred))),
                     "r2": metrics.r2_score(y, pred)}
out = {k: {m: float(v) for m, v in d.items()} for k, d in out.items()}
json.dump(out, open("fixtures/monitoring/evaluation-expected.json", "w"), indent=1)
print(json.dumps(out, indent=1))
