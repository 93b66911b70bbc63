"""`emsync music eval` and `emsync bench music` end to end on a tiny model: every figure is produced
from generated MIDI, rendered audio and held-out real pieces (quality is the shipped model's card)."""

from __future__ import annotations

import json
import math

from emsync_core.bench.music_bench import run_music_bench
from emsync_core.music.evaluate import EvalSettings, pair_wins, run_eval, sampling_sweep


def _settings(**kw) -> EvalSettings:
    return EvalSettings(
        cut_requests=2, cut_duration_s=20.0, arousal_levels=(-0.8, 0.8), arousal_seeds=2, arousal_duration_s=6.0,
        valence_pairs=2, valence_duration_s=5.0, scene_pairs=1, real_pieces=3, real_window_s=10.0,
        accuracy_batches=1, batch_size=4, judge_pieces=6, **kw,
    )


def test_eval_report(tiny_generator, small_cache, tmp_path):
    out = tmp_path / "eval.json"
    report = run_eval(tiny_generator, small_cache, _settings(valence_guidance=2.0), out)
    assert json.loads(out.read_text())["model_version"] == "tiny-random"
    cuts = report["cut_alignment"]
    assert cuts["cuts"] >= 6 and 0 <= cuts["audible_hit_rate_random_cuts"] <= 1 and 0 <= cuts["token_hit_rate"] <= 1
    # the decoder writes an accented chord at every cut, even from an untrained model
    assert cuts["audible_hit_rate"] == cuts["audible_hit_rate_boundary_disabled"] == 1.0
    heard = cuts["heard"]
    assert heard["drums_only"] == 0 and heard["empty_5s_windows"] == 0 and heard["share_with_3_groups"] >= 0.5
    assert 0 <= cuts["hit_rate_learned_only"] <= 1
    assert report["arousal_control"]["requests"] == report["arousal_control"]["valenced_requests"] == 4
    v = report["valence_control"]
    assert 0 <= v["share_positive_beats_negative"] <= 1 and 0 <= v["learned_only_share_positive_beats_negative"] <= 1
    assert 0 <= v["mean_vibenet_valence_pos"] <= 1  # vibenet scores in [0, 1]
    ceiling = report["valence_judge_ceiling"]
    assert ceiling["pieces_pos"] + ceiling["pieces_neg"] >= 1  # the cache's EMOPIA clips are labelled
    assert 0 <= report["scene_valence_following"]["share_positive_scene_judged_more_positive"] <= 1
    assert report["heldout_next_token"]["tokens"] > 0
    sens = report["valence_sensitivity"]
    assert sens["pieces"] >= 1 and sens["nll_true"] > 0 and sens["nll_null"] > 0
    assert set(report["musicality"]) >= {"pitch_class_entropy", "scale_consistency", "polyphony", "note_density"}
    assert set(report["musicality_learned_only"]) == set(report["musicality"]) - {"real_pieces"}


def test_sampling_sweep_varies_one_setting(tiny_generator):
    rows = sampling_sweep(tiny_generator, _settings(), "valence_cues", [0.0, 2.0])
    assert [r["valence_cues"] for r in rows] == [0.0, 2.0]
    assert rows[0]["mean_pitch_pos"] != rows[1]["mean_pitch_pos"]


def test_pair_wins_is_the_share_of_pairs():
    assert pair_wins([0.9, 0.5], [0.4, 0.6]) == 0.75
    assert math.isnan(pair_wins([], [0.1]))


def test_bench_music_writes_rows(tmp_path, monkeypatch):
    from emsync_core.bench import music_bench

    monkeypatch.setattr(music_bench, "load_generator", lambda checkpoint: music_bench.untrained("tiny"))
    report = run_music_bench(None, str(tmp_path), music_s=4.0, whole_s=2.0, threads=1, reference=False)
    saved = json.loads((tmp_path / "music.json").read_text())
    assert saved["speedup"] == report["speedup"]
    loops = {(r["batch"], r["regime"], r["loop"]) for r in saved["rows"]}
    assert {(1, "steady state", "kv cache"), (1, "steady state", "full window"), (8, "steady state", "full window")} <= loops
    assert saved["cpu_s_per_music_minute"] > 0 and saved["real_time_factor"] > 0 and saved["real_time_factor_cues_off"] > 0
