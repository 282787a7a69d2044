"""The paper profile end to end, as its page says to run it, from a fresh clone.

    python benchmarks/bench_paper_profile.py [--keep DIR]

Clones HEAD (into DIR, kept, or a temporary folder) and times
``python -m sims all --profile paper --jobs 2`` there (numba's first compilation included; results
in the clone's ``results/``): wall seconds, CPU seconds of its processes, exit status, the 1-minute
load average before it. The host factor (``bench_host.py``: one GD step here against the engine
benchmarks' machine) is measured before and after; the wall time divided by their mean is an
estimate for that machine, not a measurement (PyTorch's and BLAS's parts need not scale alike). Each
sweep's wall and summed run seconds come from its figure's ``made_with``. Writes
benchmarks/bench_paper_profile.json. Hours on a slow machine: commit first (the clone is of HEAD).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import report
from bench_host import measure

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "sims", "all", "--profile", "paper", "--jobs", "2", "--quiet"]


def sweeps(figures: Path) -> list[dict]:
    """Per figure: its sweep's wall seconds, its runs and their summed seconds (``made_with.runs``)."""
    rows = []
    for path in sorted(figures.glob("*.json")):
        made = json.loads(path.read_text()).get("made_with", {}).get("runs")
        if made:
            rows.append({"figure": path.stem, "runs": made["runs"], "run_seconds": made["run_seconds"],
                         "sweep_wall_seconds": made["sweep_wall_seconds"]})
    return rows


def timed(clone: Path, commit: str) -> dict:
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {**os.environ, "PYTHONPATH": str(clone)}
    host_before = measure(3)
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(clone / "paper_profile.log", "w") as log:
        proc = subprocess.run(COMMAND, cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    host_after = measure(3)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    factor = 0.5 * (host_before["factor_median"] + host_after["factor_median"])
    return {"command": " ".join(COMMAND[1:]), "commit": commit, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "exit": proc.returncode, "load_before": round(load, 2), "processor": host_before["model"],
            "llvm_cpu": host_before["llvm_cpu"], "avx512f": host_before["avx512f"],
            "host_factor_before": round(host_before["factor_median"], 3),
            "host_factor_after": round(host_after["factor_median"], 3),
            "wall_s_scaled_by_host_factor": round(wall / factor, 1),
            "sweeps": sweeps(clone / "results" / "figures")}


def main(keep: Path | None) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    if keep is not None:
        if keep.exists():
            raise SystemExit(f"--keep: {keep} exists; give a new folder")
        row = timed(keep, commit)
    else:
        with tempfile.TemporaryDirectory(prefix="paper-profile-") as tmp:
            row = timed(Path(tmp) / "twolayer", commit)
    sweep_rows = row.pop("sweeps")
    print(json.dumps(row), flush=True)
    report("bench_paper_profile", [row, *sweep_rows])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="clone into this new folder and keep it (results, log)")
    main(parser.parse_args().keep)
