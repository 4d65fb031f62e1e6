"""One self-contained HTML page from an analysis dict (:func:`forge.core.evaluator._analysis.analyse_run`).

The page needs nothing but itself: CSS is inline, every plot is a PNG drawn with matplotlib
(Agg) and embedded as a ``data:`` URI, and no URL is referenced. Every piece of text taken from
the analysis (run paths, class and group names, notes) is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from forge.core._atomic import write_text

__all__ = ["SECTIONS", "render_html", "write_html_report"]

SECTIONS = (
    "Summary",
    "Training curves",
    "Calibration",
    "Per-class metrics",
    "Subgroups",
    "Robustness",
    "Out-of-distribution detection",
    "Regression set",
)

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px;
       color: #1d1d1f; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #d0d0d0; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; }
td.text, th.text { text-align: left; }
.muted { color: #666; font-size: 0.9em; }
.big { font-size: 1.3em; font-weight: 600; }
.bad { color: #b00020; font-weight: 600; }
.good { color: #1b7f3b; font-weight: 600; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.4em 0.6em 0.4em 0; vertical-align: top; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return _e(value)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], text_columns: int = 1) -> str:
    head = "".join(f'<th class="{"text" if i < text_columns else ""}">{_e(h)}</th>' for i, h in enumerate(header))
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="text">{_e(v)}</td>' if i < text_columns else f"<td>{_num(v)}</td>" for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{_e(alt)}">'


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _curves_plot(curves: dict[str, list[list[float]]]) -> str:
    plt = _pyplot()
    losses = {k: v for k, v in curves.items() if k.endswith("loss")}
    others = {k: v for k, v in curves.items() if not k.endswith("loss")}
    panels = [p for p in (losses, others) if p]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.6), squeeze=False)
    for ax, panel, title in zip(axes[0], panels, ("loss", "validation metrics"), strict=False):
        for key, points in sorted(panel.items()):
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o" if len(points) < 30 else None, label=key)
        ax.set_xlabel("step")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _png(fig)


def _reliability_plot(calibration: dict[str, Any]) -> str:
    plt = _pyplot()
    tables = [("before temperature scaling", calibration["reliability_before"], calibration["ece_before"])]
    if calibration.get("reliability_after"):
        title = f"after scaling (T = {calibration['temperature']:.3f})"
        tables.append((title, calibration["reliability_after"], calibration["ece_after"]))
    fig, axes = plt.subplots(1, len(tables), figsize=(4.4 * len(tables), 4.2), squeeze=False)
    for ax, (title, table, ece) in zip(axes[0], tables, strict=True):
        width = 1.0 / max(len(table), 1)
        centers = [(r["lower"] + r["upper"]) / 2 for r in table]
        ax.bar(centers, [r["accuracy"] for r in table], width=width, edgecolor="black", label="accuracy")
        ax.bar(
            centers,
            [r["confidence"] - r["accuracy"] if r["count"] else 0 for r in table],
            bottom=[r["accuracy"] for r in table],
            width=width,
            color="red",
            alpha=0.25,
            label="gap to confidence",
        )
        ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence")
        ax.set_ylabel("accuracy")
        ax.set_title(f"{title}\nECE {ece:.3f}", fontsize=10)
        ax.legend(loc="upper left", fontsize=8)
    return _png(fig)


def _confusion_plot(matrix: list[list[int]]) -> str:
    plt = _pyplot()
    n = len(matrix)
    size = min(2.5 + 0.45 * n, 10.0)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    im = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046)
    if n <= 20:
        top = max((max(row) for row in matrix), default=0)
        for i, row in enumerate(matrix):
            for j, v in enumerate(row):
                ax.text(j, i, str(v), ha="center", va="center", fontsize=8, color="white" if v > top / 2 else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_title("confusion matrix")
    return _png(fig)


def _robustness_plot(results: list[dict[str, Any]], clean: float) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    names = sorted({r["perturbation"] for r in results})
    for name in names:
        rows = sorted((r for r in results if r["perturbation"] == name), key=lambda r: r["severity"])
        ax.plot([0] + [r["severity"] for r in rows], [clean] + [r["accuracy"] for r in rows], marker="o", label=name)
    ax.set_xlabel("severity (0 = clean)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("accuracy under perturbation")
    return _png(fig)


def _section(title: str, body: str) -> str:
    anchor = title.lower().replace(" ", "-")
    return f'<section id="{_e(anchor)}"><h2>{_e(title)}</h2>{body}</section>'


def _summary(a: dict[str, Any]) -> str:
    s = a["summary"]
    acc = s["accuracy"]
    ckpt = a.get("checkpoint") or {}
    interval = (
        f"[{_num(acc['lower'])}, {_num(acc['upper'])}] ({_num(acc['confidence'], 2)} {_e(acc['method']).upper()}, "
        f"{_e(acc['resamples'])} resamples, seed {_e(s['seed'])})"
    )
    rows = [
        ("accuracy", f'<span class="big">{_num(acc["estimate"])}</span> {interval}'),
        ("macro F1", _num(s["macro_f1"])),
        ("cross-entropy", _num(s["loss"])),
        ("examples", _num(s["examples"])),
        ("classes", _num(s["num_classes"])),
        ("split", _e(a["split"])),
        (
            "checkpoint",
            f"{_e(ckpt.get('which'))}: {_e(ckpt.get('path'))} "
            f"(step {_e(ckpt.get('step'))}, epoch {_e(ckpt.get('epoch'))})",
        ),
        ("model", _e(a.get("model", ""))),
        ("run directory", _e(a["run_dir"])),
    ]
    body = "".join(f'<tr><th class="text">{_e(k)}</th><td class="text">{v}</td></tr>' for k, v in rows)
    return _section("Summary", f"<table>{body}</table>")


def _training(a: dict[str, Any]) -> str:
    curves = a.get("training_curves") or {}
    if not curves:
        return _section("Training curves", '<p class="muted">The run has no log.jsonl records to plot.</p>')
    last = [(k, int(v[-1][0]), v[-1][1]) for k, v in sorted(curves.items())]
    return _section(
        "Training curves",
        _img(_curves_plot(curves), "training curves") + _table(["series", "last step", "last value"], last),
    )


def _calibration(a: dict[str, Any]) -> str:
    c = a["calibration"]
    rows = [("ECE on this split", c["ece_before"], c["ece_after"])]
    if c.get("val_ece_before") is not None:
        rows.append(("ECE on the validation split", c["val_ece_before"], c["val_ece_after"]))
    body = (
        f"<p>Temperature: <b>{_num(c.get('temperature'))}</b>. {_e(c.get('note', ''))}. "
        f"{_e(c['n_bins'])} equal-width confidence bins.</p>"
        + _table(["", "before scaling", "after scaling"], rows)
        + _img(_reliability_plot(c), "reliability diagram")
    )
    return _section("Calibration", body)


def _classes(a: dict[str, Any]) -> str:
    cl = a["classes"]
    rows = [(r["class"], r["support"], r["precision"], r["recall"], r["f1"]) for r in cl["per_class"]]
    m = cl["macro"]
    rows.append(("macro average", "", m["precision"], m["recall"], m["f1"]))
    body = _table(["class", "support", "precision", "recall", "F1"], rows) + _img(
        _confusion_plot(cl["confusion_matrix"]), "confusion matrix"
    )
    return _section("Per-class metrics", body)


def _groups(a: dict[str, Any]) -> str:
    g = a.get("groups")
    if not g:
        return _section("Subgroups", '<p class="muted">No group labels given (forge report --groups FILE).</p>')
    rows = [
        (name, int(v["count"]), v["accuracy"], v["selection_rate"], v["tpr"], v["fpr"])
        for name, v in g["groups"].items()
    ]
    gaps = [(metric, v["gap"], v["max_group"], v["min_group"]) for metric, v in g["largest_gaps"].items()]
    body = (
        _table(["group", "count", "accuracy", "selection rate", "TPR", "FPR"], rows)
        + "<h3>Largest gaps</h3>"
        + _table(["metric", "gap", "highest group", "lowest group"], [(m, gap, hi, lo) for m, gap, hi, lo in gaps])
        + f"<p>Demographic parity difference: <b>{_num(g['demographic_parity_difference'])}</b>; "
        f"equalized odds difference: <b>{_num(g['equalized_odds_difference'])}</b> "
        '<span class="muted">(class 1 is the positive outcome)</span>.</p>'
    )
    return _section("Subgroups", body)


def _robustness(a: dict[str, Any]) -> str:
    r = a.get("robustness")
    if not r:
        return _section("Robustness", '<p class="muted">Not run (--no-robustness).</p>')
    if not r["results"]:
        return _section("Robustness", f'<p class="muted">{_e(r["note"])}</p>')
    rows = [(x["perturbation"], x["severity"], x["accuracy"], x["drop"]) for x in r["results"]]
    body = (
        f"<p>{_e(r['note'])}. Clean accuracy {_num(r['clean_accuracy'])}.</p>"
        + _table(["perturbation", "severity", "accuracy", "drop"], rows)
        + _img(_robustness_plot(r["results"], r["clean_accuracy"]), "robustness plot")
    )
    return _section("Robustness", body)


def _ood(a: dict[str, Any]) -> str:
    o = a.get("ood")
    if not o:
        return _section("Out-of-distribution detection", '<p class="muted">No OOD set given (--ood-run RUN_DIR).</p>')
    rows = [(name, value) for name, value in o["auroc"].items()]
    body = (
        f"<p>OOD set: {_e(o['source'])} ({_e(o['out_count'])} examples against {_e(o['in_count'])} in-distribution). "
        "AUROC of telling them apart by each score (0.5 = chance).</p>" + _table(["score", "AUROC"], rows)
    )
    return _section("Out-of-distribution detection", body)


def _regression(a: dict[str, Any]) -> str:
    r = a.get("regression")
    if not r:
        return _section("Regression set", '<p class="muted">Not checked.</p>')
    status = str(r.get("status", ""))
    css = "good" if status in ("created", "unchanged") else "bad"
    head = f'<p>Status: <span class="{css}">{_e(status)}</span> <span class="muted">{_e(r.get("path", ""))}</span></p>'
    if "changed_predictions" not in r:
        detail = _e(r.get("note", f"{r.get('examples', '')} examples kept; later reports compare against them."))
        return _section("Regression set", head + f"<p>{detail}</p>")
    m = r["mcnemar"]
    rows = [
        ("examples", r["examples"]),
        ("changed predictions", r["changed_predictions"]),
        ("changed inputs", r["inputs_changed"]),
        ("changed labels", r["labels_changed"]),
        ("accuracy (reference)", r["accuracy_reference"]),
        ("accuracy (now)", r["accuracy_now"]),
        ("difference", r["accuracy_difference"]),
        ("McNemar p-value", m["p_value"]),
    ]
    ref = r.get("reference") or {}
    note = (
        f"<p class='muted'>Reference: {_e(ref.get('which'))} {_e(ref.get('path'))}, "
        f"written {_e(r.get('reference_created'))}.</p>"
    )
    return _section("Regression set", head + _table(["", "value"], rows) + note)


def render_html(analysis: dict[str, Any]) -> str:
    """The report page for ``analysis`` as a string (see :func:`write_html_report`)."""
    title = f"forge report: {Path(str(analysis['run_dir'])).name} ({analysis['split']})"
    parts = [
        _summary(analysis),
        _training(analysis),
        _calibration(analysis),
        _classes(analysis),
        _groups(analysis),
        _robustness(analysis),
        _ood(analysis),
        _regression(analysis),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1><p class='muted'>Created {_e(analysis.get('created', ''))}</p>"
        + "".join(parts)
        + "</body></html>\n"
    )


def write_html_report(analysis: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write the self-contained HTML report of ``analysis`` to ``path`` (atomically); returns the path.

    Sections: summary (accuracy with its interval, the checkpoint), training curves, calibration
    (reliability diagrams and ECE before/after temperature scaling), per-class metrics with the
    confusion matrix, subgroups with the largest gaps, robustness, OOD detection and the
    regression set's status. Absent parts say why they are absent.

    Example:
        >>> write_html_report(analyse_run("runs/digits"), "runs/digits/report/report.html")  # doctest: +SKIP
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out, render_html(analysis))
    return out
