"""Keep a worker's resident memory at what it uses, not at its high-water mark.

glibc raises its mmap threshold each time a large block is freed, so after the first video the
decoder's and the models' large temporary buffers come from the heap, which fragments and does not
shrink. Pinning the threshold sends every block of 128 KiB or more to its own mapping, returned to the
system on free: 50-80 MB less peak per worker, measured with the default backbones on 1080p input.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD_BYTES = 128 * 1024


def pin_mmap_threshold() -> bool:
    """True where the C library took the setting (glibc); elsewhere nothing changes."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return bool(libc is not None and libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False
