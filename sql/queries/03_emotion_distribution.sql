-- The archive's emotional make-up per catalog: share of scenes per dominant emotion, with mean valence/arousal.
SELECT catalog_uri, classifier_version, dominant, n_scenes, share_of_scenes, mean_valence, mean_arousal
FROM v_emotion_by_catalog
ORDER BY catalog_uri, classifier_version, n_scenes DESC, dominant
