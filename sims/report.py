"""figures/README.md: every figure with its fitted numbers, theory beside simulation."""

from __future__ import annotations

import json
from pathlib import Path

from .registry import NAMES, get


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return str(value)


def write_report(figures: Path) -> Path:
    lines = ["# Figures", "", "Regenerate with `python -m sims all --profile quick` "
             "(or `--profile paper`); this page with `python -m sims report`.", ""]
    for name in NAMES:
        fitted = figures / f"{name}.json"
        if not fitted.exists():
            continue
        exp = get(name)
        lines += [f"## {name}", "", exp.description, "", f"![{name}]({name}.png)", "",
                  f"Data: [`{name}.csv`]({name}.csv), fitted numbers: [`{name}.json`]({name}.json).", ""]
        numbers = json.loads(fitted.read_text())
        lines += ["| quantity | value |", "| --- | --- |"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in numbers.items()]
        lines.append("")
    out = figures / "README.md"
    out.write_text("\n".join(lines))
    return out
