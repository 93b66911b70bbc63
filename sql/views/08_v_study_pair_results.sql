-- Study results per arm pair, criterion and listener group: wins, losses, ties and the win rate of arm_a
-- (ties left out of the rate, as in `emsync study report`; its tests and intervals work per listener, see docs/STUDIES.md).
CREATE VIEW v_study_pair_results AS
SELECT
  study,
  criterion,
  listener_group,
  arm_a,
  arm_b,
  COUNT(*) AS n_ratings,
  COUNT(DISTINCT participant) AS n_participants,
  SUM(CASE WHEN winner_arm = arm_a THEN 1 ELSE 0 END) AS wins_a,
  SUM(CASE WHEN winner_arm = arm_b THEN 1 ELSE 0 END) AS wins_b,
  SUM(CASE WHEN winner_arm IS NULL THEN 1 ELSE 0 END) AS ties,
  CAST(CASE WHEN SUM(CASE WHEN winner_arm IS NULL THEN 0 ELSE 1 END) > 0
    THEN 1.0 * SUM(CASE WHEN winner_arm = arm_a THEN 1 ELSE 0 END) / SUM(CASE WHEN winner_arm IS NULL THEN 0 ELSE 1 END)
  END AS DOUBLE PRECISION) AS win_rate_a
FROM v_study_kept_ratings
GROUP BY study, criterion, listener_group, arm_a, arm_b
