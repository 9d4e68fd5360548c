"""``gausslj homotopy``: Gaussian homotopy minimization of an LJ cluster."""

from ..optimize.homotopy import add_cli  # noqa: F401  (moves here with the CLI code)
