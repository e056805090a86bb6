"""A classifier whose label flips under int8 weight quantization (for test/edge-node.test.ts).

logits = x @ W with W[:, 0] = [1, 0.003, 0, …] and W[:, 1] = [1.001, 0, …]. In float, x = [1, 1, …]
scores 1.003 against 1.001 (label 0); in int8 the 0.003 rounds to 0 and the label becomes 1.
Rows with x1 = 0 keep their label. Run with Debian's python3-onnx: /usr/bin/python3 make.py
"""
import csv

import onnx
from onnx import TensorProto, helper, numpy_helper
import numpy as np

W = np.zeros((16, 2), dtype=np.float32)
W[0, 0], W[1, 0] = 1.0, 0.003
W[0, 1] = 1.001
W[2:, 0] = np.linspace(-0.5, 0.5, 14)
W[2:, 1] = np.linspace(-0.5, 0.5, 14)
graph = helper.make_graph(
    [
        helper.make_node('MatMul', ['input', 'W'], ['logits']),
        helper.make_node('Softmax', ['logits'], ['probabilities'], axis=1),
        helper.make_node('ArgMax', ['logits'], ['label'], axis=1, keepdims=0),
    ],
    'quantize_flip',
    [helper.make_tensor_value_info('input', TensorProto.FLOAT, [None, 16])],
    [helper.make_tensor_value_info('label', TensorProto.INT64, [None]), helper.make_tensor_value_info('probabilities', TensorProto.FLOAT, [None, 2])],
    [numpy_helper.from_array(W, 'W')],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, 'model.onnx')

with open('input.csv', 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['id'] + [f'x{j}' for j in range(16)])
    for i in range(20):
        # Even rows: x0 = x1 = 1 (the label flips); odd rows: x1 = 0 (it does not).
        w.writerow([i, 1, 1 if i % 2 == 0 else 0] + [0] * 14)
