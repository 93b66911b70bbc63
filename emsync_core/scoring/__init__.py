"""The scoring run's library half: the run's decisions and database writes (run.py), its typed stages
(stages.py), plans, moods, assembly and the finish step.

Engines (ray_serve/) only place the stages on workers and hand their outputs back; nothing here
imports Ray or Beam.
"""
