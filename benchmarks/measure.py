"""Measuring helpers: child processes with their peak memory, percentiles, sizes."""

from __future__ import annotations

import json
import resource
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ChildRun:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float  # wall time, process start to exit

    def json(self):
        """The child's last stdout line, parsed; raise with its stderr when it failed."""
        if self.returncode != 0:
            raise RuntimeError(f"{' '.join(self.argv)} exited {self.returncode}:\n{self.stderr[-4000:]}")
        return json.loads(self.stdout.strip().splitlines()[-1])


def run_child(argv: list[str], timeout: float | None = None) -> ChildRun:
    """Run argv to completion; return its output and wall time."""
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return ChildRun(argv, proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started)


def peak_rss_bytes() -> int:
    """Peak RSS of this process, or of its largest reaped child if that is bigger.

    Measured from inside the process on purpose: a child's ``ru_maxrss`` seen
    by its parent (``wait4``) starts from the *parent's* high-water mark,
    which Linux carries across ``fork`` and ``exec``, so a large orchestrator
    would inflate every figure.  ``VmHWM`` belongs to the process's own
    address space, which ``exec`` starts afresh.  Worker processes (pools)
    count through ``RUSAGE_CHILDREN`` once reaped: this is the largest single
    process of the phase, not the sum of its workers.
    """
    own = 0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                own = int(line.split()[1]) * 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    return max(own, children)


def percentile(values: list[float], p: float) -> float | None:
    """Linear-interpolated percentile (p in 0..100) of a non-empty list."""
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def disk_bytes(path: Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def ratio(a, b) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b
