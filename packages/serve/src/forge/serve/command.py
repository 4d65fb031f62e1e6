"""The ``forge serve`` command (registered through ``forge_register_commands``).

Light: imports click only; fastapi, uvicorn, torch and the models load when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

__all__ = ["build_config", "serve_command"]


def _api_key(text: str) -> dict[str, Any]:
    parts = text.split(":", 3)
    if len(parts) != 4 or parts[2] not in ("env", "file") or not parts[0] or not parts[3]:
        raise click.BadParameter(
            f"{text!r}: expected NAME:ROLES:env:VARIABLE or NAME:ROLES:file:PATH "
            "(ROLES: predict, admin, predict+admin)",
            param_hint="--api-key",
        )
    name, roles, kind, where = parts
    return {"name": name, "roles": [r for r in roles.split("+") if r], kind: where}


def _canary(text: str) -> dict[str, Any]:
    parts = text.split(":")
    try:
        model, version, share = parts
        value = float(share)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: expected MODEL:VERSION:SHARE, e.g. digits:2:0.1", param_hint="--canary"
        ) from None
    return {"model": model, "version": version, "share": value}


def build_config(paths: tuple[str, ...], config_file: Path | None, options: dict[str, Any]) -> Any:
    """Merge a config file (if any) with command-line options into a :class:`~forge.serve.configs.ServeConfig`.

    Raises:
        ConfigError: an invalid value, naming its key path.
    """
    from forge.core.config import load_file, structure
    from forge.serve.configs import ServeConfig

    data: dict[str, Any] = load_file(config_file) if config_file is not None else {}
    if paths:
        data["models"] = list(paths)
    sections: dict[str, dict[str, Any]] = {"batching": {}, "limits": {}, "tls": {}}
    for key, value in options.items():
        if value is None or value == ():
            continue
        section, _, field = key.partition("__")
        if field:
            sections[section][field] = value
        else:
            data[key] = value
    for section, values in sections.items():
        if values:
            data[section] = {**data.get(section, {}), **values}
    return structure(data, ServeConfig, where="serve")


@click.command("serve")
@click.argument("paths", nargs=-1, metavar="RUN_DIR_OR_EXPORT...")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML/YAML/JSON file of ServeConfig fields; options given here override it.",
)
@click.option("--host", default=None, help="Interface to listen on [default: 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port; 0 picks a free one [default: 8000].")
@click.option("--workers", type=int, default=None, help="Worker processes, each with every model [default: 1].")
@click.option("--device", default=None, help="torch device: cpu, cuda, cuda:1 [default: cpu].")
@click.option("--checkpoint", type=click.Choice(("best", "last")), default=None, help="Checkpoint of run directories.")
@click.option("--max-batch-size", "batching__max_batch_size", type=int, default=None, help="Most samples per batch.")
@click.option("--max-wait-ms", "batching__max_wait_ms", type=float, default=None, help="Longest wait to fill a batch.")
@click.option("--queue-size", "batching__queue_size", type=int, default=None, help="Admission queue per model/worker.")
@click.option("--threads", "batching__threads", type=int, default=None, help="torch threads per worker.")
@click.option("--timeout", "limits__request_timeout_s", type=float, default=None, help="Whole-request deadline (s).")
@click.option("--max-body-bytes", "limits__max_body_bytes", type=int, default=None, help="Largest request body.")
@click.option("--drain-timeout", "limits__drain_timeout_s", type=float, default=None, help="Drain deadline on SIGTERM.")
@click.option("--api-key", "api_keys", multiple=True, help="NAME:ROLES:env:VAR or NAME:ROLES:file:PATH (repeatable).")
@click.option("--canary", default=None, help="MODEL:VERSION:SHARE: start a canary release.")
@click.option("--tls-cert", "tls__certfile", default=None, help="PEM certificate; enables TLS.")
@click.option("--tls-key", "tls__keyfile", default=None, help="PEM private key.")
@click.option("--drift-reference", default=None, help="safetensors reference features for drift monitoring.")
@click.option("--factory", "factories", multiple=True, help="'module:attr' returning ServedModels (repeatable).")
@click.option("--log-format", type=click.Choice(("json", "console")), default=None, help="Log format [default: json].")
@click.option("--no-warmup", "warmup", flag_value=False, default=None, help="Skip the warm-up forward pass.")
@click.option(
    "--port-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the bound port here once listening.",
)
def serve_command(paths: tuple[str, ...], config_file: Path | None, port_file: Path | None, **options: Any) -> None:
    """Serve RUN_DIR_OR_EXPORT (run directories, exports, or folders of NAME/VERSION/ run directories).

    \b
    Routes: /v1/models/NAME/predict (JSON, raw tensor bytes, safetensors, images),
    /v2/models/NAME/infer (Open Inference Protocol), /v1/models/NAME/stream (SSE),
    /livez, /readyz, /metrics, /v1/admin/models/NAME/{canary,promote,rollback}.

    \b
    Example:
      forge serve runs/digits --workers 2 --max-batch-size 32 --api-key ci:predict:env:CI_KEY
    """
    from forge.core.errors import ForgeError
    from forge.serve.server import serve

    options["api_keys"] = [_api_key(k) for k in options["api_keys"]] or None
    options["canary"] = _canary(options["canary"]) if options["canary"] else None
    options["factories"] = list(options["factories"]) or None
    try:
        config = build_config(paths, config_file, options)
        if not config.models and not config.factories:
            raise click.UsageError("give at least one RUN_DIR_OR_EXPORT (or a factory)")
        code = serve(config, port_file=port_file)
    except ForgeError as exc:
        raise click.ClickException(str(exc)) from None
    raise SystemExit(code)
