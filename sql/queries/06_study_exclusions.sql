-- Who was excluded from a study for failing attention checks, and how far each participant got.
SELECT study, participant, listener_group, n_items, n_answers, n_checks_answered, n_checks_failed, excluded, completed_at
FROM v_study_participants
ORDER BY study, participant
