-- Soundtracks per generator/classifier version with cut-alignment metrics (chord onset within 1 s of a cut).
CREATE VIEW v_soundtracks_by_model AS
SELECT
  s.generator_version,
  s.classifier_version,
  COUNT(*) AS n_soundtracks,
  COUNT(DISTINCT s.video_id) AS n_videos,
  SUM(s.duration_s) AS total_seconds,
  SUM(s.n_cuts) AS n_cuts,
  SUM(s.n_cuts_matched) AS n_cuts_matched,
  CAST(CASE WHEN SUM(s.n_cuts) > 0 THEN 1.0 * SUM(s.n_cuts_matched) / SUM(s.n_cuts) END AS DOUBLE PRECISION) AS cut_match_rate,
  AVG(s.mean_cut_offset_s) AS mean_cut_offset_s,
  AVG(s.loudness_lufs) AS mean_loudness_lufs,
  CAST(AVG(1.0 * s.n_tokens) AS DOUBLE PRECISION) AS mean_tokens,
  MIN(s.created_at) AS first_created_at,
  MAX(s.created_at) AS last_created_at
FROM soundtracks s
GROUP BY s.generator_version, s.classifier_version
