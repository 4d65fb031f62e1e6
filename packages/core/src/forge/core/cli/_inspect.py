"""Commands that describe what is installed: ``plugins``, ``list``, ``info``, ``config show``.

None of them imports torch or a plugin's implementation modules (``info`` imports only the
component's config class, which lives in a light module by convention).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from forge.core._registry import ComponentSpec

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
    """Show installed plugins: version, plugin API, load time, what each registers, the commands
    each adds, and failures.

    The load time is the import of the plugin's entry-point module plus its registration hooks,
    which every forge command pays; past FORGE_PLUGIN_SLOW_MS (default 200) it is a warning.
    """
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
        load = "-" if i.load_ms is None else f"{i.load_ms:.0f}"
        commands = ", ".join(i.commands) or "-"
        row = (i.name, i.distribution, i.version, str(i.api_version or "-"), i.status, load, registers or "-", commands)
        rows.append(row)
    header = ("plugin", "distribution", "version", "api", "status", "load ms", "registers", "commands")
    click.echo(_table(rows, header))
    for i in infos:
        if i.error:
            click.echo(f"\n{i.name}: {i.status}: {i.error}")
        for warning in i.warnings:
            click.echo(f"\n{i.name}: warning: {warning}")


def collect_plugin_commands() -> dict[str, click.Command]:
    """Collect the plugins' CLI commands, so their records show clashes and what each adds.

    Returns:
        The commands the plugins add, by name (empty when a command is invoked outside the ``forge``
        group, as tests do).
    """
    root = click.get_current_context().find_root().command
    collect = getattr(root, "plugin_commands", None)  # absent when a command is invoked on its own
    if collect is None:
        return {}
    commands: dict[str, click.Command] = collect(click.get_current_context().find_root())
    return commands


def _command_rows() -> list[tuple[str, str, str]]:
    """(name, provider, summary) of every command: forge's built-in ones, then those plugins add."""
    from forge.core._registry import registry

    ctx = click.get_current_context().find_root()
    added = collect_plugin_commands()
    providers = {name: info.name for info in registry.plugins for name in info.commands}
    rows = []
    group = ctx.command
    names = group.list_commands(ctx) if isinstance(group, click.Group) else []
    for name in names:
        command = group.get_command(ctx, name) if isinstance(group, click.Group) else None
        if command is None:
            continue
        provider = f"plugin {providers[name]}" if name in added and name in providers else "forge-core"
        rows.append((name, provider, command.get_short_help_str(limit=70)))
    return rows


@click.command("list")
@click.argument("kind")
@click.argument("pattern", required=False)
@click.option("--tag", "tags", multiple=True, help="Only components with this tag (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(kind: str, pattern: str | None, tags: tuple[str, ...], as_json: bool) -> None:
    """List registered components of KIND (models, losses, datasets, ...) matching PATTERN.

    KIND may also be `commands`: the CLI commands, built in or added by a plugin, and which plugin adds each.
    """
    from forge.core._registry import registry

    if kind.strip().lower() in ("command", "commands"):
        rows = [r for r in _command_rows() if pattern is None or _glob(r[0], pattern)]
        if as_json:
            click.echo(json.dumps([{"name": n, "provider": p, "summary": h} for n, p, h in rows], indent=2))
        else:
            click.echo(_table(rows, ("command", "provider", "summary")))
        return
    specs = registry.list(kind, pattern=pattern, tags=tags)
    if as_json:
        click.echo(json.dumps([s.to_json() for s in specs], indent=2))
        return
    if not specs:
        click.echo(f"no {kind} match", err=True)
        return
    click.echo(_table([(s.name, s.summary, ",".join(sorted(s.tags))) for s in specs], ("name", "summary", "tags")))


def _glob(name: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(name, pattern) if any(c in pattern for c in "*?[") else pattern in name


@click.command("info")
@click.argument("name")
@click.option("--kind", default=None, help="Component kind, when NAME exists in several kinds.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option(
    "--sample",
    is_flag=True,
    help="Datasets: build the dataset with its defaults and show split sizes and one sample's shapes and dtypes "
    "(imports torch and the dataset's code).",
)
def info_command(name: str, kind: str | None, as_json: bool, sample: bool) -> None:
    """Describe component NAME: summary, provider, config fields with types, defaults and help.

    A recipe is shown with its file's contents, to copy and edit. A NAME that several kinds use
    (vision.digits is a dataset and a recipe) shows each, after a note; --kind picks one.
    """
    from forge.core._registry import KINDS, registry
    from forge.core.errors import RegistryError

    kinds = [kind] if kind else list(KINDS)
    found = []
    for k in kinds:
        try:
            found.append(registry.get(k, name))
        except RegistryError as exc:
            if kind or "ambiguous" in str(exc):
                raise
    if not found:
        raise RegistryError(f"no component named {name!r}{_close_names(name)}")
    described = [_describe_spec(spec, sample=sample) for spec in found]
    if as_json:
        click.echo(json.dumps(described[0] if len(described) == 1 else described, indent=2, default=str))
        return
    if len(found) > 1:
        kinds_found = " and ".join(f"a {s.kind}" for s in found)
        click.echo(
            f"note: {name!r} names {len(found)} components ({kinds_found}); showing each. "
            f"Pick one with --kind ({', '.join(s.kind for s in found)}).\n",
            err=True,
        )
    for index, data in enumerate(described):
        if index:
            click.echo("\n" + "=" * 80 + "\n")
        _echo_spec(data)


def _close_names(name: str) -> str:
    """``"; did you mean ..."`` with registered names (any kind) close to ``name``, or where to look."""
    import difflib

    from forge.core._registry import registry

    specs = registry.list()
    candidates = {s.name: s for s in specs} | {s.short_name: s for s in specs}
    close = difflib.get_close_matches(name, list(candidates), n=4, cutoff=0.6)
    if not close:
        return "; `forge list KIND` shows what exists"
    shown = list(dict.fromkeys(f"{candidates[c].name} ({candidates[c].kind})" for c in close))
    return f"; did you mean {', '.join(shown)}?"


def _describe_spec(spec: ComponentSpec, *, sample: bool) -> dict[str, Any]:
    from forge.core._registry import registry
    from forge.core.config import describe

    cls = registry.config_class(spec)
    fields = describe(cls, spec.defaults) if cls is not None else []
    data = spec.to_json()
    data["fields"] = [
        {"name": f.name, "type": f.type, "default": f.default, "required": f.required, "help": f.help}
        | ({"constraint": f.constraint} if f.constraint else {})
        for f in fields
    ]
    if spec.kind == "recipe":
        path = registry.recipe_path(spec)
        data["file"] = str(path)
        data["text"] = path.read_text(encoding="utf-8")
    if sample and spec.kind == "dataset":
        data["sample"] = _dataset_sample(spec)
    return data


def _shape_of(value: Any) -> Any:
    """``{"shape": [...], "dtype": "float32"}`` of a tensor or array; the same, nested, for tuples and dicts."""
    if isinstance(value, dict):
        return {str(k): _shape_of(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_shape_of(v) for v in value]
    shape = getattr(value, "shape", None)
    if shape is not None:
        return {"shape": list(shape), "dtype": str(getattr(value, "dtype", "?")).removeprefix("torch.")}
    return {"type": type(value).__name__, "value": value if isinstance(value, (int, float, str, bool)) else None}


def _dataset_sample(spec: ComponentSpec) -> dict[str, Any]:
    """Build a dataset with its registered defaults: split sizes, classes and the first training sample's shapes."""
    from forge.core._registry import registry
    from forge.core.errors import ForgeError

    try:
        splits = registry.build("dataset", spec.name)
    except ForgeError as exc:
        raise ForgeError(
            f"dataset {spec.name}: cannot build it with its defaults to show a sample ({exc}); "
            "its required fields must be given in a recipe"
        ) from exc
    out: dict[str, Any] = {"task": splits.info.task, "num_classes": splits.info.num_classes, "sizes": {}}
    for split_name in ("train", "val", "test"):
        split = getattr(splits, split_name)
        if split is not None and hasattr(split, "__len__"):
            out["sizes"][split_name] = len(split)
    if splits.train is not None:
        first = splits.train[0] if hasattr(splits.train, "__getitem__") else next(iter(splits.train))
        if isinstance(first, (tuple, list)) and len(first) == 2:
            out["input"], out["target"] = _shape_of(first[0]), _shape_of(first[1])
        else:
            out["input"] = _shape_of(first)
    return out


def _format_shape(value: Any) -> str:
    if isinstance(value, dict) and "shape" in value:
        return f"{value['dtype']} [{', '.join(map(str, value['shape']))}]"
    if isinstance(value, dict) and "type" in value:
        return value["type"] if value["value"] is None else f"{value['type']} (e.g. {value['value']!r})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_format_shape(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "(" + ", ".join(_format_shape(v) for v in value) + ")"
    return str(value)


def _short_constraint(text: str) -> str:
    """A declared constraint for the table: ``> 0``, ``>= 0 and < 1``, ``one of: 'a', 'b'``, ``non-empty``."""
    return text.replace("a number ", "").replace("one of ", "one of: ")


def _echo_spec(data: dict[str, Any]) -> None:
    click.echo(f"{data['kind']} {data['name']}: {data['summary']}")
    click.echo(f"provider: {data['provider']}   builder: {data['builder']}")
    if data["tags"]:
        click.echo(f"tags: {', '.join(data['tags'])}")
    if data["config"] is not None:
        click.echo(f"config: {data['config']}\n")
        rows = [
            (
                f["name"],
                f["type"],
                "(required)" if f["required"] else json.dumps(f["default"], default=str),
                _short_constraint(f.get("constraint", "")),
                f["help"],
            )
            for f in data["fields"]
        ]
        click.echo(_table(rows, ("field", "type", "default", "valid", "help")))
    if "sample" in data:
        found = data["sample"]
        sizes = ", ".join(f"{k} {v}" for k, v in found["sizes"].items())
        classes = "" if found["num_classes"] is None else f", {found['num_classes']} classes"
        click.echo(f"\nsample (built with the defaults): task {found['task']}{classes}; {sizes}")
        if "input" in found:
            click.echo(f"  input:  {_format_shape(found['input'])}")
        if "target" in found:
            click.echo(f"  target: {_format_shape(found['target'])}")
    elif data["kind"] == "dataset":
        click.echo("\n(--sample builds it and shows split sizes and one sample's shapes and dtypes)")
    if "text" in data:
        click.echo(
            f"\nrecipe file: {data['file']}\n(copy it to edit, or override keys: forge train NAME key.path=value)\n"
        )
        click.echo(data["text"], nl=False)


@click.group("config")
def config_group() -> None:
    """Inspect configuration files."""


@config_group.command("show")
@click.argument("file")
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
def config_show(file: str, overrides: tuple[str, ...], fmt: str | None, output: Path | None) -> None:
    """Print FILE with dotted OVERRIDES (key.path=value) applied, resolved and validated.

    FILE is a config file or a registered recipe name (vision/digits, as forge train takes it).
    A recipe (a file with a [model] or [trainer] section) is resolved against the registered
    components, so every default is shown and every key is checked: a starting point to copy.
    """
    from forge.core import config as cfg

    path = _config_source(file)
    data = cfg.apply_overrides(cfg.load_file(path), overrides)
    if "model" in data or "trainer" in data:
        from forge.core._recipe import Recipe

        recipe = Recipe.from_dict(data, source=str(path))
        # at run time num_classes comes from the dataset; here only the model section can tell it
        classes = recipe.model.params.get("num_classes") or recipe.data.params.get("num_classes")
        recipe = recipe.with_num_classes(classes)
        recipe.validate()
        data = recipe.to_dict()
    if output is not None:
        cfg.dump(data, output)
        click.echo(f"wrote {output}", err=True)
        return
    suffix = path.suffix.lower().lstrip(".")
    click.echo(cfg.dumps(data, fmt or {"yml": "yaml"}.get(suffix, suffix)), nl=False)


def _config_source(file: str) -> Path:
    """The file ``forge config show`` reads: ``file`` itself, or the file of the registered recipe it names.

    Raises:
        ConfigError: ``file`` is neither an existing file nor a registered recipe (close names suggested).
    """
    from forge.core._registry import registry
    from forge.core.errors import ConfigError, RegistryError

    path = Path(file)
    if path.is_file() or path.suffix.lower() in (".toml", ".yaml", ".yml", ".json"):
        return path  # load_file reports a missing file by its name
    try:
        return registry.recipe_path(registry.get("recipe", file))
    except RegistryError as exc:
        raise ConfigError(f"{file}: neither a config file nor a registered recipe ({exc})") from None
