"""Per-scene mood overrides: files parsed whole, errors that name the line, scenes chosen by index or time."""

from __future__ import annotations

import json

import pytest

from emsync_core.scoring.overrides import OverrideError, read_overrides, resolve
from emsync_core.scoring.plan import SceneMood

MOODS = (SceneMood(0, 0.0, 4.0, 0.1, 0.0), SceneMood(1, 4.0, 9.0, -0.1, 0.2), SceneMood(2, 9.0, 12.0, 0.0, 0.0))


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_and_json_entries_by_index_time_range_and_words(tmp_path):
    csv_file = write(tmp_path, "m.csv", "video,scene,start_s,end_s,valence,arousal,brief\n"
                                        "abc,1,,,0.5,-0.5,\n"
                                        "abc,,8.5,12,,,\"melancholic, minor\"\n")
    entries = read_overrides(csv_file)
    moods = resolve(entries, MOODS, 12.0)
    assert sorted(moods) == [1, 2]
    assert (moods[1].valence, moods[1].arousal, moods[1].source) == (0.5, -0.5, "override:m.csv:2")
    assert moods[2].valence < -0.5 and moods[2].source == "override:m.csv:3"
    json_file = write(tmp_path, "m.json", json.dumps([{"video": "abc", "scene": 0, "brief": "joyful"}]))
    assert resolve(read_overrides(json_file), MOODS, 12.0)[0].valence > 0.5


@pytest.mark.parametrize("row, message", [
    ("abc,1,,,0.5,,", "m.csv:3: give valence and arousal"),
    ("abc,1,,,,,joyfull", "m.csv:3: unknown brief word 'joyfull'"),
    ("abc,1,,,1.5,0,", "m.csv:3: valence/arousal 1.5 outside"),
    (",1,,,0.5,0,", "m.csv:3: no video"),
    ("abc,,5,4,0.5,0,", "m.csv:3: time range 5.0-4.0 s is not a range"),
])
def test_bad_lines_are_named(tmp_path, row, message):
    path = write(tmp_path, "m.csv", f"video,scene,start_s,end_s,valence,arousal,brief\nabc,0,,,0.1,0.1,\n{row}\n")
    with pytest.raises(OverrideError, match=message):
        read_overrides(path)


def test_scene_or_range_outside_the_video_is_named(tmp_path):
    missing = read_overrides(write(tmp_path, "a.csv", "video,scene,valence,arousal\nabc,7,0.1,0.1\n"))
    with pytest.raises(OverrideError, match="a.csv:2: video abc has no scene 7"):
        resolve(missing, MOODS, 12.0)
    outside = read_overrides(write(tmp_path, "b.json", json.dumps([{"video": "abc", "start_s": 10, "end_s": 30, "valence": 0, "arousal": 0}])))
    with pytest.raises(OverrideError, match=r"b.json:entry 1: time range 10-30 s is outside the video \(0-12 s\)"):
        resolve(outside, MOODS, 12.0)
