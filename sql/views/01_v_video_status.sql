-- Which videos are done, failed or still pending, per catalog (one row per video version).
CREATE VIEW v_video_status AS
SELECT
  v.video_id,
  COALESCE(c.uri, '(no catalog)') AS catalog_uri,
  v.uri,
  v.status,
  CASE
    WHEN EXISTS (SELECT 1 FROM soundtracks s WHERE s.video_id = v.video_id) THEN 'done'
    WHEN EXISTS (SELECT 1 FROM failures f WHERE f.video_id = v.video_id AND f.resolved_at IS NULL) THEN 'failed'
    ELSE 'pending'
  END AS state,
  (SELECT COUNT(*) FROM soundtracks s WHERE s.video_id = v.video_id) AS n_soundtracks,
  (SELECT COUNT(*) FROM failures f WHERE f.video_id = v.video_id AND f.resolved_at IS NULL) AS n_open_failures,
  v.duration_s,
  v.has_audio,
  v.updated_at
FROM videos v
LEFT JOIN catalogs c ON c.id = v.catalog_id
