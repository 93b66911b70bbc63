"""Temp folders the suite owns: pytest's numbered dirs are pruned by any other pytest session of the same
user (several people share a machine), which pulled catalogs and media away mid-run."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def own_temp_folder(area: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix=f"emsync-{area}-test-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
