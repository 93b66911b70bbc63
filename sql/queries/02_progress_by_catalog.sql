-- How far each catalog is: videos done, failed and pending.
SELECT
  catalog_uri,
  COUNT(*) AS n_videos,
  SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END) AS n_done,
  SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS n_failed,
  SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS n_pending,
  SUM(duration_s) AS video_seconds
FROM v_video_status
GROUP BY catalog_uri
ORDER BY catalog_uri
