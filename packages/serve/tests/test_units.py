"""The server's parts on their own: schema, binary codecs, the v2 protocol, keys, canary routing and drift."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save

from forge.core.errors import ConfigError, SchemaError
from forge.serve import oip
from forge.serve.canary import CanaryPolicy, Router
from forge.serve.codecs import decode_raw, decode_safetensors, parse_shape_header
from forge.serve.configs import ApiKeyConfig
from forge.serve.drift import DriftMonitor, ks_statistic, psi
from forge.serve.errors import RequestError
from forge.serve.schema import InputSchema, schema_from_lineage
from forge.serve.security import Authenticator

IMG = InputSchema(shape=(3, -1, -1), min_value=0.0, max_value=1.0)


def test_schema_from_lineage() -> None:
    lineage = {
        "dataset": {
            "schema": {"input": {"shape": ["N", 1, None, None], "dtype": "float32", "min": 0, "finite": True}},
            "extra": {"classes": ["a", "b"]},
        }
    }
    schema = schema_from_lineage(lineage)
    assert schema.shape == (1, -1, -1) and schema.min_value == 0 and schema.classes == ("a", "b")
    with pytest.raises(SchemaError, match="no dataset.schema.input"):
        schema_from_lineage({})
    with pytest.raises(SchemaError, match=r"shape\[2\] must be a size"):
        schema_from_lineage({"dataset": {"schema": {"input": {"shape": ["N", 1, -5]}}}})


def test_raw_tensor_body_round_trips_and_is_checked() -> None:
    x = torch.rand(2, 3, 4, 5)
    out = decode_raw(x.numpy().tobytes(), "2,3,4,5", "float32", IMG, max_elements=1000)
    assert torch.equal(out, x)
    ints = decode_raw(
        torch.ones(1, 3, 2, 2, dtype=torch.uint8).numpy().tobytes(), "1,3,2,2", "uint8", IMG, max_elements=99
    )
    assert ints.dtype == torch.float32  # integers widen to the model's float dtype
    with pytest.raises(SchemaError, match="more than the limit of 100"):
        decode_raw(b"", "2,3,4,5", "float32", IMG, max_elements=100)
    with pytest.raises(SchemaError, match=r"input\[0\]\[1\]\[0\]\[0\]: value above the maximum 1.0"):
        decode_raw(torch.tensor([[[[0.5]], [[2.0]], [[0.0]]]]).numpy().tobytes(), "1,3,1,1", None, IMG, max_elements=99)
    with pytest.raises(SchemaError, match="expected comma-separated integers"):
        parse_shape_header("2,x")
    tokens = InputSchema(shape=(-1,), dtype="int64", max_tokens=8)
    with pytest.raises(SchemaError, match="10 tokens per sample, more than the limit of 8"):
        decode_raw(bytes(80), "1,10", "int64", tokens, max_elements=99)
    with pytest.raises(SchemaError, match="expected dtype int64, got float32"):
        decode_raw(bytes(8), "1,2", "float32", tokens, max_elements=99)


def test_safetensors_body_is_checked_before_reading() -> None:
    x = torch.rand(1, 3, 2, 2)
    assert torch.equal(decode_safetensors(save({"pixels": x}), IMG, max_elements=99), x)
    with pytest.raises(SchemaError, match="one tensor or one named 'input'"):
        decode_safetensors(save({"a": x, "b": x.clone()}), IMG, max_elements=99)
    with pytest.raises(SchemaError, match="more than the limit"):
        decode_safetensors(save({"input": torch.rand(2, 3, 8, 8)}), IMG, max_elements=99)
    forged = json.dumps({"input": {"dtype": "F32", "shape": [1, 3, 1, 1], "data_offsets": [0, 4000]}}).encode()
    with pytest.raises(SchemaError, match="lie outside the body"):
        decode_safetensors(struct.pack("<Q", len(forged)) + forged + bytes(12), IMG, max_elements=99)
    with pytest.raises(SchemaError, match="larger than the body"):
        decode_safetensors(struct.pack("<Q", 10**9) + b"{}", IMG, max_elements=99)


def test_v2_request_parsing_json_and_binary() -> None:
    vec = InputSchema(shape=(2,))
    body = json.dumps(
        {"id": "7", "inputs": [{"name": "input", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}]}
    )
    req = oip.parse_infer_request(body.encode(), None, vec, max_elements=99)
    assert req.tensor.tolist() == [[1, 2], [3, 4]] and req.id == "7" and req.binary_outputs == set()
    head = json.dumps(
        {
            "inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP64", "parameters": {"binary_data_size": 16}}],
            "parameters": {"binary_data_output": True},
        }  # fmt: skip
    ).encode()
    req = oip.parse_infer_request(head + struct.pack("<2d", 0.5, 1.5), str(len(head)), vec, max_elements=99)
    assert req.tensor.tolist() == [[0.5, 1.5]] and req.binary_outputs is True
    content, headers = oip.encode_infer_response("m", "1", [("output", req.tensor)], req)
    n = int(headers[oip.HEADER_LENGTH])
    assert json.loads(content[:n])["outputs"][0]["parameters"] == {"binary_data_size": 8}
    assert struct.unpack("<2f", content[n:]) == (0.5, 1.5)
    for bad, message in [
        (b"[1]", "expected a JSON object"),
        (json.dumps({"inputs": []}).encode(), "exactly one input"),
        (json.dumps({"inputs": [{"shape": [1, 2], "datatype": "BYTES", "data": ["a"]}]}).encode(), "not supported"),
        (json.dumps({"inputs": [{"shape": [1, 2], "datatype": "FP32"}]}).encode(), "needs 'data'"),
    ]:
        with pytest.raises(SchemaError, match=message):
            oip.parse_infer_request(bad, None, vec, max_elements=99)
    with pytest.raises(SchemaError, match="not within the body"):
        oip.parse_infer_request(b"{}", "50", vec, max_elements=99)


def test_keys_roles_limits_and_secret_sources(tmp_path: Path) -> None:
    secret_file = tmp_path / "k"
    secret_file.write_text("file-secret-0123456789\n")
    keys = [
        ApiKeyConfig(name="ops", roles=("admin",), env="OPS"),
        ApiKeyConfig(name="app", roles=("predict",), file=secret_file, quota=2, quota_window_s=60),
    ]
    auth = Authenticator(keys, environ={"OPS": "ops-secret-0123456789"})
    assert auth.authenticate("Bearer ops-secret-0123456789", None, "admin").name == "ops"
    assert auth.authenticate(None, "file-secret-0123456789", "predict").name == "app"
    with pytest.raises(RequestError, match="lacks the 'admin' role") as forbidden:
        auth.authenticate(None, "file-secret-0123456789", "admin")
    assert forbidden.value.status == 403
    auth.authenticate(None, "file-secret-0123456789", "predict")
    with pytest.raises(RequestError, match="quota reached") as quota:
        auth.authenticate(None, "file-secret-0123456789", "predict")
    assert quota.value.status == 429 and int(quota.value.headers["Retry-After"]) > 50
    with pytest.raises(RequestError, match="invalid API key"):
        auth.authenticate("Bearer nope-nope-nope-nope", None, "predict")
    with pytest.raises(ConfigError, match="variable OPS is unset"):
        Authenticator(keys, environ={})
    with pytest.raises(ConfigError, match="at least 16 characters"):
        Authenticator([keys[0]], environ={"OPS": "short"})
    with pytest.raises(ValueError, match="exactly one of 'env'"):
        ApiKeyConfig(name="x", env="A", file=secret_file)


def test_router_rolls_back_on_errors_and_latency(tmp_path: Path) -> None:
    policy = CanaryPolicy(max_error_rate_delta=0.1, max_p99_ratio=2.0, min_requests=10, window=50)
    router = Router({"m": ["1", "2"]}, stable={"m": "1"}, policy=policy, seed=0)
    router.set_canary("m", "2", 0.5)
    routed = [router.route("m") for _ in range(200)]
    assert 60 < routed.count("2") < 140
    for _ in range(20):
        router.record("m", "1", True, 0.01)
    for i in range(9):
        assert router.record("m", "2", i % 2 == 0, 0.01) is None  # not enough canary requests yet
    assert router.record("m", "2", False, 0.01) == "rollback"
    assert router.routes["m"].canary is None and router.route("m") == "1"

    router.set_canary("m", "2", 0.5)
    for _ in range(9):
        router.record("m", "2", True, 0.05)
    assert router.record("m", "2", True, 0.05) == "rollback"  # p99 50 ms vs 10 ms
    assert "p99" in router.events[-1]["reason"]

    shared = tmp_path / "routes.json"
    a = Router({"m": ["1", "2"]}, state_file=shared, sync_interval_s=0.0)
    b = Router({"m": ["1", "2"]}, state_file=shared, sync_interval_s=0.0)
    a.set_canary("m", "1", 0.25)
    time.sleep(0.01)
    assert b.describe("m")["canary"] == "1"
    with pytest.raises(RequestError, match="no canary to promote"):
        Router({"m": ["1"]}).promote("m")


def test_drift_statistics() -> None:
    from scipy.stats import ks_2samp

    gen = torch.Generator().manual_seed(0)
    ref = torch.randn(2000, generator=gen, dtype=torch.float64)
    same = torch.randn(2000, generator=gen, dtype=torch.float64)
    shifted = same + 1.0
    assert psi(ref, same) < 0.05 < 0.5 < psi(ref, shifted)
    assert ks_statistic(ref, shifted) == pytest.approx(ks_2samp(ref.numpy(), shifted.numpy()).statistic, abs=1e-9)
    reports: list[tuple[int, float, float]] = []
    monitor = DriftMonitor(ref[:, None].repeat(1, 3), lambda *r: reports.append(r), every=64)
    monitor.observe(torch.randn(64, 3, 8, 8, generator=gen))  # image-like: per-channel means
    # channel means of 64 values are much narrower than the reference: a clear shift in distribution
    assert len(reports) == 3 and all(p > 1.0 and ks > 0.3 for _, p, ks in reports)


def test_discover_finds_runs_exports_and_versions(tmp_path: Path) -> None:
    from forge.core.errors import CheckpointError
    from forge.serve.models import discover

    for folder, marker in [
        ("repo/digits/1", "config.json"),
        ("repo/digits/2", "export.json"),
        ("repo/shapes", "config.json"),
    ]:
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / marker).write_text("{}")
    found = [(n, v, p.relative_to(tmp_path).as_posix()) for n, v, p in discover(tmp_path / "repo")]
    assert found == [("digits", "1", "repo/digits/1"), ("digits", "2", "repo/digits/2"), ("shapes", "1", "repo/shapes")]
    assert discover(tmp_path / "repo" / "shapes", name="s")[0][:2] == ("s", "1")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="holds no run directory"):
        discover(tmp_path / "empty")
    with pytest.raises(CheckpointError, match="no such directory"):
        discover(tmp_path / "missing")
