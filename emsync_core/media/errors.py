"""One error type for every way a media file can be unusable, so callers dead-letter instead of crash."""

from __future__ import annotations


class MediaError(Exception):
    """A media file that cannot be processed; `stage` says where it failed (probe, decode...)."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
