"""The pandas job a data scientist writes instead of `ferry batch run` (bench/batch.ts runs it).

usage: batch_pandas.py mlp|xgb MODEL IN.csv OUT.csv
mlp: the fixture MLP (weights read from its ONNX file) as a TorchScript module, 1 thread.
xgb: the fixture XGBoost model with xgboost's own predict, 1 thread.
Prints the seconds of read, score and write, end to end.
"""
import sys
import time

import numpy as np
import pandas as pd

kind, model_path, src, dst = sys.argv[1:5]
t0 = time.perf_counter()
df = pd.read_csv(src)
x = df.drop(columns=["id"]).to_numpy(dtype=np.float32)
if kind == "mlp":
    import onnx
    import torch
    from onnx import numpy_helper

    torch.set_num_threads(1)
    w = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(model_path).graph.initializer}

    class Mlp(torch.nn.Module):
        def __init__(self):
            super().__init__()
            for k in ("scaler_mean", "scaler_scale", "W1", "b1", "W2", "b2"):
                self.register_buffer(k, w[k])

        def forward(self, x):
            h = torch.relu(((x - self.scaler_mean) / self.scaler_scale) @ self.W1 + self.b1)
            p1 = torch.sigmoid(h @ self.W2 + self.b2)
            return torch.cat([1 - p1, p1], dim=1)

    net = torch.jit.script(Mlp().eval())
    with torch.no_grad():
        proba = net(torch.from_numpy(x)).numpy()
    out = pd.DataFrame({"id": df["id"], "label": proba.argmax(axis=1), "probabilities_0": proba[:, 0], "probabilities_1": proba[:, 1]})
else:
    import xgboost as xgb

    booster = xgb.Booster(model_file=model_path)
    booster.set_param({"nthread": 1})
    p = booster.predict(xgb.DMatrix(x, nthread=1, feature_names=list(df.columns.drop("id"))))
    out = pd.DataFrame({"id": df["id"], "prediction": p})
out.to_csv(dst, index=False)
print(time.perf_counter() - t0)
