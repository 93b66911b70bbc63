-- Which inputs failed, at which stage, and why (open failures, most frequent reasons first).
SELECT stage, error_class, COUNT(*) AS n_inputs, MIN(message) AS example_message
FROM v_failures
WHERE state = 'open'
GROUP BY stage, error_class
ORDER BY n_inputs DESC, stage, error_class
