"""A/B listening studies: design, assignment, statistics."""
