"""The scoring tests' media and untrained checkpoints, for the cluster tests too."""

from tests.score.conftest import checkpoints, private_dir  # noqa: F401  (pytest fixtures)
