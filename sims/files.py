"""Writing files whole or not at all, and the one error a full or read-only disk becomes.

``atomic_write`` writes to a temporary file beside the target, syncs it and renames it over the
target; on any failure the temporary file is removed, so a reader sees the old file or the new
one, never part of one. A write that fails because the file system is full, over quota or
read-only raises ``WriteFailed``: the sweep stops with one line naming the file, the space the
write needed and the space free (the command line exits ``EXIT_WRITE_FAILED``).
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

from twolayer._resources import human_bytes

#: the errors of a file system that cannot take a write (full, over quota, read-only, file too large)
DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}
#: the command line's exit status when a write failed so (sysexits' EX_IOERR)
EXIT_WRITE_FAILED = 74


class WriteFailed(Exception):
    """A write refused by the file system (``DISK_ERRNOS``): one line for the user."""

    def __init__(self, path: os.PathLike | str, reason: str, needed: int | None = None):
        self.path, self.reason, self.needed = Path(path), reason, needed
        free = free_bytes(self.path)
        free_text = "unknown" if free is None else human_bytes(free)
        need = (f"needs more than the {free_text} free" if needed is None
                else f"needs {human_bytes(needed)}, {free_text} free")
        super().__init__(f"cannot write {self.path}: {reason} ({need}); finished runs are kept: free space "
                         f"(or make it writable) and rerun to resume")


def free_bytes(path: Path) -> int | None:
    """Bytes free to this user on the file system of ``path`` (its nearest existing ancestor)."""
    for folder in (path, *path.parents):
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return None


def is_disk_error(e: BaseException) -> bool:
    return isinstance(e, OSError) and e.errno in DISK_ERRNOS


def disk_error(e: OSError, path: os.PathLike | str, needed: int | None = None) -> WriteFailed:
    """The ``WriteFailed`` for a write of ``needed`` bytes to ``path`` that failed with ``e``."""
    return WriteFailed(path, (e.strerror or os.strerror(e.errno)).lower(), needed)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole (temporary file, fsync, rename) or not at all."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if is_disk_error(e):
            raise disk_error(e, path, len(data)) from None
        raise
