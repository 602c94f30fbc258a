"""Measuring helpers: child processes with their peak memory, percentiles, sizes."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import threading
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
    tree_peak_rss_bytes: int = 0  # the process and its descendants together, sampled

    def json(self):
        """The child's last stdout line, parsed; raise with its stderr when it failed."""
        if self.returncode != 0:
            raise RuntimeError(f"{' '.join(self.argv)} exited {self.returncode}:\n{self.stderr[-4000:]}")
        return json.loads(self.stdout.strip().splitlines()[-1])


def run_child(argv: list[str], timeout: float | None = None) -> ChildRun:
    """Run argv to completion; return its output, wall time and the peak memory of its process tree."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    sampler = TreeMemory(proc.pid)
    sampler.start()
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        sampler.stop()
    run = ChildRun(argv, proc.returncode, stdout, stderr, time.perf_counter() - started)
    run.tree_peak_rss_bytes = sampler.peak
    return run


class TreeMemory(threading.Thread):
    """Samples the summed RSS of a process and all its descendants every 50 ms; keeps the peak.

    What "all processes together" costs a machine: the parse workers and
    writer processes of a build count along with the main process.
    """

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._halt.wait(self.interval):
            parents: dict[int, int] = {}
            rss: dict[int, int] = {}
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry)] = int(fields[1])
                rss[int(entry)] = int(fields[21]) * page
            tree, frontier = {self.pid}, [self.pid]
            while frontier:
                parent = frontier.pop()
                for child, ppid in parents.items():
                    if ppid == parent and child not in tree:
                        tree.add(child)
                        frontier.append(child)
            self.peak = max(self.peak, sum(rss.get(p, 0) for p in tree))


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


def lookup(d: dict, path: str):
    """The value at a dotted ``path`` of nested dicts (``query_ms.overall.p50``), or None."""
    for key in path.split("."):
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def fmt(value, unit: str) -> str:
    """A figure as the results tables print it: MB from bytes, three significant places."""
    if value is None:
        return "n/a"
    if unit == "MB":
        return f"{value / 1e6:.1f}"
    if isinstance(value, int):
        return str(value)
    if unit == "":
        return f"{value:.3f}"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"
