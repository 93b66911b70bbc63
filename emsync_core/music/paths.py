"""Default locations of the tokenised cache (untracked, under the repository's .cache/)."""

from emsync_core.paths import REPO_ROOT

DEFAULT_CACHE = REPO_ROOT / ".cache" / "music" / "dataset.npz"
