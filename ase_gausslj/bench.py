"""Benchmark the smoothed-LJ kernels against plain LJ anchors (issue: foundation).

Energy + forces at width 0.3 (reduced units) for LJ clusters (all pairs) of N = 100, 500,
2000 and a 4,000-particle periodic LJ liquid (density 0.8442). Anchors measured in the
same run: (a) a bare numba plain-LJ loop over the same pairs, (b) ASE's ``LennardJones``,
(c) OpenMM CPU ``NonbondedForce`` with one thread.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 gausslj bench --out results/benchmark_kernels.json

(or ``python examples/benchmark_kernels.py``, a thin wrapper, or
``python -m ase_gausslj.bench``). Timings are the minimum over repeats (wall clock).
ASE and OpenMM anchors are skipped with ``--skip-anchors`` or when not installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time

import numpy as np

from .core import kernels
from .core.energy import SmoothedLJ
from .core.neighbors import neighbor_pairs
from .core.table import get_table

__all__ = ["main"]


def best_of(fn, repeat=5, min_time=0.2):
    fn()
    times = []
    t_start = time.perf_counter()
    while len(times) < repeat or (time.perf_counter() - t_start < min_time and len(times) < 200):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def fcc_cluster(n, seed=0):
    """The n lattice sites of an fcc crystal (nearest neighbours 2^(1/6)) closest to the
    centre, jittered by 0.02: a compact cluster like the ones optimizers produce."""
    a = 2 ** (1 / 6) * np.sqrt(2)
    m = int(np.ceil((n / 4) ** (1 / 3))) + 2
    base = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    g = np.stack(np.meshgrid(*[np.arange(-m, m)] * 3, indexing="ij"), -1).reshape(-1, 1, 3)
    pts = ((g + base[None]) * a).reshape(-1, 3)
    pts = pts[np.argsort(np.linalg.norm(pts + 0.01, axis=1))[:n]]
    return pts + 0.02 * np.random.default_rng(seed).normal(size=pts.shape)


def liquid(n=4000, rho=0.8442, seed=0):
    box = (n / rho) ** (1 / 3)
    m = int(np.ceil(n ** (1 / 3)))
    g = np.stack(np.meshgrid(*[np.arange(m)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n]
    pos = (g + 0.5) * box / m + 0.05 * np.random.default_rng(seed).normal(size=(n, 3))
    return pos, box


def time_ase(pos, cell=None, rc=None):
    """ASE ``LennardJones``: (a) atoms moved between calls (an optimizer's or MD's use: the
    neighbour list is updated), (b) the same positions with results cleared (neighbour
    list reused). Returns both in seconds."""
    from ase import Atoms
    from ase.calculators.lj import LennardJones

    atoms = Atoms(f"Ar{len(pos)}", positions=pos)
    if cell is not None:
        atoms.cell = cell
        atoms.pbc = True
    calc = LennardJones(sigma=1.0, epsilon=1.0, rc=rc if rc else 1e4)
    atoms.calc = calc
    atoms.get_forces()
    step = [0.2]

    def moved():
        step[0] = -step[0]  # beyond ASE's skin/2, so the neighbour list is rebuilt
        atoms.positions += step[0]
        atoms.get_forces()

    def cached():
        calc.results.clear()
        atoms.get_forces()

    return best_of(moved, repeat=2, min_time=0.0), best_of(cached, repeat=2, min_time=0.0)


def time_openmm(pos, box=None, rc=None):
    import openmm
    from openmm import unit

    sys_ = openmm.System()
    nb = openmm.NonbondedForce()
    for _ in range(len(pos)):
        sys_.addParticle(1.0)
        nb.addParticle(0.0, 1.0, 1.0)
    if box is None:
        nb.setNonbondedMethod(openmm.NonbondedForce.NoCutoff)
    else:
        sys_.setDefaultPeriodicBoxVectors(*(np.eye(3) * box))
        nb.setNonbondedMethod(openmm.NonbondedForce.CutoffPeriodic)
        nb.setCutoffDistance(rc)
        nb.setUseDispersionCorrection(False)
    sys_.addForce(nb)
    plat = openmm.Platform.getPlatformByName("CPU")
    ctx = openmm.Context(sys_, openmm.VerletIntegrator(0.001), plat, {"Threads": "1"})
    ctx.setPositions(pos * unit.nanometer)

    def run():
        ctx.setPositions(pos * unit.nanometer)  # forces re-evaluation
        ctx.getState(getEnergy=True, getForces=True)

    return best_of(run)


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def bench_liquid(model, pos, box, rc, w, anchors=True):
    """Periodic liquid: the same pair list for the smoothed and the bare LJ kernels."""
    cell = np.eye(3) * box
    i, j, sh = neighbor_pairs(pos, rc, cell, True)
    t_list = best_of(lambda: neighbor_pairs(pos, rc, cell, True), repeat=3)
    f = np.empty_like(pos)
    args_k = model.kernel_args(w)
    types = np.zeros(len(pos), dtype=np.int64)
    cut = kernels.Cutoff(rc * rc, 0, 0.0)
    out = kernels.outputs(f)

    def smooth():
        kernels.pairlist(pos, i, j, sh, types, 1, cut, args_k, out)

    t_smooth = best_of(smooth)
    t_plain = best_of(lambda: kernels.plain_lj_pairlist(pos, i, j, sh, rc * rc, f))
    t_omm = time_openmm(pos, box, rc) if (rc == 3.0 and anchors and _have("openmm")) else None
    t_ase, t_ase_nl = (
        time_ase(pos, cell, rc) if (rc == 3.0 and anchors and _have("ase")) else (None, None)
    )
    return {"system": f"liquid N=4000 periodic rc={rc:.3f}", "pairs": int(len(i)),
            "smoothed_ms": 1e3 * t_smooth, "bare_lj_ms": 1e3 * t_plain,
            "neighbor_list_ms": 1e3 * t_list, "ase_lj_ms": t_ase and 1e3 * t_ase,
            "ase_lj_cached_nl_ms": t_ase_nl and 1e3 * t_ase_nl,
            "openmm_cpu1_ms": t_omm and 1e3 * t_omm}


# -- ASE calculators on a periodic fcc crystal (issue 21) ---------------------------------

def fcc_atoms(n_cells: int, seed: int = 0):
    """fcc LJ crystal at its 0 K lattice constant (reduced units), rattled by 0.02."""
    from ase.build import bulk

    atoms = bulk("Ar", "fcc", a=2 ** (1 / 6) * np.sqrt(2), cubic=True).repeat((n_cells,) * 3)
    atoms.rattle(0.02, seed=seed)
    return atoms


def _fcc_calcs(widths, rc):
    """Name -> calculator factory: gausslj at each width, and ASAP when installed."""
    from .adapters.calculator import GaussianLJ

    calcs = {f"gausslj_w{w:g}": (lambda w=w: GaussianLJ(rc=rc, width=w)) for w in widths}
    if _have("asap3"):
        from asap3 import LennardJones as AsapLJ

        calcs["asap"] = lambda: AsapLJ([18], [1.0], [1.0], rCut=rc, modified=True)
    return calcs


def _kernel_timers(atoms, widths, rc):
    """The pair loops alone on one Verlet list: smoothed kernel per width, bare LJ."""
    from .core.csr_kernels import csr_pairs
    from .core.verlet import _extend

    pos = atoms.positions.copy()
    model = SmoothedLJ()
    periodic = np.ones(3, dtype=bool)
    nl = model.neighbor_list(pos, rc, atoms.cell.array.copy(), periodic)
    ext = _extend(pos, nl.ghost_src, nl.ghost_shift, len(pos) + nl.ghost_src.size)
    f_ext = np.empty_like(ext)
    f = np.empty_like(pos)
    timers = {"bare_lj_kernel": lambda: kernels.plain_lj_csr(ext, nl.start, nl.nbr, rc * rc,
                                                            f_ext)}
    for w in widths:
        args = model.kernel_args(w, rc)
        timers[f"kernel_w{w:g}"] = lambda args=args: csr_pairs(
            pos, nl.ghost_src, nl.ghost_shift, nl.start, nl.nbr, nl.ext_types, 1,
            kernels.Cutoff(rc * rc, 1, 0.0), args, kernels.outputs(f))
    return timers


def bench_fcc(n_cells: int, widths=(0.0, 0.3), rc: float = 3.0, repeats: int = 7,
              calls: int = 10) -> dict:
    """ms per call (CPU time, median over interleaved repeats), one atom nudged by 1e-3
    between calls: ``get_forces()`` alone (ours computes the energy in the same pass), and
    ``get_potential_energy()`` then ``get_forces()`` (ASAP then runs two passes); plus the
    pair loops alone on the same list."""
    atoms0 = fcc_atoms(n_cells)
    runs = {}
    energies = {}
    for name, make in _fcc_calcs(widths, rc).items():
        atoms = atoms0.copy()
        atoms.calc = make()
        energies[name] = float(atoms.get_potential_energy())
        atoms.get_forces()

        for both in (False, True):
            def call(atoms=atoms, both=both):
                for k in range(calls):
                    atoms.positions[k % len(atoms)] += 1e-3 * (1 - 2 * (k % 2))
                    if both:
                        atoms.get_potential_energy()
                    atoms.get_forces()
            runs[name + ("_e_then_f" if both else "")] = (call, calls)
    for name, fn in _kernel_timers(atoms0, widths, rc).items():
        fn()
        runs[name] = ((lambda fn=fn: [fn() for _ in range(calls)]), calls)
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (fn, k) in runs.items():
            t0 = time.process_time()
            fn()
            times[name].append((time.process_time() - t0) / k)
    row = {"system": f"fcc N={len(atoms0)} periodic rc={rc:g}",
           "n_atoms": len(atoms0), "energies": energies}
    row.update({f"{name}_ms": 1e3 * float(np.median(t)) for name, t in times.items()})
    return row


def _print_fcc(rows, w):
    print(f"\n| system | call | gausslj width 0 ms | width {w:g} ms | ASAP ms | ratio to ASAP |"
          " kernel width 0 / smoothed / bare LJ ms | kernel ratio to bare |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        k0, k3, kb = r["kernel_w0_ms"], r[f"kernel_w{w:g}_ms"], r["bare_lj_kernel_ms"]
        for suffix, label in (("", "forces"), ("_e_then_f", "energy, then forces")):
            a = r.get(f"asap{suffix}_ms")
            g0, g3 = r[f"gausslj_w0{suffix}_ms"], r[f"gausslj_w{w:g}{suffix}_ms"]
            ratio = "-" if a is None else f"{g0 / a:.2f} / {g3 / a:.2f}"
            print(f"| {r['system']} | {label} | {g0:.2f} | {g3:.2f} |"
                  f" {'-' if a is None else f'{a:.2f}'} | {ratio} |"
                  f" {k0:.2f} / {k3:.2f} / {kb:.2f} | {k0 / kb:.2f} / {k3 / kb:.2f} |")


def _parse(argv):
    ap = argparse.ArgumentParser(
        prog="gausslj bench", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--width", type=float, default=0.3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    ap.add_argument("--no-ase-2000", action="store_true", help="skip ASE at N=2000 (slow)")
    ap.add_argument("--skip-anchors", action="store_true", help="no ASE / OpenMM timings")
    ap.add_argument("--no-liquid", action="store_true", help="skip the periodic liquid")
    ap.add_argument("--fcc-cells", type=int, nargs="*", default=[10, 16],
                    help="fcc crystals of 4 m^3 atoms through the ASE calculators, against "
                         "ASAP when asap3 is installed (none: skip)")
    ap.add_argument("--only-fcc", action="store_true", help="only the fcc/ASAP table")
    # scratch by default: the tracked results/ is written only when named explicitly
    ap.add_argument("--out", "--output", dest="out",
                    default="gausslj-results/benchmark_kernels.json",
                    help="JSON output (default %(default)s)")
    args = ap.parse_args(argv)
    if not (args.width >= 0.0) or any(n < 2 for n in args.sizes):
        ap.error("--width must be >= 0 and --sizes >= 2")
    from .io import check_writable

    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    try:  # a directory or FIFO at --out: refuse now, not after the benchmark
        check_writable(args.out, "--out")
    except ValueError as exc:
        ap.error(str(exc))
    return args


def _cluster_row(model, n, w, args):
    pos = fcc_cluster(n)
    f = np.empty((n, 3))
    t_plain = best_of(lambda: kernels.plain_lj_allpairs(pos, f))
    t_smooth = best_of(lambda: model.energy_forces(pos, w))
    t_zero = best_of(lambda: model.energy_forces(pos, 0.0))
    skip_ase = args.skip_anchors or not _have("ase") or (n > 1000 and args.no_ase_2000)
    t_ase, t_ase_nl = (None, None) if skip_ase else time_ase(pos)
    t_omm = None if (args.skip_anchors or not _have("openmm")) else time_openmm(pos)
    return {"system": f"cluster N={n} (all pairs)", "pairs": n * (n - 1) // 2,
            "smoothed_ms": 1e3 * t_smooth, "width0_ms": 1e3 * t_zero,
            "bare_lj_ms": 1e3 * t_plain, "ase_lj_ms": t_ase and 1e3 * t_ase,
            "ase_lj_cached_nl_ms": t_ase_nl and 1e3 * t_ase_nl,
            "openmm_cpu1_ms": t_omm and 1e3 * t_omm}


def _print_table(rows):
    print("\n| system | pairs | smoothed ms | bare numba LJ ms | ratio | width 0 ms |"
          " ASE LJ ms (moved / cached list) | speed-up vs ASE (moved / cached) |"
          " OpenMM CPU 1 thread ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ase, ase_nl = r.get("ase_lj_ms"), r.get("ase_lj_cached_nl_ms")
        omm = r.get("openmm_cpu1_ms")
        sm = r["smoothed_ms"]
        w0 = r.get("width0_ms")
        print(f"| {r['system']} | {r['pairs']} | {sm:.3f} | {r['bare_lj_ms']:.3f} | "
              f"{sm / r['bare_lj_ms']:.2f} | {'-' if w0 is None else f'{w0:.3f}'} | "
              f"{'-' if ase is None else f'{ase:.1f} / {ase_nl:.1f}'} | "
              f"{'-' if ase is None else f'{ase / sm:.0f}x / {ase_nl / sm:.0f}x'} | "
              f"{'-' if omm is None else f'{omm:.2f}'} |")


def main(argv=None) -> int:
    """Run the benchmark (``argv`` as for ``gausslj bench``); returns the exit status."""
    from .io import write_json

    args = _parse(argv)
    w = args.width
    t0 = time.perf_counter()
    get_table()
    model = SmoothedLJ()
    rows = []
    info = {"width": w, "table_load_or_build_s": time.perf_counter() - t0,
            "numba_threads": int(os.environ.get("NUMBA_NUM_THREADS", 0)) or None}
    fcc_rows = []
    if args.fcc_cells and _have("ase"):
        for m in args.fcc_cells:
            fcc_rows.append(bench_fcc(m, widths=(0.0, w)))
            print(fcc_rows[-1], flush=True)
    for n in [] if args.only_fcc else args.sizes:
        rows.append(_cluster_row(model, n, w, args))
        print(rows[-1], flush=True)
    if not (args.no_liquid or args.only_fcc):
        pos, box = liquid()
        for rc in [3.0, 3.0 + 2 * np.sqrt(2) * w]:
            rows.append(bench_liquid(model, pos, box, rc, w, anchors=not args.skip_anchors))
            print(rows[-1], flush=True)
    write_json(args.out, {"info": info, "rows": rows, "fcc_ase": fcc_rows})
    if rows:
        _print_table(rows)
    if fcc_rows:
        _print_fcc(fcc_rows, w)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
