"""forge serve vs a plain FastAPI endpoint vs LitServe: requests/s and p50/p99 at concurrency 1, 16, 64, in one run.

The same forge-vision model (MobileNetV3-Small, 64x64 RGB, 10 classes, seed 0; ``--model`` picks
another) is served three ways, one worker process and one torch thread each (the peer settings of
``shared/peers/serve``):

- ``fastapi``: the peer's plain FastAPI endpoint, JSON body of 12,288 floats, model per request;
- ``litserve``: the peer's LitServe API, JSON body, max batch 16, 5 ms batch timeout;
- ``forge-json``: ``forge serve`` with the same JSON body (batching alone);
- ``forge``: ``forge serve`` with a binary tensor body (``application/octet-stream``), max batch
  16, 5 ms wait: the hot path parses no numbers from text.

All servers start first; then for each concurrency every server gets the same bounded load in
turn (the peer's load generator: warm-up of 10 requests, then N requests over C connections, on
loopback, from a separate process). Prints one JSON line per measurement and a table of ratios.

    python benchmarks/serve_bench.py                      # CPU, ~1-2 minutes
    python benchmarks/serve_bench.py --device cuda --model vision.resnet18 --requests 2000
"""

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SHAPE = (3, 64, 64)


def build_model(name: str, device: str) -> Any:
    """The benchmarked model, identical in every server (seed 0, eval mode)."""
    import torch

    from forge.core import registry

    torch.manual_seed(0)
    return registry.build("model", name, num_classes=10).eval().to(device)


def forge_models() -> list[Any]:
    """``--factory`` of the forge server (reads the model and device from the environment)."""
    from forge.serve import InputSchema, ServedModel

    device = os.environ.get("BENCH_DEVICE", "cpu")
    model = build_model(os.environ.get("BENCH_MODEL", "vision.mobilenet_v3_small"), device)
    return [ServedModel("bench", "1", model, InputSchema(shape=SHAPE), device=device)]


# -- the peers (shared/peers/serve/fastapi_server.py and litserve_server.py, on a forge model) ---------


def serve_fastapi(port: int, model_name: str, device: str) -> None:
    import torch
    import uvicorn
    from fastapi import FastAPI
    from pydantic import BaseModel

    torch.set_num_threads(1)
    app = FastAPI()
    m = build_model(model_name, device)

    class Req(BaseModel):
        x: list[float]

    @app.post("/predict")
    def predict(r: Req) -> dict[str, Any]:
        with torch.inference_mode():
            y = m(torch.tensor(r.x, device=device).view(1, *SHAPE))
        return {"y": y[0].tolist()}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def serve_litserve(port: int, model_name: str, device: str, batch: int) -> None:
    import litserve as ls

    api = LitBenchAPI(max_batch_size=batch, batch_timeout=0.005)
    api.model_name, api.device = model_name, device
    accelerator = "cuda" if device.startswith("cuda") else "cpu"
    ls.LitServer(api, accelerator=accelerator, workers_per_device=1).run(
        port=port, log_level="warning", generate_client_file=False
    )


try:  # LitServe spawns its worker, which must find the API class at module level
    import litserve as _litserve
except ImportError:  # the table then leaves LitServe out
    _litserve = None

if _litserve is not None:

    class LitBenchAPI(_litserve.LitAPI):  # type: ignore[misc]  # litserve is untyped
        model_name = "vision.mobilenet_v3_small"
        device = "cpu"

        def setup(self, dev: Any) -> None:
            import torch

            torch.set_num_threads(1)
            self.m = build_model(self.model_name, self.device)

        def decode_request(self, request):  # type: ignore[no-untyped-def]  # LitServe reads the annotation as the body type
            import torch

            return torch.tensor(request["x"], device=self.device).view(*SHAPE)

        def batch(self, xs: Any) -> Any:
            import torch

            return torch.stack(xs)

        def predict(self, x: Any) -> Any:
            import torch

            with torch.inference_mode():
                return self.m(x)

        def unbatch(self, y: Any) -> Any:
            return list(y)

        def encode_response(self, output: Any) -> Any:
            return {"y": output.tolist()}


# -- the load generator (shared/peers/serve/load.py, plus a binary body) ------------------------------


async def load(url: str, n: int, c: int, body_kind: str) -> dict[str, Any]:
    import httpx

    random.seed(0)
    values = [random.random() for _ in range(SHAPE[0] * SHAPE[1] * SHAPE[2])]
    if body_kind == "binary":
        import struct

        body = struct.pack(f"<{len(values)}f", *values)
        headers = {"content-type": "application/octet-stream", "x-tensor-shape": "1," + ",".join(map(str, SHAPE))}
    elif body_kind == "forge-json":
        body = json.dumps({"inputs": {"shape": [1, *SHAPE], "data": [[[values[i * 64 * 64 + j * 64 : i * 64 * 64 + j * 64 + 64] for j in range(64)] for i in range(3)]]}}).encode()  # noqa: E501
        headers = {"content-type": "application/json"}
    else:
        body = json.dumps({"x": values}).encode()
        headers = {"content-type": "application/json"}
    lat: list[float] = []
    errs = 0
    sem = asyncio.Semaphore(c)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=c)) as cl:

        async def one() -> None:
            nonlocal errs
            async with sem:
                t = time.perf_counter()
                try:
                    r = await cl.post(url, content=body, headers=headers)
                except httpx.HTTPError:  # a timeout or a dropped connection counts as an error
                    errs += 1
                    return
                lat.append(time.perf_counter() - t)
                errs += r.status_code != 200

        for _ in range(min(10, n)):
            await one()
        lat.clear()
        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        dt = time.perf_counter() - t0
    lat.sort()
    return {
        "n": n,
        "c": c,
        "rps": round(n / dt, 1),
        "p50_ms": round(lat[len(lat) // 2] * 1e3, 1),
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1e3, 1),
        "errors": errs,
    }


# -- orchestration -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up within {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vision.mobilenet_v3_small")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=16, help="max batch size of LitServe and forge")
    parser.add_argument("--requests", type=int, default=640, help="requests at c=16 and c=64 (c=1 gets a quarter)")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--servers", default="fastapi,litserve,forge-json,forge")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--load", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve == "fastapi":
        return serve_fastapi(args.port, args.model, args.device)
    if args.serve == "litserve":
        return serve_litserve(args.port, args.model, args.device, args.batch)
    if args.load:
        url, n, c, kind = args.load
        print(json.dumps(asyncio.run(load(url, int(n), int(c), kind))))
        return None

    env = {
        **os.environ,
        "BENCH_MODEL": args.model,
        "BENCH_DEVICE": args.device,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        "FORGE_LOG_FORMAT": "json",
    }
    servers = [s for s in args.servers.split(",") if s and (s != "litserve" or _litserve is not None)]
    procs: dict[str, subprocess.Popen[bytes]] = {}
    urls: dict[str, str] = {}
    log_dir = Path(os.environ.get("BENCH_LOG_DIR", "/tmp"))
    logs = open(log_dir / "serve_bench_servers.log", "wb")  # closed at exit; read it when a server fails
    try:
        for name in dict.fromkeys("forge" if s.startswith("forge") else s for s in servers):
            port = _free_port()
            if name == "forge":
                cmd = [sys.executable, "-m", "forge.serve", "--factory", "serve_bench:forge_models",
                       "--port", str(port), "--workers", "1", "--threads", "1", "--max-batch-size", str(args.batch),
                       "--max-wait-ms", "5", "--queue-size", "1024", "--device", args.device,
                       "--log-format", "json"]  # fmt: skip
                health, path = f"http://127.0.0.1:{port}/readyz", "/v1/models/bench/predict"
            else:
                cmd = [sys.executable, __file__, "--serve", name, "--port", str(port), "--model", args.model,
                       "--device", args.device, "--batch", str(args.batch)]  # fmt: skip
                health, path = f"http://127.0.0.1:{port}/predict", "/predict"
            procs[name] = subprocess.Popen(cmd, env=env, stdout=logs, stderr=logs, start_new_session=True)
            urls[name] = f"http://127.0.0.1:{port}{path}"
            _wait(health)
        time.sleep(2)
        results: dict[tuple[str, int], dict[str, Any]] = {}
        for c in (int(x) for x in args.concurrency.split(",")):
            n = max(50, args.requests // 4) if c == 1 else args.requests
            for s in servers:
                base = "forge" if s.startswith("forge") else s
                kind = {"forge": "binary", "forge-json": "forge-json"}.get(s, "peer-json")
                out = subprocess.run(
                    [sys.executable, __file__, "--load", urls[base], str(n), str(c), kind],
                    env=env, capture_output=True, text=True, check=True,
                )  # fmt: skip
                row = json.loads(out.stdout.strip().splitlines()[-1])
                results[(s, c)] = row
                print(json.dumps({"server": s, **row}), flush=True)
    finally:
        for proc in procs.values():
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        logs.close()

    print(f"\nmodel {args.model} on {args.device}, 1 worker, max batch {args.batch}; req/s and p50/p99 ms")
    levels = sorted({c for _, c in results})
    print("| server | " + " | ".join(f"c={c}" for c in levels) + " |")
    print("|---|" + "---|" * len(levels))
    for s in servers:
        cells = [f"{results[(s, c)]['rps']} rps, p50 {results[(s, c)]['p50_ms']}, p99 {results[(s, c)]['p99_ms']}"
                 + (f", {results[(s, c)]['errors']} errors" if results[(s, c)]["errors"] else "")
                 for c in levels]  # fmt: skip
        print(f"| {s} | " + " | ".join(cells) + " |")
    if "forge" in servers and "litserve" in servers:
        for c in levels:
            f, ls_ = results[("forge", c)], results[("litserve", c)]
            print(
                f"c={c}: forge/litserve req/s x{f['rps'] / ls_['rps']:.2f}, "
                f"p99 x{f['p99_ms'] / ls_['p99_ms']:.2f} (goal at c=64: >= 1.5x req/s, <= 0.5x p99)"
            )


if __name__ == "__main__":
    main()
