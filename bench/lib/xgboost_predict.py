#!/usr/bin/python3
"""xgboost's own C++ predictor, single-threaded, for `npm run bench:runtimes`.

Usage: xgboost_predict.py MODEL.json DATA_OUT SECONDS ROWS
Writes the benchmark rows (breast cancer, 569 × 30, tiled to ROWS, float32 row-major) to
DATA_OUT so Ferry scores the very same values, then times only Booster.predict calls
(nthread=1), each on a fresh DMatrix built outside the timing: batch ROWS, and batch 1.
Prints one JSON line: {"version", "batch1", "batchN", "batch1Cpu", "batchNCpu"}: rows per
wall-clock second and per CPU second of this process.
"""
import json
import os
import sys
import time

sys.path = [p for p in sys.path if os.path.abspath(p or '.') != os.path.dirname(os.path.abspath(__file__))]

import numpy as np
import xgboost as xgb
from sklearn import datasets


def timed(make, predict, seconds):
    """Time only predict(make()) calls. Each call gets a DMatrix built beforehand and never
    predicted on before: xgboost caches predictions per DMatrix, so reusing one would time the cache."""
    predict(make())  # warm-up
    spent, cpu, calls = 0.0, 0.0, 0
    while spent < seconds:
        dm = make()
        t0, c0 = time.perf_counter(), time.process_time()
        predict(dm)
        cpu += time.process_time() - c0
        spent += time.perf_counter() - t0
        calls += 1
        del dm
    return calls, spent, cpu


def main():
    model, data_out, seconds, rows = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    x = datasets.load_breast_cancer().data.astype(np.float32)
    big = np.resize(x, (rows, x.shape[1]))
    big.tofile(data_out)
    booster = xgb.Booster(params={'nthread': 1})
    booster.load_model(model)
    booster.set_param({'nthread': 1})
    names = booster.feature_names
    calls, spent, cpu = timed(lambda: xgb.DMatrix(big, nthread=1, feature_names=names), booster.predict, seconds)
    batch_n, batch_n_cpu = rows * calls / spent, rows * calls / max(cpu, 1e-9)
    state = {'i': 0}

    def one():
        i = state['i'] % len(x)
        state['i'] += 1
        return xgb.DMatrix(x[i:i + 1], nthread=1, feature_names=names)

    calls, spent, cpu = timed(one, booster.predict, seconds)
    print(json.dumps({'version': xgb.__version__, 'batch1': calls / spent, 'batchN': batch_n,
                      'batch1Cpu': calls / max(cpu, 1e-9), 'batchNCpu': batch_n_cpu}))


if __name__ == '__main__':
    main()
