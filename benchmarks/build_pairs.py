"""Build times of newssearch and the SQLite baseline, alternated over several rounds.

One build of each is what ``run.py`` reports; on a shared machine two builds
of the same engine can differ by 20 %, so this repeats the pair and reports
every round and the median ratio. Each build runs in its own process, timed
as ``run.py`` times it::

    python benchmarks/build_pairs.py /tmp/c50k --rounds 4
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from measure import run_child

HERE = Path(__file__).resolve().parent


def build_seconds(engine: str, corpus: Path, target: Path) -> float:
    run = run_child([sys.executable, str(HERE / "phases.py"), engine, "build", str(corpus), str(target)])
    run.json()  # raises with the child's stderr if it failed
    return run.seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args(argv)
    ratios = []
    with tempfile.TemporaryDirectory() as work:
        for round_number in range(1, args.rounds + 1):
            seconds = {}
            for engine, target in (("newssearch", Path(work, "index")), ("sqlite", Path(work, "fts.db"))):
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
                seconds[engine] = build_seconds(engine, args.corpus, target)
            ratios.append(seconds["newssearch"] / seconds["sqlite"])
            print(f"round {round_number}: newssearch {seconds['newssearch']:.3f} s, "
                  f"SQLite {seconds['sqlite']:.3f} s, ratio {ratios[-1]:.2f}", flush=True)
    print(f"median ratio {statistics.median(ratios):.2f} over {args.rounds} rounds "
          f"(lowest {min(ratios):.2f}, highest {max(ratios):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
