"""The server as a client meets it: one real server process on loopback, driven over HTTP.

The process serves the fake models of ``serve_fakes.py`` (and a real vision/digits run directory
when forge-vision is installed) with API keys, a small body limit, a small admission queue, a
short request deadline, a canary release and drift monitoring, so each test proves one behaviour
against the same server, and a last check proves the server survived all of them.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
from conftest import ServerProcess
from prometheus_client.parser import text_string_to_metric_families
from serve_fakes import POISON

ADMIN_KEY = "admin-secret-0123456789abcdef"
PREDICT_KEY = "predict-secret-0123456789abcdef"
LIMITED_KEY = "limited-secret-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
PREDICT = {"X-API-Key": PREDICT_KEY}
HTTP = httpx.Client(timeout=30)
"""One client for the module: creating a client per request costs more than the request."""


def _config(tmp: Path, reference: Path) -> Path:
    key_file = tmp / "predict.key"
    key_file.write_text(PREDICT_KEY + "\n", encoding="utf-8")
    path = tmp / "serve.toml"
    path.write_text(
        f"""
drift_reference = "{reference}"

[batching]
max_batch_size = 8
max_wait_ms = 5.0
queue_size = 8

[limits]
request_timeout_s = 1.5
max_body_bytes = 200000
max_tokens = 64

[canary]
model = "cm"
version = "2"
share = 0.5
min_requests = 10
max_error_rate_delta = 0.2

[[api_keys]]
name = "ops"
roles = ["admin"]
env = "FORGE_TEST_ADMIN_KEY"

[[api_keys]]
name = "app"
roles = ["predict"]
file = "{key_file}"

[[api_keys]]
name = "limited"
roles = ["predict"]
env = "FORGE_TEST_LIMITED_KEY"
rate_per_s = 0.5
burst = 2
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    from forge.serve.drift import save_reference

    tmp = tmp_path_factory.mktemp("server")
    reference = save_reference(
        tmp / "reference.safetensors", torch.randn(500, 4, generator=torch.Generator().manual_seed(0))
    )
    args = ["--config", str(_config(tmp, reference)), "--factory", "serve_fakes:build_models"]
    try:
        args.insert(0, str(request.getfixturevalue("digits_run")))
    except pytest.skip.Exception:
        pass
    env = {
        "FORGE_TEST_ADMIN_KEY": ADMIN_KEY,
        "FORGE_TEST_LIMITED_KEY": LIMITED_KEY,
        "FORGE_TEST_SLEEP": "0.3",
        "FORGE_TEST_STREAM_MARKER": str(tmp / "stream-closed"),
    }
    proc = ServerProcess(args, tmp, env)
    try:
        yield proc.wait_ready()
    finally:
        proc.terminate()


def _raw(x: torch.Tensor) -> dict[str, Any]:
    return {
        "content": x.numpy().tobytes(),
        "headers": {
            **PREDICT,
            "content-type": "application/octet-stream",
            "x-tensor-shape": ",".join(map(str, x.shape)),
            "x-tensor-dtype": str(x.dtype).removeprefix("torch."),
        },
    }


def _metrics(server: ServerProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = HTTP.get(f"{server.url}/metrics", headers=ADMIN).text
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _metric(values: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in values.items() if n == name and all((k, labels[k]) in ls for k in labels))


# -- requests and replies ----------------------------------------------------------------------------


def test_concurrent_clients_each_get_their_own_reply(server: ServerProcess) -> None:
    xs = [torch.full((1, 4), float(i)) + torch.arange(4.0) for i in range(48)]

    async def run() -> list[httpx.Response]:
        # 8 connections: as many as the admission queue takes, so every request is admitted
        async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=httpx.Limits(max_connections=8)) as client:
            return await asyncio.gather(*(client.post("/v1/models/echo/predict", **_raw(x)) for x in xs))

    before = _metrics(server)
    replies = asyncio.run(run())
    for x, r in zip(xs, replies, strict=True):
        assert r.status_code == 200, r.text
        assert r.json()["outputs"]["output"]["data"] == [[float(x.sum())]]
    after = _metrics(server)
    batches = _metric(after, "forge_serve_batch_size_count", model="echo") - _metric(
        before, "forge_serve_batch_size_count", model="echo"
    )
    samples = _metric(after, "forge_serve_batch_size_sum", model="echo") - _metric(
        before, "forge_serve_batch_size_sum", model="echo"
    )
    assert samples == 48
    assert batches < 48, "concurrent requests were never batched together"


def test_body_formats_agree(server: ServerProcess) -> None:
    x = torch.tensor([[1.5, -2.0, 3.25, 4.0], [0.0, 1.0, 2.0, 3.0]])
    want = x.sum(1, keepdim=True).tolist()
    as_json = HTTP.post(f"{server.url}/v1/models/echo/predict", json={"inputs": {"data": x.tolist()}}, headers=PREDICT)
    assert as_json.json()["outputs"]["output"]["data"] == want
    from safetensors.torch import save

    st = HTTP.post(
        f"{server.url}/v1/models/echo/predict",
        content=save({"input": x}),
        headers={**PREDICT, "content-type": "application/x-safetensors"},
    )
    assert st.status_code == 200, st.text
    assert st.json()["outputs"]["output"]["data"] == want
    binary = HTTP.post(
        f"{server.url}/v1/models/echo/predict",
        **_raw(x) | {"headers": {**_raw(x)["headers"], "accept": "application/octet-stream"}},
    )
    assert binary.headers["x-tensor-shape"] == "2,1" and binary.headers["x-tensor-dtype"] == "float32"
    assert torch.frombuffer(bytearray(binary.content), dtype=torch.float32).tolist() == [w[0] for w in want]


def test_one_bad_item_fails_only_itself(server: ServerProcess) -> None:
    xs = [torch.full((1, 4), float(i)) for i in range(8)]
    xs[3] = torch.full((1, 4), POISON)

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            return await asyncio.gather(*(client.post("/v1/models/flaky/predict", **_raw(x)) for x in xs))

    replies = asyncio.run(run())
    assert [r.status_code for r in replies] == [200, 200, 200, 500, 200, 200, 200, 200]
    assert "poisoned input" in replies[3].json()["error"]
    assert replies[5].json()["outputs"]["output"]["data"] == [[6.0] * 4]


# -- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"content": b'{"inputs": ', "headers": {"content-type": "application/json"}}, 400, "malformed JSON"),
        ({"json": {"input": [1, 2]}}, 422, "expected a JSON object"),
        ({"json": {"inputs": {"data": [[1, 2, 3]]}}}, 422, "dimension 1 must be 4"),
        ({"json": {"inputs": {"data": [[1, 2, "x", 4]]}}}, 422, "expected a number"),
        (
            {"content": b'{"inputs": {"data": [[1, 2, 3, NaN]]}}', "headers": {"content-type": "application/json"}},
            422,
            "non-finite",
        ),  # fmt: skip
        (
            {"content": b"\0" * 12, "headers": {"content-type": "application/octet-stream", "x-tensor-shape": "1,4"}},
            422,
            "12 bytes, but shape [1, 4] of float32 needs 16",
        ),  # fmt: skip
        ({"content": b"\0" * 16, "headers": {"content-type": "application/octet-stream"}}, 422, "X-Tensor-Shape"),
        (
            {
                "content": b"\0" * 16,
                "headers": {
                    "content-type": "application/octet-stream",
                    "x-tensor-shape": "1,4",
                    "x-tensor-dtype": "bool",
                },
            },
            422,
            "expected dtype float32, got bool",
        ),  # fmt: skip
        ({"content": b"hello", "headers": {"content-type": "text/plain"}}, 415, "not supported"),
        ({"content": b"\x01" * 300_000, "headers": {"content-type": "application/octet-stream"}}, 413, "limit"),
        ({"content": b"\x01" * 16, "headers": {"content-type": "application/x-safetensors"}}, 422, "safetensors"),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_problem(
    server: ServerProcess, kwargs: dict[str, Any], status: int, message: str
) -> None:
    headers = {**PREDICT, **kwargs.pop("headers", {})}
    r = HTTP.post(f"{server.url}/v1/models/echo/predict", headers=headers, **kwargs)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]


def test_chunked_oversized_body_is_refused(server: ServerProcess) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"\0" * 50_000

    r = HTTP.post(
        f"{server.url}/v1/models/echo/predict",
        content=chunks(),
        headers={**PREDICT, "content-type": "application/octet-stream", "x-tensor-shape": "125000,4"},
    )
    assert r.status_code == 413


def test_unknown_model_and_version(server: ServerProcess) -> None:
    r = HTTP.post(f"{server.url}/v1/models/nope/predict", json={"inputs": {"data": [[1, 2, 3, 4]]}}, headers=PREDICT)
    assert r.status_code == 404 and "unknown model 'nope'" in r.json()["error"]
    r = HTTP.post(
        f"{server.url}/v1/models/echo/versions/9/predict", json={"inputs": {"data": [[1, 2, 3, 4]]}}, headers=PREDICT
    )
    assert r.status_code == 404 and "no version '9'" in r.json()["error"]


# -- keys --------------------------------------------------------------------------------------------


def test_keys_and_roles(server: ServerProcess) -> None:
    body = {"inputs": {"data": [[1, 2, 3, 4]]}}
    url = f"{server.url}/v1/models/echo/predict"
    missing = HTTP.post(url, json=body)
    assert missing.status_code == 401 and "missing API key" in missing.json()["error"]
    assert missing.headers["www-authenticate"] == "Bearer"
    assert HTTP.post(url, json=body, headers={"X-API-Key": PREDICT_KEY[:-1] + "X"}).status_code == 401
    assert HTTP.post(url, json=body, headers={"Authorization": "Basic abc"}).status_code == 401
    assert HTTP.post(url, json=body, headers=PREDICT).status_code == 200
    assert HTTP.post(url, json=body, headers=ADMIN).status_code == 200  # admin may predict
    forbidden = HTTP.get(f"{server.url}/metrics", headers=PREDICT)
    assert forbidden.status_code == 403 and "lacks the 'admin' role" in forbidden.json()["error"]
    assert HTTP.get(f"{server.url}/livez").status_code == 200  # health needs no key
    log = server.log()
    for secret in (ADMIN_KEY, PREDICT_KEY, LIMITED_KEY):
        assert secret not in log
    assert any(e.get("key") == "app" for e in server.access_log())


def test_rate_limit_per_key(server: ServerProcess) -> None:
    url = f"{server.url}/v1/models/echo/predict"
    codes = [
        HTTP.post(url, json={"inputs": {"data": [[1, 2, 3, 4]]}}, headers={"X-API-Key": LIMITED_KEY}) for _ in range(4)
    ]
    assert [c.status_code for c in codes[:2]] == [200, 200]
    assert codes[3].status_code == 429 and int(codes[3].headers["retry-after"]) >= 1
    assert "rate limit" in codes[3].json()["error"]
    assert HTTP.post(url, json={"inputs": {"data": [[1, 2, 3, 4]]}}, headers=PREDICT).status_code == 200


# -- load, deadlines, disconnects --------------------------------------------------------------------


def test_overload_answers_429_and_the_server_keeps_serving(server: ServerProcess) -> None:
    x = torch.ones(1, 2)

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            base_url=server.url, timeout=30, limits=httpx.Limits(max_connections=64)
        ) as client:
            return await asyncio.gather(*(client.post("/v1/models/sleepy/predict", **_raw(x)) for _ in range(40)))

    replies = asyncio.run(run())
    codes = [r.status_code for r in replies]
    assert set(codes) <= {200, 429}, codes
    assert codes.count(429) >= 20 and codes.count(200) >= 8
    refused = next(r for r in replies if r.status_code == 429)
    assert refused.headers["retry-after"] == "1" and "admission queue full" in refused.json()["error"]
    assert HTTP.get(f"{server.url}/livez").status_code == 200
    assert HTTP.post(f"{server.url}/v1/models/sleepy/predict", **_raw(x)).status_code == 200


def test_whole_request_deadline_gives_504(server: ServerProcess) -> None:
    start = time.monotonic()
    r = HTTP.post(f"{server.url}/v1/models/slow/predict", **_raw(torch.ones(1, 2)), timeout=30)
    assert r.status_code == 504 and "deadline" in r.json()["error"]
    assert time.monotonic() - start < 2.0
    time.sleep(0.8)  # let the slow forward pass (2 s) finish before the next test needs the model thread


def test_work_for_a_disconnected_client_is_never_computed(server: ServerProcess) -> None:
    x = torch.ones(1, 2)
    before = _metrics(server)

    async def run() -> tuple[httpx.Response, str]:
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=30) as first,
            httpx.AsyncClient(base_url=server.url, timeout=httpx.Timeout(30, read=0.05)) as impatient,
        ):
            occupying = asyncio.ensure_future(first.post("/v1/models/sleepy/predict", **_raw(x)))
            await asyncio.sleep(0.1)  # the first request is computing now (0.3 s)
            try:
                await impatient.post("/v1/models/sleepy/predict", **_raw(x))
                outcome = "answered"
            except httpx.ReadTimeout:
                outcome = "gave up"
            return await occupying, outcome

    first, outcome = asyncio.run(run())
    assert first.status_code == 200 and outcome == "gave up"
    time.sleep(0.6)
    after = _metrics(server)
    assert (
        _metric(after, "forge_serve_dropped_total", model="sleepy", reason="cancelled")
        - _metric(before, "forge_serve_dropped_total", model="sleepy", reason="cancelled")
        == 1
    )
    assert (
        _metric(after, "forge_serve_batch_size_count", model="sleepy")
        - _metric(before, "forge_serve_batch_size_count", model="sleepy")
        == 1
    ), "the abandoned request was computed"


# -- streaming ---------------------------------------------------------------------------------------


def test_sse_streams_events_and_limits_tokens(server: ServerProcess) -> None:
    events = []
    with HTTP.stream(
        "POST", f"{server.url}/v1/models/streamer/stream", json={"prompt": [1, 2], "max_new_tokens": 5}, headers=PREDICT
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    assert [e.get("token") for e in events[:-1]] == [0, 1, 2, 3, 4] and events[-1] == {"done": True}
    too_long = HTTP.post(
        f"{server.url}/v1/models/streamer/stream", json={"prompt": [1] * 10, "max_new_tokens": 60}, headers=PREDICT
    )
    assert too_long.status_code == 422 and "limit of 64 tokens" in too_long.json()["error"]
    not_streaming = HTTP.post(f"{server.url}/v1/models/echo/stream", json={}, headers=PREDICT)
    assert not_streaming.status_code == 400


def test_sse_stops_generating_when_the_client_leaves(server: ServerProcess, tmp_path: Path) -> None:
    marker = Path(os.path.dirname(server.log_path)) / "stream-closed"
    with HTTP.stream(
        "POST", f"{server.url}/v1/models/streamer/stream", json={"max_new_tokens": 50}, headers=PREDICT
    ) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                break  # leave after the first token
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the generator kept running after the client left"
    assert int(marker.read_text()) < 50


# -- canary ------------------------------------------------------------------------------------------


def test_failing_canary_is_rolled_back_automatically_then_managed_by_hand(server: ServerProcess) -> None:
    url = f"{server.url}/v1/models/cm/predict"
    body = {"inputs": {"data": [[1, 2, 3, 4]]}}
    codes = [HTTP.post(url, json=body, headers=PREDICT).status_code for _ in range(60)]
    assert 500 in codes, "the canary never got traffic"
    route = HTTP.get(f"{server.url}/v1/admin/models/cm", headers=ADMIN).json()
    assert route["canary"] is None and route["stable"] == "3"
    assert any(e["event"] == "rollback" and e["version"] == "2" for e in route["events"])
    last = codes[-10:]
    assert last == [200] * 10, "traffic still reached the failed canary"
    assert HTTP.post(f"{server.url}/v1/admin/models/cm/canary", json={"version": "1", "share": 1.0},
                      headers=PREDICT).status_code == 403  # fmt: skip
    r = HTTP.post(f"{server.url}/v1/admin/models/cm/canary", json={"version": "1", "share": 1.0}, headers=ADMIN)
    assert r.json() == {"stable": "3", "canary": "1", "share": 1.0}
    served = HTTP.post(url, json=body, headers=PREDICT)
    assert served.json()["version"] == "1"
    assert HTTP.post(f"{server.url}/v1/admin/models/cm/promote", headers=ADMIN).json()["stable"] == "1"
    assert HTTP.post(f"{server.url}/v1/admin/models/cm/rollback", headers=ADMIN).status_code == 409
    m = _metrics(server)
    assert _metric(m, "forge_serve_canary_events_total", model="cm", version="2", event="rollback") == 1


# -- drift and metrics -------------------------------------------------------------------------------


def test_drift_metrics_rise_for_shifted_inputs(server: ServerProcess) -> None:
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        x = torch.randn(32, 4, generator=gen) + 3.0
        assert HTTP.post(f"{server.url}/v1/models/echo/predict", **_raw(x)).status_code == 200
    m = _metrics(server)
    psi = _metric(m, "forge_serve_drift_psi", model="echo", feature="0")
    ks = _metric(m, "forge_serve_drift_ks", model="echo", feature="0")
    assert psi > 1.0 and ks > 0.8


def test_metrics_cover_requests_latency_queue_and_memory(server: ServerProcess) -> None:
    m = _metrics(server)
    assert _metric(m, "forge_serve_requests_total", model="echo", route="predict", status="200") >= 48
    assert _metric(m, "forge_serve_requests_total", model="sleepy", status="429") >= 20
    assert _metric(m, "forge_serve_request_seconds_count", model="echo", route="predict") >= 48
    assert _metric(m, "forge_serve_resident_memory_bytes") > 10 * 2**20
    assert any(name == "forge_serve_queue_depth" for name, _ in m)
    assert _metric(m, "forge_serve_inflight_requests") >= 1  # the scrape itself


# -- vision run directory ----------------------------------------------------------------------------


def test_run_directory_serves_tensors_and_images(server: ServerProcess, digits_run: Path) -> None:
    from PIL import Image

    from forge.core import load_model

    x = torch.rand(3, 1, 8, 8)
    r = HTTP.post(f"{server.url}/v1/models/digits/predict", **_raw(x))
    assert r.status_code == 200, r.text
    with torch.no_grad():
        expected = load_model(digits_run)(x)
    got = torch.tensor(r.json()["outputs"]["output"]["data"])
    assert torch.allclose(got, expected, atol=1e-4)
    assert [p["label"] for p in r.json()["predictions"]] == [str(int(i)) for i in expected.argmax(1)]
    buf = io.BytesIO()
    Image.new("L", (32, 32), color=200).save(buf, format="PNG")
    img = HTTP.post(
        f"{server.url}/v1/models/digits/predict",
        content=buf.getvalue(),
        headers={**PREDICT, "content-type": "image/png"},
    )
    assert img.status_code == 200, img.text
    assert img.json()["outputs"]["output"]["shape"] == [1, 10]
    bad = HTTP.post(
        f"{server.url}/v1/models/digits/predict",
        content=b"\x89PNG broken",
        headers={**PREDICT, "content-type": "image/png"},
    )
    assert bad.status_code == 422 and "not a readable image" in bad.json()["error"]
    wrong = HTTP.post(f"{server.url}/v1/models/digits/predict", **_raw(torch.rand(1, 3, 8, 8)))
    assert wrong.status_code == 422 and "dimension 1 must be 1" in wrong.json()["error"]


# -- Open Inference Protocol (tritonclient as the client) --------------------------------------------


def test_open_inference_protocol_with_tritonclient(server: ServerProcess) -> None:
    import numpy as np

    http = pytest.importorskip("tritonclient.http", reason="tritonclient[http] is the official v2 client")
    client = http.InferenceServerClient(url=server.url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("echo", headers=PREDICT)
    meta = client.get_model_metadata("echo", headers=PREDICT)
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
    assert meta["outputs"] == [{"name": "output", "datatype": "FP32", "shape": [-1, 1]}]
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    for binary in (False, True):
        inp = http.InferInput("input", [3, 4], "FP32")
        inp.set_data_from_numpy(data, binary_data=binary)
        out = http.InferRequestedOutput("output", binary_data=binary)
        result = client.infer("echo", [inp], outputs=[out], headers=PREDICT, request_id="r1")
        np.testing.assert_allclose(result.as_numpy("output"), data.sum(1, keepdims=True))
        assert result.get_response()["id"] == "r1"
    bad = http.InferInput("input", [3, 5], "FP32")
    bad.set_data_from_numpy(np.zeros((3, 5), np.float32), binary_data=True)
    with pytest.raises(Exception, match="dimension 1 must be 4"):
        client.infer("echo", [bad], headers=PREDICT)
    with pytest.raises(Exception, match="invalid API key"):
        client.get_model_metadata("echo", headers={"X-API-Key": "x" * 20})


def test_open_inference_protocol_binary_with_raw_http(server: ServerProcess) -> None:
    x = torch.arange(8, dtype=torch.float32).reshape(2, 4)
    head = json.dumps(
        {
            "inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "parameters": {"binary_data_size": 32}}],
            "outputs": [{"name": "output", "parameters": {"binary_data": True}}],
        }  # fmt: skip
    ).encode()
    r = HTTP.post(
        f"{server.url}/v2/models/echo/versions/1/infer",
        content=head + x.numpy().tobytes(),
        headers={**PREDICT, "Inference-Header-Content-Length": str(len(head))},
    )
    assert r.status_code == 200, r.text
    n = int(r.headers["inference-header-content-length"])
    meta = json.loads(r.content[:n])
    assert meta["outputs"][0]["parameters"]["binary_data_size"] == 8
    assert list(struct.unpack("<2f", r.content[n:])) == [6.0, 22.0]
    short = HTTP.post(
        f"{server.url}/v2/models/echo/infer",
        content=head + b"\0" * 8,
        headers={**PREDICT, "Inference-Header-Content-Length": str(len(head))},
    )
    assert short.status_code == 422 and "binary_data_size" in short.json()["error"]


def test_server_survived_everything(server: ServerProcess) -> None:
    assert server.proc.poll() is None
    assert HTTP.get(f"{server.url}/readyz").status_code == 200
    assert "Traceback" not in server.log()
