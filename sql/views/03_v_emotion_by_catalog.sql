-- Emotion distribution of the archive: scenes per dominant emotion, per catalog and classifier version.
CREATE VIEW v_emotion_by_catalog AS
SELECT
  COALESCE(c.uri, '(no catalog)') AS catalog_uri,
  e.classifier_version,
  e.dominant,
  COUNT(*) AS n_scenes,
  COUNT(DISTINCT sc.video_id) AS n_videos,
  SUM(sc.end_s - sc.start_s) AS scene_seconds,
  CAST(1.0 * COUNT(*) / SUM(COUNT(*)) OVER (PARTITION BY COALESCE(c.uri, '(no catalog)'), e.classifier_version) AS DOUBLE PRECISION) AS share_of_scenes,
  AVG(e.valence) AS mean_valence,
  AVG(e.arousal) AS mean_arousal,
  AVG(e.confidence) AS mean_confidence
FROM emotions e
JOIN scenes sc ON sc.id = e.scene_id
JOIN videos v ON v.video_id = sc.video_id
LEFT JOIN catalogs c ON c.id = v.catalog_id
GROUP BY COALESCE(c.uri, '(no catalog)'), e.classifier_version, e.dominant
