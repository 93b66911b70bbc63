-- One row per study answer: who (label, never the token), which item, which arms in which order, who won.
CREATE VIEW v_study_ratings AS
SELECT
  st.name AS study,
  st.mode,
  p.label AS participant,
  CASE WHEN p.music_trained IS NULL THEN 'unknown' WHEN p.music_trained THEN 'music-trained' ELSE 'general' END AS listener_group,
  i.position,
  sv.video_id,
  c.key AS criterion,
  fa.id AS first_arm_id,
  fa.label AS first_arm,
  sa.id AS second_arm_id,
  sa.label AS second_arm,
  i.check_kind,
  a.choice,
  a.score_first,
  a.score_second,
  CASE
    WHEN a.choice = 1 THEN fa.label
    WHEN a.choice = 2 THEN sa.label
    WHEN a.choice IS NULL AND a.score_first > a.score_second THEN fa.label
    WHEN a.choice IS NULL AND a.score_second > a.score_first THEN sa.label
  END AS winner_arm,
  a.answered_at
FROM study_answers a
JOIN study_items i ON i.id = a.item_id
JOIN study_participants p ON p.id = i.participant_id
JOIN study_studies st ON st.id = p.study_id
JOIN study_criteria c ON c.id = a.criterion_id
JOIN study_videos sv ON sv.id = i.study_video_id
JOIN study_media fm ON fm.id = i.first_media_id
JOIN study_media sm ON sm.id = i.second_media_id
JOIN study_arms fa ON fa.id = fm.arm_id
JOIN study_arms sa ON sa.id = sm.arm_id
