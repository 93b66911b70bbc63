-- Per study and criterion, each arm pair's result over all kept listeners, and split by music training.
SELECT study, criterion, arm_a, arm_b, listener_group, wins_a, wins_b, ties, win_rate_a
FROM v_study_pair_results
ORDER BY study, criterion, arm_a, arm_b, listener_group
