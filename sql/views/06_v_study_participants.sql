-- Participants with progress and attention checks; excluded = 1 when they failed more checks than allowed.
-- Same rules as emsync_core/study/answers.py: identical pair -> "no difference" on at least half of the
-- criteria (choice) or scores within 1 point (scale); mismatch -> the mismatched soundtrack never wins a
-- match criterion.
CREATE VIEW v_study_participants AS
WITH check_answers AS (
  SELECT
    i.id AS item_id,
    i.participant_id,
    i.check_kind,
    st.mode,
    COUNT(*) AS n_answers,
    SUM(CASE WHEN a.choice = 0 THEN 1 ELSE 0 END) AS n_same,
    SUM(CASE WHEN a.score_first - a.score_second > 1 OR a.score_second - a.score_first > 1 THEN 1 ELSE 0 END) AS n_far,
    SUM(CASE WHEN c.is_match AND (
          a.choice = i.mismatch_position
          OR (a.choice IS NULL AND i.mismatch_position = 1 AND a.score_first > a.score_second)
          OR (a.choice IS NULL AND i.mismatch_position = 2 AND a.score_second > a.score_first))
        THEN 1 ELSE 0 END) AS n_mismatch_won
  FROM study_items i
  JOIN study_answers a ON a.item_id = i.id
  JOIN study_criteria c ON c.id = a.criterion_id
  JOIN study_participants p ON p.id = i.participant_id
  JOIN study_studies st ON st.id = p.study_id
  WHERE i.check_kind IS NOT NULL
  GROUP BY i.id, i.participant_id, i.check_kind, st.mode
),
outcomes AS (
  SELECT
    participant_id,
    CASE
      WHEN check_kind = 'identical' AND mode = 'choice' THEN CASE WHEN 2 * n_same >= n_answers THEN 0 ELSE 1 END
      WHEN check_kind = 'identical' THEN CASE WHEN n_far = 0 THEN 0 ELSE 1 END
      ELSE CASE WHEN n_mismatch_won = 0 THEN 0 ELSE 1 END
    END AS failed
  FROM check_answers
),
per_participant AS (
  SELECT participant_id, COUNT(*) AS n_checks_answered, SUM(failed) AS n_checks_failed
  FROM outcomes
  GROUP BY participant_id
)
SELECT
  st.name AS study,
  p.label AS participant,
  CASE WHEN p.music_trained IS NULL THEN 'unknown' WHEN p.music_trained THEN 'music-trained' ELSE 'general' END AS listener_group,
  (SELECT COUNT(*) FROM study_items i WHERE i.participant_id = p.id) AS n_items,
  (SELECT COUNT(*) FROM study_answers a JOIN study_items i ON i.id = a.item_id WHERE i.participant_id = p.id) AS n_answers,
  COALESCE(pp.n_checks_answered, 0) AS n_checks_answered,
  COALESCE(pp.n_checks_failed, 0) AS n_checks_failed,
  CASE WHEN COALESCE(pp.n_checks_failed, 0) > st.max_failed_checks THEN 1 ELSE 0 END AS excluded,
  p.intake_at,
  p.completed_at
FROM study_participants p
JOIN study_studies st ON st.id = p.study_id
LEFT JOIN per_participant pp ON pp.participant_id = p.id
