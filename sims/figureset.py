"""Write a figure's files (PNG, PDF, CSV, JSON) as one unit: all of the new set or all of the old.

Each file is first written in full to a temporary name (``.NAME.PID.SUFFIX.tmp``) and synced;
then a journal ``.NAME.PID.pending.json`` listing the renames is written atomically; then the
renames are made and the journal removed. A process killed before the journal exists leaves the
old set untouched (its temporary files are removed later); one killed during the renames leaves
a journal that ``recover`` (run before every save and every report) completes, so the new set
appears whole. Temporary files and journals of live processes are left alone. A write that fails
(a full disk) removes the new set's temporary files and leaves the old set as it was.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from .files import disk_error, is_disk_error


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pid_of(path: Path) -> int | None:
    parts = path.name.split(".")  # "", NAME, PID, SUFFIX, "tmp" / "pending", "json"
    return int(parts[2]) if len(parts) >= 5 and parts[2].isdigit() else None


def _write_synced(path: Path, write: Callable[[Path], None]) -> None:
    write(path)
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _apply(directory: Path, journal: Path) -> None:
    for final, staged in json.loads(journal.read_text()).items():
        if (directory / staged).exists():
            os.replace(directory / staged, directory / final)
    journal.unlink()


def recover(directory: Path) -> None:
    """Complete the figure sets of dead processes that were interrupted during their renames,
    and remove the temporary files of dead processes that never staged theirs."""
    for journal in directory.glob(".*.pending.json"):
        pid = _pid_of(journal)
        if pid is not None and not _alive(pid):
            try:
                _apply(directory, journal)
            except (OSError, ValueError):  # an unreadable journal: its renames cannot be trusted
                journal.unlink(missing_ok=True)
    for tmp in directory.glob(".*.tmp"):
        pid = _pid_of(tmp)
        if pid is not None and not _alive(pid):
            tmp.unlink(missing_ok=True)


def write_set(directory: Path, name: str, writers: dict[str, Callable[[Path], None]]) -> None:
    """Write NAME.SUFFIX for every ``writers[SUFFIX]`` (a function writing one file) as one unit."""
    directory.mkdir(parents=True, exist_ok=True)
    recover(directory)
    pid = os.getpid()
    staged = {}
    journal = directory / f".{name}.{pid}.pending.json"
    journal_tmp = directory / f".{name}.{pid}.journal.tmp"
    target = directory
    try:
        for suffix, write in writers.items():
            target = directory / f"{name}.{suffix}"
            tmp = directory / f".{name}.{pid}.{suffix}.tmp"
            staged[target.name] = tmp.name
            _write_synced(tmp, write)
        target = journal
        _write_synced(journal_tmp, lambda p: p.write_text(json.dumps(staged)))
    except BaseException as e:  # nothing staged yet: the old set stays, the new set's parts go
        for tmp in (*staged.values(), journal_tmp.name):
            (directory / tmp).unlink(missing_ok=True)
        if is_disk_error(e):
            raise disk_error(e, target) from None
        raise
    os.replace(journal_tmp, journal)
    _apply(directory, journal)
