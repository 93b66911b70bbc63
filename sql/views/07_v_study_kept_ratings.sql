-- Ratings that count: real items (no attention checks) of participants who are not excluded, with the pair
-- named in arm-id order; every rating appears once in its listener group and once in 'all'.
CREATE VIEW v_study_kept_ratings AS
WITH kept AS (
  SELECT
    r.study,
    r.criterion,
    r.listener_group,
    r.participant,
    CASE WHEN r.first_arm_id < r.second_arm_id THEN r.first_arm ELSE r.second_arm END AS arm_a,
    CASE WHEN r.first_arm_id < r.second_arm_id THEN r.second_arm ELSE r.first_arm END AS arm_b,
    r.first_arm,
    r.second_arm,
    r.winner_arm
  FROM v_study_ratings r
  JOIN v_study_participants pc ON pc.study = r.study AND pc.participant = r.participant
  WHERE r.check_kind IS NULL AND pc.excluded = 0
)
SELECT study, criterion, listener_group, participant, arm_a, arm_b, first_arm, second_arm, winner_arm FROM kept
UNION ALL
SELECT study, criterion, 'all', participant, arm_a, arm_b, first_arm, second_arm, winner_arm FROM kept
