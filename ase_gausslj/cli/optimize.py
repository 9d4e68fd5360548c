"""``gausslj optimize``: global minimization of an LJ cluster."""

from ..optimize.globalopt import add_cli  # noqa: F401  (moves here with the CLI code)
