"""Reference values for the live metrics (test/live-metrics.test.ts), computed by scikit-learn.

Writes fixtures/monitoring/live-metrics.json: three small logged-prediction sets (binary
classification with integer labels, three-class with string labels, regression), each with the
model outputs as the prediction log stores them, the ground truth, and scikit-learn's metrics.
Run with Debian's python3-sklearn: /usr/bin/python3 scripts/monitoring/live_metrics_reference.py
"""
import json
import os

import numpy as np
import sklearn
from sklearn import metrics as m

rng = np.random.default_rng(7)
out = {"sklearn": sklearn.__version__, "cases": {}}


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def per_class(y, yhat, labels):
    p, r, f, s = m.precision_recall_fscore_support(y, yhat, labels=labels, zero_division=0)
    return {str(c): {"precision": p[i], "recall": r[i], "f1": f[i], "support": int(s[i])} for i, c in enumerate(labels)}


# Binary: label output 0/1, probabilities [P(0), P(1)]; 60 rows, some labels noisy.
n = 60
logits = rng.normal(size=(n, 2)) * 1.5
probs = softmax(logits).astype(np.float32).astype(np.float64)
pred = probs.argmax(axis=1)
actual = np.where(rng.random(n) < 0.8, pred, 1 - pred)
out["cases"]["binary"] = {
    "outputs": [{"label": int(pred[i]), "probabilities": [float(x) for x in probs[i]]} for i in range(n)],
    "actual": [int(a) for a in actual],
    "expected": {
        "accuracy": m.accuracy_score(actual, pred),
        "precision": m.precision_score(actual, pred, zero_division=0),
        "recall": m.recall_score(actual, pred, zero_division=0),
        "f1": m.f1_score(actual, pred, zero_division=0),
        "precision_macro": m.precision_score(actual, pred, average="macro", zero_division=0),
        "recall_macro": m.recall_score(actual, pred, average="macro", zero_division=0),
        "f1_macro": m.f1_score(actual, pred, average="macro", zero_division=0),
        "roc_auc": m.roc_auc_score(actual, probs[:, 1]),
        "log_loss": m.log_loss(actual, probs, labels=[0, 1]),
    },
    "per_class": per_class(actual, pred, [0, 1]),
}

# Three classes with string labels; probabilities in the order setosa, versicolor, virginica.
classes = ["setosa", "versicolor", "virginica"]
n = 60
logits = rng.normal(size=(n, 3)) * 1.2
probs = softmax(logits).astype(np.float32).astype(np.float64)
pred_i = probs.argmax(axis=1)
actual_i = np.where(rng.random(n) < 0.7, pred_i, rng.integers(0, 3, size=n))
pred = np.array(classes)[pred_i]
actual = np.array(classes)[actual_i]
out["cases"]["multiclass"] = {
    "outputs": [{"species": str(pred[i]), "probabilities": [float(x) for x in probs[i]]} for i in range(n)],
    "actual": [str(a) for a in actual],
    "expected": {
        "accuracy": m.accuracy_score(actual, pred),
        "precision": m.precision_score(actual, pred, average="macro", zero_division=0),
        "recall": m.recall_score(actual, pred, average="macro", zero_division=0),
        "f1": m.f1_score(actual, pred, average="macro", zero_division=0),
        "precision_macro": m.precision_score(actual, pred, average="macro", zero_division=0),
        "recall_macro": m.recall_score(actual, pred, average="macro", zero_division=0),
        "f1_macro": m.f1_score(actual, pred, average="macro", zero_division=0),
        "roc_auc": m.roc_auc_score(actual, probs, multi_class="ovr", average="macro", labels=classes),
        "log_loss": m.log_loss(actual, probs, labels=classes),
    },
    "per_class": per_class(actual, pred, classes),
}

# Regression: one float per row (shape [N, 1] logged as a scalar).
n = 40
pred = rng.normal(size=n) * 10 + 100
actual = pred + rng.normal(size=n) * 4
pred = pred.astype(np.float32).astype(np.float64)
out["cases"]["regression"] = {
    "outputs": [{"variable": float(pred[i])} for i in range(n)],
    "actual": [float(a) for a in actual],
    "expected": {
        "mae": m.mean_absolute_error(actual, pred),
        "rmse": float(np.sqrt(m.mean_squared_error(actual, pred))),
        "r2": m.r2_score(actual, pred),
    },
}

path = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "monitoring", "live-metrics.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1, default=float)
    f.write("\n")
print("wrote", os.path.normpath(path))
