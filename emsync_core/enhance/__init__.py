"""Filter-robust bandwidth extension: restore the high band of band-limited music (see docs/ENHANCE.md)."""
