-- Compare generator versions: how many soundtracks, and how often a chord change lands on a cut.
SELECT generator_version, classifier_version, n_soundtracks, n_videos, cut_match_rate, mean_cut_offset_s, mean_loudness_lufs
FROM v_soundtracks_by_model
ORDER BY generator_version, classifier_version
