"""The README's example runs as written and says what it shows."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_example_runs(capsys):
    text = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    loss, plain = float(lines[0]), float(lines[1])
    modp = float(lines[2].split()[0])
    assert loss < 1e-8 and plain > 10 * modp > 0
    conv_loss, conv_error = map(float, lines[-1].split())
    assert conv_loss >= 0 and 0 <= conv_error <= 1


def test_no_file_points_outside_the_repository():
    pattern = re.compile(r"\.\./shared|/work/|/check/|shared/papers|DESIGN\.md")
    offenders = []
    for path in ROOT.rglob("*"):
        if path.is_file() and path.suffix in {".py", ".md", ".toml", ".txt", ".cfg"} and not any(
                part in {".git", "results", ".venv", "build"} or part.endswith(".egg-info") for part in path.parts):
            if pattern.search(path.read_text(errors="ignore")) and path.name != "test_docs.py":
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_docstring_examples_hold():
    import doctest
    import importlib
    import pkgutil

    import twolayer

    failed = []
    for info in pkgutil.walk_packages(twolayer.__path__, "twolayer."):
        if "._kernels" in info.name:
            continue
        result = doctest.testmod(importlib.import_module(info.name), optionflags=doctest.ELLIPSIS)
        if result.failed:
            failed.append(info.name)
    assert failed == []


def _min_s(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def test_first_run_times_quoted_are_the_benchmarks():
    """README.md and docs/running.md quote the range of ``benchmarks/bench_first_run.json``: the
    quick profile's and the tests' wall times from fresh clones, every run of one commit and
    successful."""
    import json

    rows = json.loads((ROOT / "benchmarks" / "bench_first_run.json").read_text())["rows"]
    assert rows and all(r["exit"] == 0 for r in rows) and len({r["commit"] for r in rows}) == 1
    quick = [r["wall_s"] for r in rows if r["command"] == "quick profile"]
    tests = [r["wall_s"] for r in rows if r["command"] == "tests"]
    assert len(quick) >= 2 and len(tests) >= 2
    quick_range = f"{_min_s(min(quick))} to {_min_s(max(quick))}"
    tests_range = f"{min(tests):.0f} s to {max(tests):.0f} s"
    for doc in ("README.md", "docs/running.md"):
        text = " ".join((ROOT / doc).read_text().split())
        assert quick_range in text, (doc, quick_range)
        assert tests_range in text, (doc, tests_range)


def test_paper_page_counts_the_committed_runs():
    """docs/paper_profile.md's count of the runs behind the committed paper figures is the sum of
    their JSONs' ``made_with.runs`` (figures drawn from one sweep, such as lr and lr_phase, once)."""
    import json

    sweeps = set()
    for path in (ROOT / "figures" / "paper").glob("*.json"):
        runs = json.loads(path.read_text()).get("made_with", {}).get("runs")
        if runs:
            sweeps.add((tuple(runs["code_version"]), runs["runs"], runs["run_seconds"], runs["sweep_wall_seconds"]))
    total = f"{sum(s[1] for s in sweeps):,}".replace(",", " ")
    text = " ".join((ROOT / "docs" / "paper_profile.md").read_text().split())
    assert f"The committed figures hold {total} runs" in text, total


def _h_min(seconds: float) -> str:
    hours, rest = divmod(round(seconds / 60), 60)
    return f"{hours} h {rest} min" if hours else f"{rest} min"


def test_paper_profile_time_quoted_is_the_benchmark():
    """The paper profile's measured wall time (``benchmarks/bench_paper_profile.json``: one run of
    ``python -m sims all --profile paper --jobs 2`` from a fresh clone, successful) and the host
    factors measured around it are the ones docs/running.md, docs/paper_profile.md and
    benchmarks/README.md quote."""
    import json

    rows = json.loads((ROOT / "benchmarks" / "bench_paper_profile.json").read_text())["rows"]
    run = rows[0]
    assert run["exit"] == 0 and run["command"].startswith("-m sims all --profile paper --jobs 2")
    assert {r["figure"] for r in rows[1:]} >= {"width", "lr", "regimes", "real_conv"}  # every sweep drew
    wall = _h_min(run["wall_s"])
    factors = f"{min(run['host_factor_before'], run['host_factor_after']):.1f}"
    for doc in ("docs/running.md", "docs/paper_profile.md", "benchmarks/README.md"):
        text = " ".join((ROOT / doc).read_text().split())
        assert wall in text, (doc, wall)
    text = " ".join((ROOT / "benchmarks" / "README.md").read_text().split())
    assert factors in text and _h_min(run["wall_s_scaled_by_host_factor"]) in text


def test_host_factor_quoted_is_the_benchmark():
    """README.md, docs/running.md and benchmarks/README.md quote ``benchmarks/bench_host.json``'s
    host factor (one GD step here over the same step on the benchmarks' host) and running.md its times."""
    import json

    row = json.loads((ROOT / "benchmarks" / "bench_host.json").read_text())["rows"][0]
    for doc in ("README.md", "docs/running.md", "benchmarks/README.md"):
        text = " ".join((ROOT / doc).read_text().split())
        assert f"{row['factor_median']:.1f} times" in text, doc
    text = " ".join((ROOT / "docs" / "running.md").read_text().split())
    assert f"{row['step_ms_median']:.3f} ms against {row['reference_ms']:.3f} ms" in text
