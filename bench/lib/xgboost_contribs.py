#!/usr/bin/python3
"""xgboost's own TreeSHAP (predict(pred_contribs=True)), single-threaded, for `npm run bench:explain`.

Usage: xgboost_contribs.py MODEL.json DATA_OUT SECONDS ROWS
Writes the benchmark rows (breast cancer, 569 × 30, tiled to ROWS, float32 row-major) to DATA_OUT
so Ferry explains the very same values, then times only Booster.predict(pred_contribs=True) calls
(nthread=1) on fresh DMatrix objects built outside the timing. Prints one JSON line:
{"version", "rowsPerSecond", "rowsPerCpuSecond"}.
"""
import json
import os
import sys
import time

sys.path = [p for p in sys.path if os.path.abspath(p or '.') != os.path.dirname(os.path.abspath(__file__))]

import numpy as np
import xgboost as xgb
from sklearn import datasets


def main():
    model, data_out, seconds, rows = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    x = datasets.load_breast_cancer().data.astype(np.float32)
    big = np.resize(x, (rows, x.shape[1]))
    big.tofile(data_out)
    booster = xgb.Booster(params={'nthread': 1})
    booster.load_model(model)
    booster.set_param({'nthread': 1})
    names = booster.feature_names
    make = lambda: xgb.DMatrix(big, nthread=1, feature_names=names)
    booster.predict(make(), pred_contribs=True)  # warm-up
    spent, cpu, calls = 0.0, 0.0, 0
    while spent < seconds or calls < 1:
        dm = make()
        t0, c0 = time.perf_counter(), time.process_time()
        booster.predict(dm, pred_contribs=True)
        cpu += time.process_time() - c0
        spent += time.perf_counter() - t0
        calls += 1
    print(json.dumps({'version': xgb.__version__, 'rowsPerSecond': rows * calls / spent, 'rowsPerCpuSecond': rows * calls / max(cpu, 1e-9)}))


if __name__ == '__main__':
    main()
