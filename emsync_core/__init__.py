"""EMSYNC Archive core library: plain Python + torch, no Beam, Ray or HTTP (see ARCHITECTURE.md)."""

import contextlib
import io

__version__ = "0.1.0"

# pyfluidsynth prints where it found libfluidsynth to stdout at import time whenever CI is set; pretty_midi
# imports it, and that line would corrupt every command's machine-readable stdout. Import it once, muted.
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(ImportError, OSError):
    import fluidsynth  # noqa: F401
