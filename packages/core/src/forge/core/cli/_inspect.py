"""Commands that describe what is installed: ``plugins``, ``list``, ``info``, ``config show``.

None of them imports torch or a plugin's implementation modules (``info`` imports only the
component's config class, which lives in a light module by convention).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import click

__all__ = ["config_group", "info_command", "list_command", "plugins_command"]


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    cells = [list(header), *[list(r) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_command(as_json: bool) -> None:
    """Show installed plugins: version, plugin API, what each registers, and failures."""
    from forge.core._registry import registry
    from forge.core.hookspecs import KINDS

    collect_plugin_commands()
    infos = registry.plugins
    if as_json:
        click.echo(json.dumps([i.to_json() for i in infos], indent=2))
        return
    rows = []
    for i in infos:
        counts = sorted(i.components.items())
        registers = ", ".join(f"{len(v)} {k if len(v) == 1 else KINDS[k].plural}" for k, v in counts)
        rows.append((i.name, i.distribution, i.version, str(i.api_version or "-"), i.status, registers or "-"))
    click.echo(_table(rows, ("plugin", "distribution", "version", "api", "status", "registers")))
    for i in infos:
        if i.error:
            click.echo(f"\n{i.name}: {i.status}: {i.error}")
        for warning in i.warnings:
            click.echo(f"\n{i.name}: warning: {warning}")


def collect_plugin_commands() -> None:
    """Collect the plugins' CLI commands, so their records show clashes and what each adds."""
    root = click.get_current_context().find_root().command
    collect = getattr(root, "plugin_commands", None)  # absent when a command is invoked on its own
    if collect is not None:
        collect(click.get_current_context().find_root())


@click.command("list")
@click.argument("kind")
@click.argument("pattern", required=False)
@click.option("--tag", "tags", multiple=True, help="Only components with this tag (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(kind: str, pattern: str | None, tags: tuple[str, ...], as_json: bool) -> None:
    """List registered components of KIND (models, losses, datasets, ...) matching PATTERN."""
    from forge.core._registry import registry

    specs = registry.list(kind, pattern=pattern, tags=tags)
    if as_json:
        click.echo(json.dumps([s.to_json() for s in specs], indent=2))
        return
    if not specs:
        click.echo(f"no {kind} match", err=True)
        return
    click.echo(_table([(s.name, s.summary, ",".join(sorted(s.tags))) for s in specs], ("name", "summary", "tags")))


@click.command("info")
@click.argument("name")
@click.option("--kind", default=None, help="Component kind, when NAME exists in several kinds.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info_command(name: str, kind: str | None, as_json: bool) -> None:
    """Describe component NAME: summary, provider, config fields with types, defaults and help."""
    from forge.core._registry import KINDS, registry
    from forge.core.config import describe
    from forge.core.errors import RegistryError

    kinds = [kind] if kind else list(KINDS)
    found = []
    for k in kinds:
        try:
            found.append(registry.get(k, name))
        except RegistryError as exc:
            if kind:
                raise
            if "ambiguous" in str(exc):
                raise
    if not found:
        raise RegistryError(f"no component named {name!r}; `forge list KIND` shows what exists")
    if len(found) > 1:
        kinds_found = ", ".join(f"{s.kind} {s.name}" for s in found)
        raise RegistryError(f"{name!r} names several components ({kinds_found}); pass --kind")
    spec = found[0]
    cls = registry.config_class(spec)
    fields = describe(cls, spec.defaults) if cls is not None else []
    if as_json:
        data = spec.to_json()
        data["fields"] = [
            {"name": f.name, "type": f.type, "default": f.default, "required": f.required, "help": f.help}
            for f in fields
        ]
        click.echo(json.dumps(data, indent=2, default=str))
        return
    click.echo(f"{spec.kind} {spec.name}: {spec.summary}")
    click.echo(f"provider: {spec.provider}   builder: {spec.builder}")
    if spec.tags:
        click.echo(f"tags: {', '.join(sorted(spec.tags))}")
    if cls is not None:
        click.echo(f"config: {spec.config}\n")
        rows = [
            (f.name, f.type, "(required)" if f.required else json.dumps(f.default, default=str), f.help) for f in fields
        ]
        click.echo(_table(rows, ("field", "type", "default", "help")))


@click.group("config")
def config_group() -> None:
    """Inspect configuration files."""


@config_group.command("show")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("overrides", nargs=-1)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["toml", "yaml", "json"]),
    default=None,
    help="Output format (default: the file's own).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the resolved config to this file instead of printing it.",
)
def config_show(file: Path, overrides: tuple[str, ...], fmt: str | None, output: Path | None) -> None:
    """Print FILE with dotted OVERRIDES (key.path=value) applied, resolved and validated.

    A recipe (a file with a [model] or [trainer] section) is resolved against the registered
    components, so every default is shown and every key is checked.
    """
    from forge.core import config as cfg

    data = cfg.apply_overrides(cfg.load_file(file), overrides)
    if "model" in data or "trainer" in data:
        from forge.core._recipe import Recipe

        recipe = Recipe.from_dict(data, source=str(file))
        # at run time num_classes comes from the dataset; here only the model section can tell it
        classes = recipe.model.params.get("num_classes") or recipe.data.params.get("num_classes")
        recipe = recipe.with_num_classes(classes)
        recipe.validate()
        data = recipe.to_dict()
    if output is not None:
        cfg.dump(data, output)
        click.echo(f"wrote {output}", err=True)
        return
    suffix = file.suffix.lower().lstrip(".")
    click.echo(cfg.dumps(data, fmt or {"yml": "yaml"}.get(suffix, suffix)), nl=False)
