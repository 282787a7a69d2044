"""What this machine can hold: available memory and usable cores, for early, clear refusals
before a large allocation (sizes are checked against the memory available when asked)."""

from __future__ import annotations

import os


def _machine_memory() -> int:
    """MemAvailable of /proc/meminfo, else the free pages."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _address_space_left() -> int | None:
    """Bytes of address space left below this process's RLIMIT_AS, or None if it has none."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * resource.getpagesize()
    except (ImportError, OSError, ValueError):
        return None
    return max(0, soft - used)


def _cgroup_memory_left() -> int | None:
    """Bytes left below this process's cgroup (v2) memory.max, or None if it has none."""
    try:
        with open("/proc/self/cgroup") as f:
            path = next(line.split(":", 2)[2].strip() for line in f if line.startswith("0::"))
        folder = f"/sys/fs/cgroup{path}".rstrip("/")
        with open(f"{folder}/memory.max") as f:
            limit = f.read().strip()
        if limit == "max":
            return None
        with open(f"{folder}/memory.current") as f:
            return max(0, int(limit) - int(f.read().strip()))
    except (OSError, ValueError, StopIteration):
        return None


def _memory() -> tuple[int, str]:
    """(bytes available to new allocations, what bounds them): the machine's available memory,
    or less if this process's address-space limit (RLIMIT_AS) or its cgroup's memory.max leaves less."""
    best = (_machine_memory(), "available")
    for left, what in ((_address_space_left(), "left below this process's address-space limit (RLIMIT_AS)"),
                       (_cgroup_memory_left(), "left below its cgroup's memory.max")):
        if left is not None and left < best[0]:
            best = (left, what)
    return best


def available_memory() -> int:
    """Bytes of memory available to new allocations: the machine's (MemAvailable of
    /proc/meminfo, else free pages), or less where this process's RLIMIT_AS or cgroup memory.max
    leaves less."""
    return _memory()[0]


def memory_note() -> str:
    """What bounds this process's memory, in words: '3.2 GB available' or '95.0 MB left below ...'."""
    avail, what = _memory()
    return f"{human_bytes(avail)} {what}"


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
    avail, bound = _memory()
    if nbytes > avail:
        raise ValueError(f"{what} needs {human_bytes(nbytes)} of memory; {human_bytes(avail)} is {bound}")
