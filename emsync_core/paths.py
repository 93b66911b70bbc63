"""Where the project's own files live: the checkout (sql/, samples/, the untracked .cache/) and the user's
cache folder. Defined once so every default location moves together."""

from __future__ import annotations

import os
from pathlib import Path

#: the folder holding the emsync_core package (the repository root in a checkout)
REPO_ROOT = Path(__file__).resolve().parents[1]


def user_cache() -> Path:
    """$XDG_CACHE_HOME/emsync, else ~/.cache/emsync (read at call time, so a test or image can point it elsewhere)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "emsync"
