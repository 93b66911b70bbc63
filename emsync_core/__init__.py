"""EMSYNC Archive core library: plain Python + torch, no Beam, Ray or HTTP (see ARCHITECTURE.md)."""

import contextlib
import io
import os

__version__ = "0.1.0"

# pyfluidsynth prints where it found libfluidsynth to stdout at import time when CI is set; pretty_midi
# imports it, and that line would corrupt every command's machine-readable stdout. Where CI is set,
# import it once, muted (elsewhere it is silent and loads only when a module needs it).
if os.environ.get("CI"):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(ImportError, OSError):
        import fluidsynth  # noqa: F401
