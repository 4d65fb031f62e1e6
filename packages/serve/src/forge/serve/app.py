"""The FastAPI application: forge's routes, the Open Inference Protocol routes, health, metrics and admin.

Routes (``{name}`` is a model, ``{version}`` one of its versions):

==========================================================  ==========================================
``GET /livez``, ``GET /readyz``                              liveness; readiness (models loaded and
                                                             warmed, not draining), 503 otherwise
``GET /metrics``                                             Prometheus exposition (admin role)
``GET /v1/models``, ``GET /v1/models/{name}``                what is served, routes and schemas
``POST /v1/models/{name}[/versions/{version}]/predict``      one input tensor (JSON, raw bytes,
                                                             safetensors or an image) -> outputs
``POST /v1/models/{name}/stream``                            Server-Sent Events of a streaming model
``POST /v1/admin/models/{name}/canary|promote|rollback``     canary management (admin role)
``GET /v2/health/live|ready``, ``GET /v2``                   Open Inference Protocol (KServe v2)
``GET /v2/models/{name}[/versions/{version}][/ready]``
``POST /v2/models/{name}[/versions/{version}]/infer``        typed tensors, binary data extension
==========================================================  ==========================================

Every refusal is a JSON ``{"error": "..."}`` naming what was wrong, with the status a client can
act on: 400 malformed, 401/403 keys, 404 unknown model, 413 too large, 415 content type, 422 input
breaks the model's schema, 429 overloaded or rate-limited and 503 not ready (both with
``Retry-After``), 504 past the request deadline. Nothing a request sends can crash a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forge.core import get_logger
from forge.core.errors import ForgeError, SchemaError
from forge.serve import codecs, oip
from forge.serve.batching import Batcher, ClientDisconnected
from forge.serve.canary import CanaryPolicy, Router, version_key
from forge.serve.configs import ServeConfig
from forge.serve.drift import DriftMonitor, load_reference
from forge.serve.errors import RequestError, Unavailable
from forge.serve.metrics import CONTENT_TYPE, ModelObserver, ServeMetrics
from forge.serve.models import ServedModel, discover, load_served_model, named_outputs
from forge.serve.payloads import JsonTensorCodec
from forge.serve.security import Authenticator, Principal
from forge.serve.streaming import format_event

__all__ = ["ModelFactory", "ServerState", "create_app"]

ModelFactory = Callable[[], Sequence[ServedModel]]
"""Builds models when the server starts (in the worker process, on a thread)."""

_access = get_logger("forge.serve.access")
_log = get_logger("forge.serve")
_JSON = "application/json"
# a request's input tensor, and what turns the model's output into the response
_Decoded = tuple[torch.Tensor, Callable[[Any], Response]]
_Decoder = Callable[[bytes, ServedModel], Awaitable[_Decoded]]


class ServerState:
    """Everything one worker process holds: models, batchers, routing, keys, metrics and readiness."""

    def __init__(self, config: ServeConfig, factories: Sequence[ModelFactory], *, workers: int) -> None:
        self.config = config
        self.factories = list(factories)
        self.metrics = ServeMetrics()
        self.auth = Authenticator(config.api_keys, workers=workers)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="forge-model")
        self.stream_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="forge-stream")
        self.models: dict[tuple[str, str], ServedModel] = {}
        self.batchers: dict[tuple[str, str], Batcher] = {}
        self.drift: dict[str, DriftMonitor] = {}
        self.router: Router | None = None
        self.ready = False
        self.draining = False
        self.load_error: str | None = None
        self.arriving = 0
        """Inference requests received but not yet queued (a batch waits for more only while some are)."""
        self._load_task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        """Begin loading models in the background (``/readyz`` answers 503 until done)."""
        self._load_task = asyncio.get_running_loop().create_task(self._load())

    async def _load(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            # torch's thread count is per calling thread: set it on the thread the models run on
            await loop.run_in_executor(self.executor, torch.set_num_threads, self.config.batching.threads)
            loaded: list[ServedModel] = []
            for factory in self.factories:
                loaded.extend(await loop.run_in_executor(self.executor, factory))
            for model in loaded:
                key = (model.name, model.version)
                if key in self.models:
                    raise RequestError(f"model {model.name} version {model.version} is loaded twice", 500)
                self.models[key] = model
                if self.config.warmup:
                    await loop.run_in_executor(self.executor, model.warm_up)
            self._build_routing()
            for key, model in self.models.items():
                b = self.config.batching
                batcher = Batcher(
                    model.forward,
                    self.executor,
                    max_batch_size=b.max_batch_size,
                    max_wait_s=b.max_wait_ms / 1000.0,
                    queue_size=b.queue_size,
                    retry_after_s=self.config.limits.retry_after_s,
                    observer=ModelObserver(self.metrics, *key),
                    name=f"{key[0]}:{key[1]}",
                    arriving=self._arriving,
                )
                batcher.start()
                self.batchers[key] = batcher
            if self.config.drift_reference is not None:
                reference = load_reference(self.config.drift_reference)
                for name in {n for n, _ in self.models}:
                    self.drift[name] = DriftMonitor(reference, self._drift_reporter(name))
            self.ready = not self.draining
            self.metrics.ready.set(1)
            _log.info("serve.ready", models=[f"{n}:{v}" for n, v in self.models], pid=os.getpid())
        except Exception as exc:  # reported by /readyz and the log; the process stays up for diagnosis
            self.load_error = f"{type(exc).__name__}: {exc}"
            _log.error("serve.load_failed", error=self.load_error)

    def _arriving(self) -> int:
        return self.arriving

    def _drift_reporter(self, name: str) -> Callable[[int, float, float], None]:
        def report(feature: int, psi_value: float, ks_value: float) -> None:
            self.metrics.drift_psi.labels(name, str(feature)).set(psi_value)
            self.metrics.drift_ks.labels(name, str(feature)).set(ks_value)

        return report

    def _build_routing(self) -> None:
        versions: dict[str, list[str]] = {}
        for name, version in self.models:
            versions.setdefault(name, []).append(version)
        canary = self.config.canary
        policy = CanaryPolicy(
            max_error_rate_delta=canary.max_error_rate_delta if canary else 0.05,
            max_p99_ratio=canary.max_p99_ratio if canary else 2.0,
            min_requests=canary.min_requests if canary else 20,
            window=canary.window if canary else 200,
        )
        state_dir = self.config.state_dir
        state_file = Path(state_dir) / "routes.json" if state_dir is not None else None
        stable: dict[str, str] = {}
        if canary is not None and canary.model in versions:
            # the stable version is the highest one that is not the canary
            others = [v for v in versions[canary.model] if v != canary.version]
            if others:
                stable[canary.model] = sorted(others, key=version_key)[-1]
        fresh = state_file is not None and not state_file.exists()
        self.router = Router(versions, stable=stable, policy=policy, state_file=state_file)
        if canary is not None and (state_file is None or fresh):
            with contextlib.suppress(RequestError):
                self.router.set_canary(canary.model, canary.version, canary.share)

    def begin_drain(self) -> None:
        """Stop admitting work: ``/readyz`` turns 503 and new requests get 503; admitted ones finish."""
        self.draining = True
        self.ready = False
        self.metrics.ready.set(0)
        for batcher in self.batchers.values():
            batcher.close()

    async def stop(self) -> None:
        """Stop the batchers and the model thread (after in-flight requests finished)."""
        self.begin_drain()
        if self._load_task is not None and not self._load_task.done():
            self._load_task.cancel()
        for batcher in self.batchers.values():
            await batcher.stop()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.stream_executor.shutdown(wait=False, cancel_futures=True)

    # -- per request -------------------------------------------------------------------------------
    def check_ready(self) -> None:
        """Raise 503 when the server is loading, failed to load, or draining."""
        if self.ready:
            return
        retry = self.config.limits.retry_after_s
        if self.draining:
            raise Unavailable("server is shutting down; not accepting new requests", retry)
        if self.load_error is not None:
            raise Unavailable(f"models failed to load: {self.load_error}", retry)
        raise Unavailable("models are still loading", retry)

    def resolve(self, name: str, version: str | None) -> tuple[ServedModel, Batcher]:
        """The model version a request goes to (canary split applied) and its batcher."""
        assert self.router is not None  # set before ready
        v = self.router.route(name, version)
        return self.models[(name, v)], self.batchers[(name, v)]

    def record(self, model: ServedModel, ok: bool, seconds: float) -> None:
        """Feed the canary watch; count an automatic rollback."""
        if self.router is None:
            return
        if self.router.record(model.name, model.version, ok, seconds) == "rollback":
            self.metrics.canary_events.labels(model.name, model.version, "rollback").inc()
            _log.warning("serve.canary_rolled_back", model=model.name, version=model.version)


class _AccessLog:
    """Pure ASGI middleware: request deadline start, in-flight gauge, status counter, JSON access log."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.monotonic()
        scope.setdefault("state", {})["t0"] = start
        status = 500
        sent = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
                sent = True
            await send(message)

        m = self.state.metrics
        m.inflight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            m.inflight.dec()
            seconds = time.monotonic() - start
            info = scope["state"]
            model, version = info.get("model", "-"), info.get("version", "-")
            route = info.get("route", "other")
            shown = status if sent else 499  # 499: the client went away before an answer
            m.requests.labels(model, version, route, str(shown)).inc()
            if route != "other":
                m.latency.labels(model, route).observe(seconds)
            if route != "health":
                _access.info(
                    "request",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=shown,
                    ms=round(seconds * 1e3, 2),
                    model=model,
                    version=version,
                    key=info.get("key", "-"),
                    client=(scope.get("client") or ("-",))[0],
                    error=info.get("error"),
                )


def _error(exc: RequestError) -> Response:
    return Response(
        json.dumps({"error": exc.message}).encode(), status_code=exc.status, headers=exc.headers, media_type=_JSON
    )


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data, separators=(",", ":")).encode(), status, headers=dict(headers or {}), media_type=_JSON
    )


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise RequestError(f"Content-Length: expected an integer, got {declared!r}", 400) from None
        if size > limit:
            raise RequestError(f"body of {size} bytes is larger than the limit of {limit} bytes", 413)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise RequestError(f"body is larger than the limit of {limit} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _disconnected(receive: Receive) -> None:
    """Completes when the client disconnects (the request body has been read already)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def create_app(
    config: ServeConfig,
    *,
    models: Sequence[ServedModel | ModelFactory] = (),
    workers: int | None = None,
) -> FastAPI:
    """Build the server's ASGI application.

    Models load in the background when the app starts: ``/readyz`` answers 503 until every model
    is loaded and warmed.

    Args:
        config: The server config; its ``models`` paths are loaded (see :mod:`forge.serve.models`).
        models: Extra models, already built or as factories (for models built in code).
        workers: Worker processes sharing the per-key limits (default: ``config.workers``).

    Returns:
        The FastAPI app; its ``state.serve`` is the :class:`ServerState`.

    Example:
        >>> app = create_app(ServeConfig(models=("runs/digits",)))  # doctest: +SKIP
        >>> uvicorn.run(app)  # doctest: +SKIP
    """
    factories: list[ModelFactory] = []
    for path in config.models:
        factories.append(_path_factory(path, config))
    for m in models:
        factories.append(_constant(m) if isinstance(m, ServedModel) else m)
    state = ServerState(config, factories, workers=workers or config.workers)
    response_codec = JsonTensorCodec()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.start()
        yield
        await state.stop()

    app = FastAPI(title="forge serve", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.serve = state
    limits = config.limits

    def auth(request: Request, role: str) -> Principal:
        principal = state.auth.authenticate(
            request.headers.get("authorization"), request.headers.get("x-api-key"), role
        )
        request.scope["state"]["key"] = principal.name
        return principal

    def tag(request: Request, route: str, model: ServedModel | None = None) -> None:
        info = request.scope["state"]
        info["route"] = route
        if model is not None:
            info["model"], info["version"] = model.name, model.version

    def deadline_of(request: Request) -> float:
        return float(request.scope["state"].get("t0", time.monotonic())) + limits.request_timeout_s

    def guarded(
        handler: Callable[..., Awaitable[Response]],
    ) -> Callable[..., Awaitable[Response]]:
        @functools.wraps(handler)
        async def run(request: Request, **kw: Any) -> Response:
            try:
                return await handler(request, **kw)
            except ClientDisconnected:
                return Response(status_code=499)  # nobody reads it; the access log shows 499
            except RequestError as exc:
                request.scope["state"]["error"] = exc.message
                if exc.status in (429, 503):
                    state.metrics.rejected.labels(str(exc.status)).inc()
                return _error(exc)
            except SchemaError as exc:
                request.scope["state"]["error"] = str(exc)
                return _error(RequestError(str(exc), 422))
            except ForgeError as exc:
                request.scope["state"]["error"] = str(exc)
                return _error(RequestError(str(exc), 400))

        return run

    async def infer(request: Request, model: ServedModel, batcher: Batcher, x: torch.Tensor) -> Any:
        monitor = state.drift.get(model.name)
        if monitor is not None:
            monitor.observe(x)
        start = time.monotonic()
        ok = False
        try:
            out = await batcher.infer(x, deadline=deadline_of(request), disconnected=_disconnected(request.receive))
            ok = True
            return out
        except ClientDisconnected:
            ok = True  # the client's choice, not the model's failure
            raise
        except RequestError as exc:
            ok = exc.status < 500 or exc.status in (503,)
            raise
        finally:
            state.record(model, ok, time.monotonic() - start)

    # -- health and metrics ------------------------------------------------------------------------
    @app.get("/livez")
    async def livez(request: Request) -> Response:
        """Liveness: the process answers."""
        tag(request, "health")
        return _json({"status": "alive", "pid": os.getpid()})

    @app.get("/readyz")
    async def readyz(request: Request) -> Response:
        """Readiness: models loaded and warmed, not draining (503 with Retry-After otherwise)."""
        tag(request, "health")
        try:
            state.check_ready()
        except RequestError as exc:
            return _error(exc)
        return _json({"status": "ready", "models": [f"{n}:{v}" for n, v in state.models]})

    @app.get("/metrics")
    @guarded
    async def metrics(request: Request) -> Response:
        """Prometheus metrics of every worker process."""
        tag(request, "metrics")
        auth(request, "admin")
        return Response(state.metrics.render(), media_type=CONTENT_TYPE)

    # -- forge routes ------------------------------------------------------------------------------
    @app.get("/v1/models")
    @guarded
    async def list_models(request: Request) -> Response:
        """Every served model version."""
        auth(request, "predict")
        state.check_ready()
        return _json({"models": [m.describe() for m in state.models.values()]})

    @app.get("/v1/models/{name}")
    @guarded
    async def model_info(request: Request, name: str) -> Response:
        """A model's versions, routing and schema."""
        auth(request, "predict")
        state.check_ready()
        assert state.router is not None
        route = state.router.describe(name) if name in state.router.routes else None
        if route is None:
            raise RequestError(f"unknown model {name!r}; serving: {', '.join(sorted(state.router.routes))}", 404)
        versions = {v: state.models[(name, v)].describe() for v in route["versions"]}
        return _json({"name": name, "route": route, "versions": versions})

    async def run_model(request: Request, name: str, version: str | None, route: str, decode: _Decoder) -> Response:
        """Admit, read, route, decode, batch and answer: the path ``predict`` and v2 ``infer`` share.

        ``decode`` runs while the request counts as arriving, so a batch being formed waits for it.
        """
        tag(request, route)
        auth(request, "predict")
        state.check_ready()
        with _arriving():
            body = await _read_body(request, limits.max_body_bytes)
            model, batcher = state.resolve(name, version)
            tag(request, route, model)
            x, respond = await decode(body, model)
        return respond(await infer(request, model, batcher, x))

    async def predict_impl(request: Request, name: str, version: str | None) -> Response:
        async def decode(body: bytes, model: ServedModel) -> _Decoded:
            return await _decode(request, body, model), functools.partial(_encode, request, model)

        return await run_model(request, name, version, "predict", decode)

    @contextlib.contextmanager
    def _arriving() -> Iterator[None]:
        state.arriving += 1
        try:
            yield
        finally:
            state.arriving -= 1

    async def _decode(request: Request, body: bytes, model: ServedModel) -> torch.Tensor:
        ctype = (request.headers.get("content-type") or _JSON).split(";")[0].strip().lower()
        schema, max_el = model.schema, limits.max_elements
        if ctype == "application/octet-stream":
            h = request.headers
            return codecs.decode_raw(
                body, h.get("x-tensor-shape"), h.get("x-tensor-dtype"), schema, max_elements=max_el
            )
        if ctype in ("application/x-safetensors", "application/safetensors"):
            return codecs.decode_safetensors(body, schema, max_elements=max_el)
        if ctype in codecs.IMAGE_TYPES:
            return codecs.decode_image(body, schema, image_size=model.image_size, transform=model.transform)
        if ctype == _JSON or ctype.endswith("+json"):
            payload = await _parse_json(body)
            if len(body) > 65536:  # big JSON bodies decode on a thread so the event loop keeps answering
                return await asyncio.get_running_loop().run_in_executor(
                    None, lambda: codecs.decode_json(payload, schema, max_elements=max_el)
                )
            return codecs.decode_json(payload, schema, max_elements=max_el)
        raise RequestError(
            f"Content-Type {ctype!r} is not supported; use application/json, application/octet-stream "
            f"(with X-Tensor-Shape and X-Tensor-Dtype), application/x-safetensors or {', '.join(codecs.IMAGE_TYPES)}",
            415,
        )

    def _encode(request: Request, model: ServedModel, out: Any) -> Response:
        outputs = named_outputs(out)
        accept = request.headers.get("accept", "")
        if "application/octet-stream" in accept:
            if len(outputs) != 1:
                raise RequestError("binary responses carry one output; this model has several, ask for JSON", 406)
            raw, headers = codecs.encode_raw(outputs[0][1])
            headers.update({"X-Model-Name": model.name, "X-Model-Version": model.version})
            return Response(raw, headers=headers, media_type="application/octet-stream")
        result: dict[str, Any] = {
            "model": model.name,
            "version": model.version,
            "outputs": {
                n: response_codec.encode(t.to(torch.float32) if t.dtype == torch.bfloat16 else t) for n, t in outputs
            },
        }
        first = outputs[0][1]
        if len(outputs) == 1 and first.is_floating_point() and first.dim() == 2 and model.schema.classes is not None:
            if first.shape[1] == len(model.schema.classes):
                idx = first.argmax(dim=1).tolist()
                result["predictions"] = [{"index": i, "label": model.schema.classes[i]} for i in idx]
        return _json(result)

    @app.post("/v1/models/{name}/predict")
    @guarded
    async def predict(request: Request, name: str) -> Response:
        """Run the model (canary split applied) on one input tensor or image."""
        return await predict_impl(request, name, None)

    @app.post("/v1/models/{name}/versions/{version}/predict")
    @guarded
    async def predict_version(request: Request, name: str, version: str) -> Response:
        """Run one pinned version of the model."""
        return await predict_impl(request, name, version)

    @app.post("/v1/models/{name}/stream")
    @guarded
    async def stream(request: Request, name: str) -> Response:
        """Stream a generative model's events as Server-Sent Events."""
        tag(request, "stream")
        auth(request, "predict")
        state.check_ready()
        body = await _read_body(request, limits.max_body_bytes)
        model, batcher = state.resolve(name, None)
        tag(request, "stream", model)
        if not model.streams:
            raise RequestError(f"model {name} does not stream; use /v1/models/{name}/predict", 400)
        payload = await _parse_json(body)
        if not isinstance(payload, dict):
            raise RequestError("body: expected a JSON object", 400)
        _check_tokens(payload, limits.max_tokens)
        if batcher.admitted >= batcher.queue_size:
            raise RequestError(f"model {name}: too many requests in flight; retry later", 429,
                               {"Retry-After": str(limits.retry_after_s)})  # fmt: skip
        events = model.module.stream(payload)  # type: ignore[attr-defined]  # checked by model.streams
        return StreamingResponse(
            _sse(
                events,
                request,
                deadline_of(request),
                lambda ok, seconds: state.record(model, ok, seconds),
                state.stream_executor,
            ),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    # -- admin routes ------------------------------------------------------------------------------
    @app.get("/v1/admin/models/{name}")
    @guarded
    async def admin_route(request: Request, name: str) -> Response:
        """A model's routing, recent per-version stats and canary events."""
        tag(request, "admin")
        auth(request, "admin")
        state.check_ready()
        assert state.router is not None
        state.router.route(name)
        return _json(state.router.describe(name))

    @app.post("/v1/admin/models/{name}/canary")
    @guarded
    async def admin_canary(request: Request, name: str) -> Response:
        """Start a canary: body ``{"version": "2", "share": 0.1}``."""
        tag(request, "admin")
        auth(request, "admin")
        state.check_ready()
        body = await _parse_json(await _read_body(request, 65536))
        if not isinstance(body, dict) or not isinstance(body.get("version"), str):
            raise RequestError('body: expected {"version": "<version>", "share": <0..1>}', 400)
        share = body.get("share", 0.1)
        if not isinstance(share, (int, float)) or isinstance(share, bool):
            raise RequestError(f"share: expected a number between 0 and 1, got {share!r}", 400)
        assert state.router is not None
        route = state.router.set_canary(name, body["version"], float(share))
        state.metrics.canary_share.labels(name, body["version"]).set(float(share))
        return _json({"stable": route.stable, "canary": route.canary, "share": route.share})

    @app.post("/v1/admin/models/{name}/promote")
    @guarded
    async def admin_promote(request: Request, name: str) -> Response:
        """Make the canary the stable version."""
        tag(request, "admin")
        auth(request, "admin")
        state.check_ready()
        assert state.router is not None
        route = state.router.promote(name)
        state.metrics.canary_events.labels(name, route.stable, "promote").inc()
        return _json({"stable": route.stable, "canary": route.canary, "share": route.share})

    @app.post("/v1/admin/models/{name}/rollback")
    @guarded
    async def admin_rollback(request: Request, name: str) -> Response:
        """Stop sending traffic to the canary."""
        tag(request, "admin")
        auth(request, "admin")
        state.check_ready()
        assert state.router is not None
        old = state.router.routes[name].canary if name in state.router.routes else None
        route = state.router.rollback(name)
        state.metrics.canary_events.labels(name, old or "-", "rollback").inc()
        return _json({"stable": route.stable, "canary": route.canary, "share": route.share})

    # -- Open Inference Protocol (KServe v2) -------------------------------------------------------
    @app.get("/v2")
    async def v2_server(request: Request) -> Response:
        """Server metadata."""
        from forge.serve import __version__

        tag(request, "health")
        return _json({"name": "forge-serve", "version": __version__, "extensions": ["binary_tensor_data"]})

    @app.get("/v2/health/live")
    async def v2_live(request: Request) -> Response:
        """Liveness (v2)."""
        tag(request, "health")
        return Response(status_code=200)

    @app.get("/v2/health/ready")
    async def v2_ready(request: Request) -> Response:
        """Readiness (v2)."""
        tag(request, "health")
        return Response(status_code=200 if state.ready else 503)

    def _v2_model(name: str, version: str | None) -> ServedModel:
        state.check_ready()
        assert state.router is not None
        v = version if version is not None else state.router.route(name)
        state.router.route(name, v)
        return state.models[(name, v)]

    async def v2_metadata_impl(request: Request, name: str, version: str | None) -> Response:
        tag(request, "metadata")
        auth(request, "predict")
        model = _v2_model(name, version)
        assert state.router is not None
        schema = model.schema
        return _json(
            {
                "name": name,
                "versions": state.router.versions[name],
                "platform": "pytorch",
                "inputs": [
                    {"name": "input", "datatype": oip.protocol_datatype(schema.dtype), "shape": [-1, *schema.shape]}
                ],
                "outputs": [
                    {"name": n, "datatype": oip.protocol_datatype(d), "shape": [-1, *s]} for n, d, s in model.outputs
                ],
            }
        )

    @app.get("/v2/models/{name}")
    @guarded
    async def v2_metadata(request: Request, name: str) -> Response:
        """Model metadata (v2)."""
        return await v2_metadata_impl(request, name, None)

    @app.get("/v2/models/{name}/versions/{version}")
    @guarded
    async def v2_metadata_version(request: Request, name: str, version: str) -> Response:
        """Model version metadata (v2)."""
        return await v2_metadata_impl(request, name, version)

    @app.get("/v2/models/{name}/ready")
    @guarded
    async def v2_model_ready(request: Request, name: str) -> Response:
        """Model readiness (v2)."""
        tag(request, "health")
        _v2_model(name, None)
        return Response(status_code=200)

    @app.get("/v2/models/{name}/versions/{version}/ready")
    @guarded
    async def v2_model_version_ready(request: Request, name: str, version: str) -> Response:
        """Model version readiness (v2)."""
        tag(request, "health")
        _v2_model(name, version)
        return Response(status_code=200)

    async def v2_infer_impl(request: Request, name: str, version: str | None) -> Response:
        async def decode(body: bytes, model: ServedModel) -> _Decoded:
            parsed = oip.parse_infer_request(
                body, request.headers.get(oip.HEADER_LENGTH.lower()), model.schema, max_elements=limits.max_elements
            )

            def respond(out: Any) -> Response:
                content, headers = oip.encode_infer_response(model.name, model.version, named_outputs(out), parsed)
                media = headers.pop("Content-Type")
                return Response(content, headers=headers, media_type=media)

            return parsed.tensor, respond

        return await run_model(request, name, version, "infer", decode)

    @app.post("/v2/models/{name}/infer")
    @guarded
    async def v2_infer(request: Request, name: str) -> Response:
        """Inference (v2), JSON or binary tensor data."""
        return await v2_infer_impl(request, name, None)

    @app.post("/v2/models/{name}/versions/{version}/infer")
    @guarded
    async def v2_infer_version(request: Request, name: str, version: str) -> Response:
        """Inference on a pinned version (v2)."""
        return await v2_infer_impl(request, name, version)

    app.add_middleware(_AccessLog, state=state)
    return app


async def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(f"body: malformed JSON ({exc})", 400) from None


def _check_tokens(payload: Mapping[str, Any], limit: int) -> None:
    prompt = payload.get("prompt", [])
    new = payload.get("max_new_tokens", 0)
    if not isinstance(new, int) or isinstance(new, bool) or new < 0:
        raise RequestError(f"max_new_tokens: expected a non-negative integer, got {new!r}", 422)
    length = len(prompt) if isinstance(prompt, (list, str)) else 0
    if length + new > limit:
        raise RequestError(
            f"prompt ({length} tokens) + max_new_tokens ({new}) is more than the limit of {limit} tokens", 422
        )


async def _sse(
    events: Iterator[Mapping[str, Any]],
    request: Request,
    deadline: float,
    record: Callable[[bool, float], None],
    executor: ThreadPoolExecutor,
) -> AsyncIterator[bytes]:
    start = time.monotonic()
    done = object()
    ok = False
    step: Future[Any] | None = None
    try:
        while True:
            if time.monotonic() > deadline:
                yield format_event({"error": "request deadline passed"}, "error")
                break
            step = executor.submit(next, events, done)
            item = await asyncio.wrap_future(step)
            if item is done:
                yield format_event({"done": True}, "end")
                ok = True
                break
            yield format_event(item)
            if await request.is_disconnected():
                break
    except Exception as exc:  # an error inside the model's iterator ends the stream with an error event
        yield format_event({"error": f"{type(exc).__name__}: {exc}"}, "error")
    finally:
        # Stop the generator so nothing more is computed for a client that left; when a step is still
        # running on its thread (the client left mid-step), close it as soon as that step returns.
        if step is not None and not step.done():
            step.add_done_callback(lambda _: _close(events))
        else:
            _close(events)
        record(ok, time.monotonic() - start)


def _close(events: Iterator[Any]) -> None:
    close = getattr(events, "close", None)
    if callable(close):
        close()


def _constant(model: ServedModel) -> ModelFactory:
    def built() -> list[ServedModel]:
        return [model]

    return built


def _path_factory(path: str, config: ServeConfig) -> ModelFactory:
    def load() -> list[ServedModel]:
        return [
            load_served_model(name, version, folder, which=config.checkpoint, device=config.device)
            for name, version, folder in discover(path)
        ]

    return load
