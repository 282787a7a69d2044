"""Command line: python -m sims list | run NAME | all | report.

    python -m sims run width --profile quick --jobs 2 --out results --seed 0 --set d=30
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from twolayer._resources import usable_cores
from twolayer.data import DATA_ENV

from .common import PROFILES, apply_overrides
from .registry import NAMES, get
from .report import write_report
from .runner import EXECUTORS, summary_table, sweep
from .store import Store


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sims", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="each experiment and what it shows")
    for name in ("run", "all"):
        q = sub.add_parser(name, help="run one experiment" if name == "run" else "run every experiment")
        if name == "run":
            q.add_argument("name", help=f"one of: {', '.join(NAMES)}")
        q.add_argument("--profile", default="quick", help="quick (minutes) or paper (full ranges)")
        q.add_argument("--jobs", type=int, default=1, help="local worker processes")
        q.add_argument("--out", default="results", help="result store directory")
        q.add_argument("--figures", default="figures", help="where figures and their data go")
        q.add_argument("--seed", type=int, default=0, help="root seed of the sweep")
        q.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config field for every run")
        q.add_argument("--executor", default="local", help="local or dask")
        q.add_argument("--scheduler", default=None, help="dask scheduler address")
        q.add_argument("--data", default=None,
                       help="MNIST directory for the real-data experiments (default: $TWOLAYER_DATA, "
                            "else scikit-learn's digits)")
        q.add_argument("--quiet", action="store_true", help="no progress bars")
    r = sub.add_parser("report", help="write figures/README.md from the saved figures")
    r.add_argument("--figures", default="figures")
    return p


def _overrides(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--set expects KEY=VALUE; got {pair!r}")
        key, value = (part.strip() for part in pair.split("=", 1))
        if key in out:
            raise ValueError(f"--set {key} given twice ({out[key]!r} and {value!r}); give each key once")
        out[key] = value
    return out


def _run(names, args) -> int:
    if args.profile not in PROFILES:
        raise ValueError(f"--profile must be one of {', '.join(PROFILES)}; got {args.profile!r}")
    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1; got {args.jobs}")
    cores = usable_cores()
    if args.jobs > cores:
        print(f"warning: --jobs {args.jobs} exceeds the {cores} usable cores; running {cores} jobs", file=sys.stderr)
        args.jobs = cores
    if args.executor not in EXECUTORS:
        raise ValueError(f"--executor must be one of {', '.join(EXECUTORS)}; got {args.executor!r}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0; got {args.seed}")
    experiments = [get(n) for n in names]
    overrides = _overrides(args.set)
    data = args.data or os.environ.get(DATA_ENV, "")
    if data and not Path(data).is_dir():
        raise ValueError(f"--data {data}: not a directory (give the folder with the MNIST IDX files)")
    plans = []
    for e in experiments:
        configs = e.configs(args.profile)
        extra = {"data": data} if data and configs and hasattr(configs[0], "data") else {}
        plans.append((e, apply_overrides(configs, {**extra, **overrides})))
    store = Store(args.out)
    summaries = []
    t0 = time.time()
    try:
        for exp, configs in plans:
            summary, results = sweep(exp, configs, store, args.seed, args.jobs, args.executor,
                                     args.scheduler, progress=not args.quiet)
            summaries.append(summary)
            if results:
                exp.summarize(results, Path(args.figures))
    finally:
        store.close()
    write_report(Path(args.figures))
    print(summary_table(summaries))
    print(f"total {time.time() - t0:.1f}s; figures in {args.figures}/, results in {args.out}/")
    return 1 if any(s.failed for s in summaries) else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            for name in NAMES:
                print(f"{name:<12} {get(name).description}")
            return 0
        if args.command == "report":
            print(write_report(Path(args.figures)))
            return 0
        return _run([args.name] if args.command == "run" else list(NAMES), args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished runs are kept in the store; rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
