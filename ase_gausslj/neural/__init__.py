"""Neural sequential Monte Carlo: annealed flow transport (AFT) with JAX (optional extra).

Install with ``pip install "gausslj[neural]"`` (jax, optax, equinox). Only the modules of
this package import JAX, and only when they are imported themselves:

* :mod:`ase_gausslj.neural.ground_truth`: exact LJ3 statistics by quadrature (numpy only).
* :mod:`ase_gausslj.neural.jax_energy`: JAX-traceable smoothed LJ (table in ``jnp`` arrays,
  or a ``jax.pure_callback`` around the numba kernels).
* :mod:`ase_gausslj.neural.flows`: an E(3)- and permutation-equivariant continuous flow.
* :mod:`ase_gausslj.neural.aft`: annealed flow transport (Arbel, Matthews & Doucet 2021).
"""

from __future__ import annotations

__all__ = ["require_jax"]

INSTALL_HINT = 'the neural extra needs JAX: pip install "gausslj[neural]" (jax, optax, equinox)'


def require_jax() -> None:
    """ImportError with the install command unless jax, optax and equinox import."""
    try:
        import equinox  # noqa: F401
        import jax  # noqa: F401
        import optax  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(INSTALL_HINT) from exc
