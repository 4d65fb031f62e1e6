"""The ``forge`` command line.

Built-in commands live here and in the modules beside this one; plugins add theirs through the
``forge_register_commands`` hook, which is only called when a command that is not built in is
asked for (or the command list is shown), so ``forge plugins`` and ``forge list`` stay fast.
"""

from __future__ import annotations

import os
from typing import Any

import click

from forge.core.cli._inspect import config_group, info_command, list_command, plugins_command
from forge.core.cli._scaffold import new_plugin_command

__all__ = ["cli", "main"]

_LAZY_BUILTINS = {
    "doctor": ("forge.core.cli._doctor", "doctor_command"),
    "train": ("forge.core.cli._train", "train_command"),
    "eval": ("forge.core.cli._train", "eval_command"),
    "export": ("forge.core.cli._export", "export_command"),
    "compress": ("forge.core.cli._compress", "compress_command"),
    "runs": ("forge.core.cli._hub", "runs_group"),
    "checkpoints": ("forge.core.cli._checkpoints", "checkpoints_group"),
    "models": ("forge.core.cli._hub", "models_group"),
    "lineage": ("forge.core.cli._hub", "lineage_command"),
    "gate": ("forge.core.cli._hub", "gate_command"),
    "sweep": ("forge.core.cli._sweep", "sweep_command"),
    "report": ("forge.core.cli._report", "report_command"),
}


class ForgeGroup(click.Group):
    """A click group that adds plugin commands on demand."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plugin_commands: dict[str, click.Command] | None = None

    def _lazy(self, name: str) -> click.Command | None:
        if name not in _LAZY_BUILTINS:
            return None
        import importlib

        module, attr = _LAZY_BUILTINS[name]
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def _plugins(self, ctx: click.Context) -> dict[str, click.Command]:
        if self._plugin_commands is None:
            from forge.core._plugins import collect_commands
            from forge.core._registry import registry

            # click resolves the subcommand before the group callback runs: set logging up first
            # so that a plugin failing to load is reported in the format the user asked for.
            _configure_logging(ctx)
            _apply_plugin_options(ctx)
            builtins = set(self.commands) | set(_LAZY_BUILTINS)
            self._plugin_commands = collect_commands(
                registry.plugin_manager(), registry.plugins, registry.settings, builtins
            )
        return self._plugin_commands

    def plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        """The commands plugins add, collected once; clashes are recorded on the plugins' records."""
        return self._plugins(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx)) | set(_LAZY_BUILTINS) | set(self._plugins(ctx))
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name) or self._lazy(cmd_name)
        if command is None:
            command = self._plugins(ctx).get(cmd_name)
        return command


def _configure_logging(ctx: click.Context) -> None:
    from forge.core._logging import configure_logging

    params = ctx.find_root().params
    verbose, quiet = params.get("verbose") or 0, bool(params.get("quiet"))
    level = "warning" if quiet else ("debug" if verbose > 1 else "info")
    fmt = params.get("log_format") or os.environ.get("FORGE_LOG_FORMAT", "console")
    configure_logging(fmt="json" if fmt == "json" else "console", level=level)


def _apply_plugin_options(ctx: click.Context) -> None:
    from forge.core._plugins import PluginSettings
    from forge.core._registry import registry

    root = ctx.find_root()
    disabled = root.params.get("disable_plugins") or ()
    names = [n.strip() for item in disabled for n in item.split(",") if n.strip()]
    if not registry.loaded:
        registry.configure(PluginSettings.from_env(disable=names))


def _version_text() -> str:
    from importlib import metadata

    from forge.core._plugins import ENTRY_POINT_GROUP, core_version

    lines = [f"forge-core {core_version()}"]
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        if ep.name != "core" and dist is not None:
            lines.append(f"  {ep.name}: {dist.name} {dist.version}")
    return "\n".join(lines)


def _print_version(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_version_text())
        ctx.exit()


@click.group(cls=ForgeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show forge-core's and every plugin's version.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.option(
    "--log-format",
    type=click.Choice(["console", "json"]),
    default=None,
    help="Log lines for people (console) or machines (json). Default: FORGE_LOG_FORMAT or console.",
)
@click.option(
    "--disable-plugins",
    multiple=True,
    metavar="NAMES",
    help="Comma-separated plugins (entry-point or distribution names) not to import; adds to FORGE_DISABLE_PLUGINS.",
)
@click.pass_context
def cli(
    ctx: click.Context, verbose: int, quiet: bool, log_format: str | None, disable_plugins: tuple[str, ...]
) -> None:
    """forge: a plugin-based PyTorch SDK."""
    _configure_logging(ctx)
    _apply_plugin_options(ctx)


cli.add_command(plugins_command)
cli.add_command(list_command)
cli.add_command(info_command)
cli.add_command(config_group)
cli.add_command(new_plugin_command)


def main() -> None:
    """Entry point of the ``forge`` console script."""
    from forge.core.errors import ForgeError

    try:
        cli.main(prog_name="forge", standalone_mode=False)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        raise SystemExit(1) from None
    except ForgeError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
