"""What this machine can hold: available memory and usable cores, for early, clear refusals
before a large allocation (sizes are checked against the memory available when asked)."""

from __future__ import annotations

import os


def available_memory() -> int:
    """Bytes of memory available to new allocations (MemAvailable of /proc/meminfo, else free pages)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def human_bytes(n: float) -> str:
    """``n`` bytes in the largest binary unit (KB = 1024 B, ...) that keeps it at 1 or more."""
    units = ("B", "KB", "MB", "GB", "TB", "PB")
    step = 0
    while n >= 1024 and step < len(units) - 1:
        n /= 1024
        step += 1
    return f"{int(n)} B" if step == 0 else f"{n:.1f} {units[step]}"


def check_memory(what: str, nbytes: int) -> None:
    """Raise ValueError (naming ``what``, the need and what is available) if ``nbytes`` cannot fit."""
    avail = available_memory()
    if nbytes > avail:
        raise ValueError(f"{what} needs {human_bytes(nbytes)} of memory; {human_bytes(avail)} is available")
