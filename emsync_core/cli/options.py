"""Helpers shared by command modules."""

from __future__ import annotations


def given(**options: object) -> dict[str, object]:
    """The options a user set: None means 'keep the library default', so it is left out."""
    return {k: v for k, v in options.items() if v is not None}
