"""Default locations of the tokenised cache (untracked, under the repository's .cache/)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = REPO_ROOT / ".cache" / "music" / "dataset.npz"
