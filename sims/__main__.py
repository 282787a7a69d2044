"""Command line: python -m sims list | run NAME | all | report.

    python -m sims run width --profile quick --jobs 2 --out results --seed 0 --set d=30
"""

from __future__ import annotations

import os

# Before numba, OpenMP or BLAS load (here and in the workers, which inherit it): threads waiting
# for work sleep instead of spinning, which beside other busy processes made runs 20 to 90 times
# slower (benchmarks/bench_busy.py). A value set in the environment is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import queue  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from importlib.metadata import version as package_version  # noqa: E402
from pathlib import Path  # noqa: E402

from twolayer._resources import usable_cores  # noqa: E402
from twolayer.data import DATA_ENV, load_dataset  # noqa: E402
from twolayer.validation import check_enum  # noqa: E402

from .common import FigureDir, RunContext, apply_overrides, config_help  # noqa: E402
from .files import EXIT_WRITE_FAILED, WriteFailed, disk_error, is_disk_error  # noqa: E402
from .profile import Profile  # noqa: E402
from .registry import get, names  # noqa: E402
from .report import write_report  # noqa: E402
from .runner import Executor, Workers, code_version, summary_table, sweeps  # noqa: E402
from .store import Store  # noqa: E402
from .table import from_results  # noqa: E402


class _ExperimentHelp(argparse.Action):
    """--help for ``run NAME``: the usual help, then NAME's --set keys with their types and defaults."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        parser.print_help()
        name = getattr(namespace, "name", None)
        if name in names():
            try:
                profile = Profile.of(getattr(namespace, "profile", Profile.QUICK))
            except ValueError:  # the run itself names a bad --profile
                profile = Profile.QUICK
            print(f"\n--set keys of {name}: type, and the value in the {profile.value} profile (or its range there):")
            print(config_help(get(name).configs(profile)))
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = argparse.ArgumentParser(prog="python -m sims", description=__doc__.splitlines()[0], formatter_class=fmt)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="each experiment and what it shows", formatter_class=fmt)
    for name in ("run", "all"):
        q = sub.add_parser(name, help="run one experiment" if name == "run" else "run every experiment",
                           formatter_class=fmt, add_help=False)
        q.add_argument("-h", "--help", action=_ExperimentHelp,
                       help="show this help (run NAME --help: also NAME's --set keys)")
        if name == "run":
            q.add_argument("name", help=f"one of: {', '.join(names())}")
        q.add_argument("--profile", default="quick",
                       help=f"one of {', '.join(p.value for p in Profile)}: minutes, the paper's claims in an hour, "
                            "or every range")
        q.add_argument("--jobs", type=int, default=1, help="local worker processes (at most the usable cores)")
        q.add_argument("--out", default="results", help="result store directory")
        q.add_argument("--figures", default=None,
                       help="where figures and their data go (default: OUT/figures; the repository's figures/ "
                            "only when given here)")
        q.add_argument("--seed", type=int, default=None,
                       help="root seed of the sweep, 0 <= seed < 2**63 (default: the profile's own: "
                            + ", ".join(f"{p.value} {p.seed}" for p in Profile) + ")")
        q.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config field for every run (each key once; see run NAME --help)")
        q.add_argument("--executor", default="local", help=f"one of {', '.join(e.value for e in Executor)}")
        q.add_argument("--scheduler", default=None, help="dask scheduler address (with --executor dask)")
        q.add_argument("--data", default=None,
                       help=f"real data set: 'mnist1d' (generated offline), 'digits', or a folder of MNIST IDX "
                            f"files or CIFAR-10 binary batches (default: ${DATA_ENV}, else mnist1d)")
        q.add_argument("--quiet", action="store_true", help="no progress bars")
    r = sub.add_parser("report", help="write FIGURES/README.md from the saved figures", formatter_class=fmt)
    r.add_argument("--figures", default="figures", help="the folder of saved figures")
    return p


def _check_dir(option: str, text: str | os.PathLike) -> Path:
    """The directory ``text``, checked without creating anything: an existing writable directory,
    or a path whose nearest existing ancestor is one; ValueError naming ``option``."""
    if not str(text):
        raise ValueError(f"{option} must name a directory; got an empty string")
    path = Path(text)
    try:
        if path.exists() and not path.is_dir():
            raise ValueError(f"{option} {text}: exists and is not a directory")
        folder = next(p for p in (path, *path.absolute().parents) if p.exists())
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise ValueError(f"{option} {text}: not a writable directory ({folder} is not writable)")
    except OSError as e:
        raise ValueError(f"{option} {text}: not a writable directory ({e.strerror or e})") from None
    return path


def _make_dir(option: str, path: Path) -> Path:
    """Create the checked directory ``path`` and try a file in it; ValueError naming ``option``."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise ValueError(f"{option} {path}: not a writable directory ({e.strerror or e})") from None
    return path


def _data_source(args, profile: Profile, experiments) -> tuple[str, str]:
    """(data set, where it came from) if an experiment reads data, else ("", ""); "" as the data
    set: the configs' default."""
    if not any(hasattr(cfg, "data") for e in experiments for cfg in e.configs(profile)[:1]):
        return "", ""
    if args.data is not None:
        return args.data, f"--data {args.data}"
    env = os.environ.get(DATA_ENV, "")
    return env, f"{DATA_ENV}={env}" if env else "the default data set"


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
    profile = Profile.of(args.profile, "--profile")
    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1; got {args.jobs}")
    cores = usable_cores()
    if args.jobs > cores:
        print(f"warning: --jobs {args.jobs} exceeds the {cores} usable cores; running {cores} jobs", file=sys.stderr)
        args.jobs = cores
    args.executor = check_enum("--executor", args.executor, Executor)
    if args.seed is None:
        args.seed = profile.seed
    if not 0 <= args.seed < 2**63:
        raise ValueError(f"--seed must be >= 0 and < 2**63; got {args.seed}")
    experiments = [get(n) for n in names]
    overrides = _overrides(args.set)
    data, source = _data_source(args, profile, experiments)
    plans = []
    for e in experiments:
        configs = e.configs(profile)
        extra = {"data": data} if data and configs and hasattr(configs[0], "data") else {}
        try:
            plans.append((e, apply_overrides(configs, {**extra, **overrides})))
        except ValueError as err:
            raise ValueError(f"experiment {e.name}: {err}") from None
    out = _check_dir("--out", args.out)
    figures = _check_dir("--figures", out / "figures" if args.figures is None else args.figures)
    if source:  # an experiment reads data: load it once now (errors before any run; named once)
        try:
            load_dataset(data or None, verbose=True)
        except ValueError as e:
            raise ValueError(f"{source}: {e}" if data else str(e)) from None
        except MemoryError:
            raise ValueError(f"{source}: loading it needs more memory than this process may use "
                             f"(MemoryError)") from None
    _make_dir("--out", out)
    _make_dir("--figures", figures)
    store = Store(out)
    context = RunContext(profile, args.seed, overrides, f"twolayer {package_version('twolayer')}", code_version())
    t0 = time.time()
    # one set of worker processes for every sweep; several experiments: compile numba's kernels first,
    # one group per worker (a fresh checkout compiles each kernel once instead of once per worker)
    workers = Workers(args.jobs, warm=len(plans) > 1) if args.executor is Executor.LOCAL and args.jobs > 1 else None
    drawer = FigureDrawer(out)

    def draw(exp, summary, results) -> None:
        if results:
            made_with = dataclasses.replace(context, runs=store.provenance(exp.name, summary.keys))
            drawer.draw(exp, from_results(results), FigureDir(figures, made_with), summary)

    try:
        outcomes = sweeps(plans, store, args.seed, args.jobs, args.executor, args.scheduler, progress=not args.quiet,
                          overrides=overrides, workers=workers, on_done=draw)
        drawer.finish()
    finally:
        drawer.stop()
        if workers is not None:
            workers.close(cancel=sys.exc_info()[0] is not None)
        store.close()
    summaries = [summary for summary, _ in outcomes]
    write_report(figures)
    print(summary_table(summaries))
    print(f"total {time.time() - t0:.1f}s; figures in {figures}/, results in {out}/")
    return 1 if any(s.failed for s in summaries) else 0


class FigureDrawer:
    """Draws each experiment's figures in a thread of this process while the workers compute the
    next sweep's runs (the drawing used to leave them idle), one figure set at a time, in the order
    given, with a store of its own on ``out`` (an sqlite connection serves one thread). The first
    error a drawing raised is raised again by the next ``draw`` or by ``finish``."""

    def __init__(self, out: Path):
        self.out = out
        self.tasks: queue.Queue = queue.Queue()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._work, name="figures", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        store = None
        try:
            while (task := self.tasks.get()) is not None:
                if self.errors:
                    continue
                exp, table, folder, summary = task
                try:
                    store = store or Store(self.out)
                    started = time.time()
                    exp.summarize(table, folder, store)
                    summary.figure_seconds = time.time() - started
                except BaseException as e:  # handed to the main thread
                    self.errors.append(e)
        finally:
            if store is not None:
                store.close()

    def _raise(self) -> None:
        if self.errors:
            raise self.errors[0]

    def draw(self, exp, table, folder: FigureDir, summary) -> None:
        """Queue ``exp.summarize(table, folder, store)``, timed into ``summary.figure_seconds``."""
        self._raise()
        self.tasks.put((exp, table, folder, summary))

    def finish(self) -> None:
        """Wait for every queued drawing; raise the first error."""
        self.tasks.put(None)
        self.thread.join()
        self._raise()

    def stop(self) -> None:
        """Drop the drawings not begun (the one under way ends by itself; the thread is a daemon)."""
        while True:
            try:
                self.tasks.get_nowait()
            except queue.Empty:
                break
        self.tasks.put(None)


class Terminated(BaseException):
    """SIGTERM or SIGHUP, raised in the main thread like KeyboardInterrupt for SIGINT."""

    def __init__(self, why: str, code: int):
        super().__init__(why)
        self.why, self.code = why, code


#: the parent process, once it went away (see _watch_parent)
_PARENT_GONE: list[int] = []


def _on_signal(signum, frame):
    if _PARENT_GONE:
        raise Terminated(f"its parent process {_PARENT_GONE[0]} exited", 143)
    raise Terminated(signal.Signals(signum).name, 128 + signum)


def _watch_parent() -> None:
    """Stop the sweep (as SIGTERM does) when the process that started it exits: a wrapper that is
    terminated must not leave its sweep running. Not when started detached: by nohup (SIGHUP
    ignored), as a session leader (setsid), or by init."""
    parent = os.getppid()
    if parent == 1 or signal.getsignal(signal.SIGHUP) is signal.SIG_IGN or os.getsid(0) == os.getpid():
        return

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        _PARENT_GONE.append(parent)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    hangup_ignored = signal.getsignal(signal.SIGHUP) is signal.SIG_IGN  # nohup: keep running after a hang-up
    for sig in (signal.SIGTERM,) + (() if hangup_ignored else (signal.SIGHUP,)):
        signal.signal(sig, _on_signal)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the launching shell ignored SIGINT
    if __name__ == "__main__" and args.command in ("run", "all"):
        _watch_parent()
    # An interrupted sweep kills its workers; multiprocessing's resource tracker (started with
    # these warning options) then cleans up their queue's semaphore itself and would warn about it.
    sys.warnoptions.append("ignore::UserWarning:multiprocessing.resource_tracker")
    try:
        if args.command == "list":
            for name in names():
                print(f"{name:<12} {get(name).description}")
            return 0
        if args.command == "report":
            if not Path(args.figures).is_dir():
                raise ValueError(f"--figures {args.figures}: not a directory (give the folder of saved figures)")
            print(write_report(Path(args.figures)))
            return 0
        return _run([args.name] if args.command == "run" else list(names()), args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except WriteFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_WRITE_FAILED
    except BrokenPipeError:  # the reader went away (python -m sims list | head -1): nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:
        if not is_disk_error(e):
            raise
        print(f"error: {disk_error(e, e.filename or '?')}", file=sys.stderr)
        return EXIT_WRITE_FAILED
    except (KeyboardInterrupt, Terminated) as e:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a second signal must not break the exit
            signal.signal(sig, signal.SIG_IGN)
        what = f"terminated ({e.why})" if isinstance(e, Terminated) else "interrupted (SIGINT)"
        print(f"{what}: workers stopped; finished runs are kept in the store; rerun to resume", file=sys.stderr)
        return e.code if isinstance(e, Terminated) else 130


if __name__ == "__main__":
    sys.exit(main())
