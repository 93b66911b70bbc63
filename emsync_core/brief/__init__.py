"""A scoring brief ("tense, orchestral, minor key"): parsing it and mixing it with the per-scene moods."""

from emsync_core.brief.parse import Brief, BriefError, parse_brief

__all__ = ["Brief", "BriefError", "parse_brief"]
