"""``gausslj smc``: annealed Langevin / SMC sampling of an LJ cluster."""

from ..sampling.smc import add_cli  # noqa: F401  (moves here with the CLI code)
