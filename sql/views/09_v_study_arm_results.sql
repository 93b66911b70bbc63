-- Study results per arm and criterion: how often each arm won its comparisons, whatever it was paired with.
CREATE VIEW v_study_arm_results AS
WITH sides AS (
  SELECT study, criterion, listener_group, first_arm AS arm, winner_arm FROM v_study_kept_ratings
  UNION ALL
  SELECT study, criterion, listener_group, second_arm AS arm, winner_arm FROM v_study_kept_ratings
)
SELECT
  study,
  criterion,
  listener_group,
  arm,
  COUNT(*) AS n_comparisons,
  SUM(CASE WHEN winner_arm = arm THEN 1 ELSE 0 END) AS wins,
  SUM(CASE WHEN winner_arm IS NOT NULL AND winner_arm <> arm THEN 1 ELSE 0 END) AS losses,
  SUM(CASE WHEN winner_arm IS NULL THEN 1 ELSE 0 END) AS ties,
  CAST(CASE WHEN SUM(CASE WHEN winner_arm IS NULL THEN 0 ELSE 1 END) > 0
    THEN 1.0 * SUM(CASE WHEN winner_arm = arm THEN 1 ELSE 0 END) / SUM(CASE WHEN winner_arm IS NULL THEN 0 ELSE 1 END)
  END AS DOUBLE PRECISION) AS win_rate
FROM sides
GROUP BY study, criterion, listener_group, arm
