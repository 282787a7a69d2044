"""What a new user waits for: the README's two commands, each from a fresh clone.

    python benchmarks/bench_first_run.py [repeats]

For each repeat (default 2), alternately so that both see the same spells of the shared machine:

* ``python -m sims all --profile quick --jobs 2`` in a fresh ``git clone`` of this checkout's
  commit (numba's cache empty: its first compilation included; results in the clone's
  ``results/``), the clone's code first on ``PYTHONPATH``;
* ``python -m pytest -q -n 2`` (the default selection) in another fresh clone: the test step of
  the README's second command (its pip install and ruff steps are not timed).

Each command's wall time (``time.perf_counter``), the CPU seconds of its processes
(``resource.getrusage(RUSAGE_CHILDREN)``, user + system), its exit status and the 1-minute load
average before it starts (``os.getloadavg``: the machine may be shared). Commit the checkout
first: the clone is of ``HEAD``. Writes benchmarks/bench_first_run.json; README.md and
docs/running.md quote its range, which ``tests/test_docs.py`` holds them to.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import report

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "quick profile": [sys.executable, "-m", "sims", "all", "--profile", "quick", "--jobs", "2"],
    "tests": [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider"],
}


def timed(name: str, repeat: int, commit: str) -> dict:
    """Run COMMANDS[name] in a fresh clone of HEAD; its wall and CPU seconds."""
    with tempfile.TemporaryDirectory(prefix="first-run-") as tmp:
        clone = Path(tmp) / "twolayer"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        env = {**os.environ, "PYTHONPATH": str(clone)}
        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(COMMANDS[name], cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        print(proc.stdout[-3000:], file=sys.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"command": name, "repeat": repeat, "commit": commit, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "exit": proc.returncode, "load_before": round(load, 2)}


def main(repeats: int) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    rows = []
    for r in range(repeats):
        for name in COMMANDS:
            rows.append(timed(name, r, commit))
            print(rows[-1], flush=True)
    report("bench_first_run", rows)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
