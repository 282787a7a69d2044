"""figures/README.md: every figure with its fitted numbers, theory beside simulation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .figureset import recover, write_set
from .landscape import FIGURES as LANDSCAPE
from .registry import get, names


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return str(value)


def _as_given(figures: Path) -> Path:
    """The folder relative to the working directory when it lies below it (the page is committed
    beside the figures: it must not name this machine's absolute paths), else as given."""
    try:
        return figures.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return figures


def write_report(figures: Path) -> Path:
    """figures/README.md from the saved figures' JSON, the experiments' then ``sims.landscape``'s
    (interrupted figure sets completed first; an unreadable JSON is reported on stderr and its
    figure left out)."""
    recover(figures)
    profiles = set()
    for path in figures.glob("*.json"):
        try:
            profiles.add(json.loads(path.read_text()).get("made_with", {}).get("profile"))
        except (OSError, ValueError, AttributeError):
            pass
    profile = profiles.pop() if len(profiles) == 1 and None not in profiles else "quick"
    named = _as_given(figures)
    lines = ["# Figures", "", f"Regenerate these with `python -m sims all --profile {profile} --jobs 2 --figures "
             f"{named}`; this page with `python -m sims report --figures {named}`.", ""]
    described = [pair for e in map(get, names()) for pair in ((e.name, e.description), *e.more_figures)]
    described += list(LANDSCAPE.items())
    for name, description in described:
        fitted = figures / f"{name}.json"
        if not fitted.exists():
            continue
        try:
            numbers = json.loads(fitted.read_text())
        except (OSError, ValueError) as e:
            print(f"warning: {fitted}: unreadable ({e}); left out of the report", file=sys.stderr)
            continue
        lines += [f"## {name}", "", description, "", f"![{name}]({name}.png)", "",
                  f"Data: [`{name}.csv`]({name}.csv), fitted numbers: [`{name}.json`]({name}.json).", ""]
        lines += ["| quantity | value |", "| --- | --- |"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in numbers.items()]
        lines.append("")
    write_set(figures, "README", {"md": lambda p: p.write_text("\n".join(lines))})
    return figures / "README.md"
