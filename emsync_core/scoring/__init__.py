"""The scoring stage's library half: plan generation requests per video, assemble and check the music.

Ray (ray_serve/) and the CLI only move these typed records around; nothing here imports Ray.
"""
