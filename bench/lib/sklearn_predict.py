#!/usr/bin/python3
"""scikit-learn's own predict_proba, single-threaded, for `npm run bench:runtimes`.

Fits a RandomForestClassifier (100 trees, default depth) and a HistGradientBoostingClassifier
(100 iterations) on 10 000 synthetic rows × 30 features (make_classification, seed 0), writes
both with joblib.dump and the rows as float32 to the given folder, then times predict_proba at
batch 1 and batch N for `seconds` each (only the call). Prints one JSON line.
Usage: sklearn_predict.py <folder> <seconds> <rows>   (run with OMP_NUM_THREADS=1)
"""
import json
import os
import sys
import time

import joblib
import numpy as np
import sklearn
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier


def rate(fn, rows_per_call, seconds):
    fn(0)
    calls = 0
    cpu0 = time.process_time()
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn(calls)
        calls += 1
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    return rows_per_call * calls / wall, rows_per_call * calls / max(cpu, 1e-9)


def main():
    folder, seconds, n = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    x, y = make_classification(n_samples=10000, n_features=30, n_informative=12, random_state=0)
    x = x.astype(np.float32).astype(np.float64)
    models = {
        'rf': RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1).fit(x, y),
        'hgb': HistGradientBoostingClassifier(max_iter=100, early_stopping=False, random_state=0).fit(x, y),
    }
    rows = np.tile(x, (n // len(x) + 1, 1))[:n]
    rows.astype(np.float32).tofile(os.path.join(folder, 'sklearn_rows.f32'))
    out = {'version': sklearn.__version__}
    for name, model in models.items():
        path = os.path.join(folder, '%s.joblib' % name)
        joblib.dump(model, path)
        singles = [rows[i:i + 1] for i in range(569)]
        b1, b1cpu = rate(lambda i: model.predict_proba(singles[i % 569]), 1, seconds)
        bn, bncpu = rate(lambda i: model.predict_proba(rows), n, seconds)
        out[name] = {'path': path, 'bytes': os.path.getsize(path), 'batch1': b1, 'batchN': bn, 'batch1Cpu': b1cpu, 'batchNCpu': bncpu,
                     'proba': model.predict_proba(rows[:50]).tolist()}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
