"""The peer of `npm run bench:serve`: what a user writes instead of Ferry.

FastAPI on uvicorn (1 worker, uvloop, httptools), the breast_mlp fixture as a TorchScript
module (the same weights, read from the ONNX file's initializers), and an OIP-shaped
`POST /v2/models/{model}/infer` with a pydantic request model. Prints {"port": N} once
listening. Exits with code 3 and a "missing: ..." line when a package is not installed.

Usage: python3 bench/fastapi_server.py fixtures/models/breast_mlp/model.onnx
"""
import json
import socket
import sys

try:
    import asyncio
    from typing import List

    import onnx
    import torch
    import uvicorn
    import uvloop  # noqa: F401  (uvicorn's loop="uvloop" needs it)
    import httptools  # noqa: F401  (uvicorn's http="httptools" needs it)
    from fastapi import FastAPI
    from onnx import numpy_helper
    from pydantic import BaseModel
except ImportError as err:  # the bench skips this row with a note
    print(f"missing: {err.name or err}", flush=True)
    sys.exit(3)


class Mlp(torch.nn.Module):
    """StandardScaler + Linear(30, 16) + ReLU + Linear(16, 1) + sigmoid, as the ONNX graph."""

    def __init__(self, weights):
        super().__init__()
        for name in ("scaler_mean", "scaler_scale", "W1", "b1", "W2", "b2"):
            self.register_buffer(name, torch.from_numpy(weights[name].copy()))

    def forward(self, x: torch.Tensor):
        h = torch.relu(((x - self.scaler_mean) / self.scaler_scale) @ self.W1 + self.b1)
        p1 = torch.sigmoid(h @ self.W2 + self.b2)
        probabilities = torch.cat([1 - p1, p1], dim=1)
        return torch.argmax(probabilities, dim=1), probabilities


class InferInput(BaseModel):
    name: str
    datatype: str
    shape: List[int]
    data: List[float]


class InferRequest(BaseModel):
    inputs: List[InferInput]


def main() -> None:
    graph = onnx.load(sys.argv[1]).graph
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    model = torch.jit.script(Mlp(weights).eval())
    app = FastAPI()

    @app.post("/v2/models/{name}/infer")
    async def infer(name: str, request: InferRequest):
        tensor = request.inputs[0]
        x = torch.tensor(tensor.data, dtype=torch.float32).reshape(tensor.shape)
        with torch.inference_mode():
            label, probabilities = model(x)
        return {
            "model_name": name,
            "outputs": [
                {"name": "label", "datatype": "INT64", "shape": list(label.shape), "data": label.tolist()},
                {"name": "probabilities", "datatype": "FP32", "shape": list(probabilities.shape), "data": probabilities.flatten().tolist()},
            ],
        }

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)  # connections made before uvicorn starts wait in the backlog
    config = uvicorn.Config(app, loop="uvloop", http="httptools", log_level="warning", access_log=False, workers=1)
    server = uvicorn.Server(config)
    print(json.dumps({"port": sock.getsockname()[1], "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    asyncio.run(server.serve(sockets=[sock]))


if __name__ == "__main__":
    main()
