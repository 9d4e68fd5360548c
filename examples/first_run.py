"""CPU time of the first and second run of README's main job from a fresh install.

For each source tree (a checkout of this repository; several trees are interleaved, so
"before" and "after" share the machine's load): a fresh virtual environment
(``--system-site-packages``: numpy, numba, scipy come from the running Python), a
non-editable ``pip install --no-deps`` of the tree, a fresh ``HOME`` (so neither numba's
user cache nor gausslj's table cache in ``~/.cache`` exists) and a fresh
``GAUSSLJ_CACHE_DIR``; then the main job twice::

    gausslj optimize 38 --quenches 3000 --target-energy -173.928427 --seed 0

The first run compiles the numba functions it uses (and would build the table if it used
one); the second loads them from numba's disk cache. CPU time is user + system of the
child process (``resource.getrusage``), one thread. ``--read-only`` makes the installed
package's directories immutable (``chattr +i``; Linux, root) so numba must fall back to its
per-user cache, as with a read-only site-packages.

``--per-quench`` measures instead the search itself once compiled (that the first run got
cheaper must not make a quench slower): for each tree a process with ``PYTHONPATH=<tree>``
runs the main job's ``global_minimize`` once to compile or load its code, then three times
timed (CPU time per quench); trees interleaved, ``--repeats`` processes each.

Usage::

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python examples/first_run.py \\
        --tree /path/to/old/checkout --tree . --repeats 3 --out results/firstrun/first_run.json
    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python examples/first_run.py --per-quench \\
        --tree /path/to/old/checkout --tree . --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAIN_JOB = ["optimize", "38", "--quenches", "3000", "--target-energy", "-173.928427",
            "--seed", "0"]


def _cpu_of(cmd: list[str], env: dict) -> tuple[float, str]:
    """User + system CPU seconds of ``cmd`` (a child process) and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True,
                         cwd=tempfile.gettempdir())
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, out.stdout + out.stderr


def _package_dirs(python: Path, env: dict) -> list[str]:
    code = "import ase_gausslj, os; print(os.path.dirname(ase_gausslj.__file__))"
    pkg = subprocess.run([str(python), "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=tempfile.gettempdir()).stdout.strip()
    return [d for d, _, _ in os.walk(pkg)]


def measure(tree: Path, read_only: bool) -> dict:
    """One fresh install of ``tree`` and two runs of the main job."""
    with tempfile.TemporaryDirectory(prefix="gausslj-first-run-") as tmp:
        tmp = Path(tmp)
        venv = tmp / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                       check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", str(tree)],
                       check=True, capture_output=True)
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR", "GAUSSLJ_CACHE_DIR")}
        env.update(HOME=str(tmp / "home"), GAUSSLJ_CACHE_DIR=str(tmp / "gausslj-cache"),
                   OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
        (tmp / "home").mkdir()
        dirs = _package_dirs(venv / "bin" / "python", env) if read_only else []
        if dirs:
            subprocess.run(["chattr", "+i", *dirs], check=True)
        try:
            runs = []
            for _ in range(2):
                cpu, out = _cpu_of([str(venv / "bin" / "gausslj"), *MAIN_JOB], env)
                m = re.search(r"after (\d+) quenches", out)
                runs.append({"cpu_s": round(cpu, 3), "quenches": int(m.group(1)) if m else None})
        finally:
            if dirs:
                subprocess.run(["chattr", "-i", *dirs], check=True)
        user_cache = sum(1 for _ in (tmp / "home").rglob("*.nbi"))
    return {"first": runs[0], "second": runs[1], "numba_index_files_in_home": user_cache}


_PER_QUENCH = """
import json, time
from ase_gausslj.optimize.globalopt import global_minimize
kw = dict(seed=0, max_minimizations=3000, target_energy=-173.928427)
global_minimize(38, **kw)  # compile, or load numba's cache
us = []
for _ in range(3):
    t = time.process_time()
    r = global_minimize(38, **kw)
    us.append(1e6 * (time.process_time() - t) / r.n_minimizations)
print(json.dumps({"us_per_quench": us, "quenches": r.n_minimizations, "energy": r.energy}))
"""


def per_quench(tree: Path) -> dict:
    """CPU microseconds per quench of the main job's search in one process (compiled code
    loaded), three timed runs."""
    env = dict(os.environ, PYTHONPATH=str(tree), OPENBLAS_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", _PER_QUENCH], env=env, capture_output=True,
                         text=True, check=True, cwd=tempfile.gettempdir())
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tree", action="append", type=Path,
                   help="source tree to install (repeatable; default: this checkout)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--read-only", action="store_true",
                   help="immutable package directories (chattr +i; root)")
    p.add_argument("--per-quench", action="store_true",
                   help="time the search once compiled (us per quench), not the first run")
    p.add_argument("--out", type=Path, default=None, help="JSON file to write")
    args = p.parse_args(argv)
    trees = [t.resolve() for t in (args.tree or [Path(__file__).resolve().parents[1]])]
    if args.per_quench:
        return _main_per_quench(trees, args)
    rows: dict[str, list[dict]] = {str(t): [] for t in trees}
    for _ in range(args.repeats):
        for t in trees:  # interleaved: the trees share the machine's load
            r = measure(t, args.read_only)
            rows[str(t)].append(r)
            print(f"{t}: first {r['first']['cpu_s']:.2f} CPU-s, second "
                  f"{r['second']['cpu_s']:.2f} CPU-s ({r['first']['quenches']} quenches)",
                  flush=True)
    summary = {t: {"first_median_cpu_s": statistics.median(r["first"]["cpu_s"] for r in rs),
                   "second_median_cpu_s": statistics.median(r["second"]["cpu_s"] for r in rs)}
               for t, rs in rows.items()}
    print(json.dumps(summary, indent=1))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        record = {"command": "gausslj " + " ".join(MAIN_JOB), "argv": sys.argv,
                  "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  "load_average": os.getloadavg(), "read_only": args.read_only,
                  "runs": rows, "summary": summary}
        args.out.write_text(json.dumps(record, indent=1) + "\n")
    return 0


def _main_per_quench(trees: list[Path], args) -> int:
    rows: dict[str, list[dict]] = {str(t): [] for t in trees}
    for _ in range(args.repeats):
        for t in trees:  # interleaved
            r = per_quench(t)
            rows[str(t)].append(r)
            print(f"{t}: {', '.join(f'{u:.0f}' for u in r['us_per_quench'])} us a quench "
                  f"({r['quenches']} quenches, E {r['energy']!r})", flush=True)
    summary = {t: {"median_us_per_quench": statistics.median(
        u for r in rs for u in r["us_per_quench"])} for t, rs in rows.items()}
    print(json.dumps(summary, indent=1))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        record = {"what": "CPU us per quench of global_minimize(38, seed=0, "
                          "max_minimizations=3000, target_energy=-173.928427), compiled "
                          "code loaded", "argv": sys.argv,
                  "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  "load_average": os.getloadavg(), "runs": rows, "summary": summary}
        args.out.write_text(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
