-- Every dead letter with its reason; inputs that never became a video row (unreadable files) included.
CREATE VIEW v_failures AS
SELECT
  f.video_key,
  f.video_id,
  f.uri,
  f.stage,
  f.error_class,
  f.message,
  f.attempts,
  f.at,
  f.run_id,
  CASE WHEN f.resolved_at IS NULL THEN 'open' ELSE 'resolved' END AS state
FROM failures f
