"""Scene cuts on exact synthetic videos (within one frame) and on the shared real clips."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from emsync_core.media.cuts import AdaptiveContentDetector, CutSettings, mean_value, thin_cuts
from emsync_core.media.scan import SCALER, VideoScan
from tests.media_factory import cut_times, ffmpeg, video_with_cuts


def scan(path: Path) -> VideoScan:
    result = VideoScan(lambda: str(path))
    for _ in result.windows():
        pass
    return result


def assert_cuts_match(found: list[float], expected: list[float], tolerance: float) -> None:
    assert len(found) == len(expected), (found, expected)
    for f, e in zip(found, expected):
        assert abs(f - e) <= tolerance, (found, expected)


@pytest.mark.parametrize(
    ("scene_frames", "fps"),
    [([50, 62, 88, 40], "25"), ([30, 45, 40, 60], "24000/1001"), ([20, 25, 30], "12.5"), ([90, 75, 60], "30000/1001")],
)
def test_cuts_found_within_one_frame(tmp_path: Path, scene_frames: list[int], fps: str) -> None:
    from fractions import Fraction

    rate = float(Fraction(fps))
    video = video_with_cuts(tmp_path / "cuts.mp4", scene_frames, fps=fps)
    result = scan(video)
    assert_cuts_match(result.report.cuts_raw_s, cut_times(scene_frames, rate), 1.0 / rate + 1e-6)
    assert result.report.duration_s == pytest.approx(sum(scene_frames) / rate, abs=1.0 / rate)


def test_variable_frame_rate_cuts_use_timestamps(tmp_path: Path) -> None:
    """25 fps, then 10 fps, then 25 fps: a frame-count clock would put the second cut at 3 s."""
    video = tmp_path / "vfr.mp4"
    parts = ["testsrc=size=320x240:rate=25,trim=end_frame=50", "smptebars=size=320x240:rate=10,trim=end_frame=25", "mandelbrot=size=320x240:rate=25,trim=end_frame=40"]
    args = [a for p in parts for a in ("-f", "lavfi", "-i", f"{p},setpts=PTS-STARTPTS")]
    graph = "[0:v]settb=1/1000[a];[1:v]settb=1/1000[b];[2:v]settb=1/1000[c];[a][b][c]concat=n=3:v=1:a=0,format=yuv420p[v]"
    ffmpeg(*args, "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-fps_mode", "passthrough", "-video_track_timescale", "1000", str(video))
    assert_cuts_match(scan(video).report.cuts_raw_s, [2.0, 4.5], 0.04)


def test_fade_from_black_is_not_a_cut(tmp_path: Path) -> None:
    video = tmp_path / "fade.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=4,fade=t=in:st=0.5:d=1.5", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video))
    assert scan(video).report.cuts_raw_s == []


def test_thinning_keeps_cuts_at_least_the_gap_apart() -> None:
    assert thin_cuts([1.2, 3.04, 5.48, 7.48, 9.68], 4.0) == [5.48, 9.68]
    assert thin_cuts([4.0, 5.0, 8.1, 12.0, 12.2], 4.0) == [4.0, 8.1, 12.2]
    assert thin_cuts([], 4.0) == []


def test_real_clips_match_their_visible_cuts(shared_video: Path) -> None:
    """Visible cuts checked by eye on frames either side: BBB 11.8/15.7/23.0 s (its opening is a fade,
    not a cut); bikes.mp4 1.2/3.04/5.48/7.48/9.68 s (the 3.04 s taxi-to-cyclist cut is real)."""
    bunny = scan(shared_video / "big_buck_bunny_0_30.webm").report
    assert_cuts_match(bunny.cuts_raw_s, [11.8, 15.7, 23.0], 0.1)
    assert bunny.cuts_s == pytest.approx([11.795, 22.961], abs=0.05)
    bikes = scan(shared_video / "bikes.mp4").report
    assert_cuts_match(bikes.cuts_raw_s, [1.2, 3.04, 5.48, 7.48, 9.68], 0.05)
    assert scan(shared_video / "chaplin.mp4").report.cuts_raw_s == []


@pytest.mark.parametrize("shape", [(144, 256, 3), (144, 256), (1, 7, 3)])
def test_mean_value_is_numpys_mean_to_the_bit(shape: tuple[int, ...]) -> None:
    """Fade tests and motion read it: the cheap sum must not move a single decision."""
    rng = np.random.default_rng(len(shape))
    for _ in range(50):
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        assert mean_value(image) == float(image.mean())


def assert_same_as_pyscenedetect(frames: list[np.ndarray], times_s: list[float], fps: float) -> int:
    """Feeds both detectors the same frames: every frame score equal to the bit, every decision equal.
    Returns how many cuts they found."""
    from scenedetect import AdaptiveDetector, FrameTimecode

    settings = CutSettings()
    library = AdaptiveDetector(adaptive_threshold=settings.adaptive_threshold, min_scene_len=float(settings.min_scene_len_s),
                               window_width=settings.window_width, min_content_val=settings.min_content_val)
    ours = AdaptiveContentDetector(settings)
    cuts = 0
    for time_s, frame in zip(times_s, frames):
        expected = [timecode.seconds for timecode in library.process_frame(FrameTimecode(time_s, fps), frame)]
        found = ours.push(time_s, frame)
        assert ours._scores[-1][1] == library._frame_score
        assert ([] if found is None else [found]) == expected, time_s
        cuts += len(expected)
    return cuts


def test_the_detector_is_pyscenedetects_adaptive_detector_on_synthetic_frames() -> None:
    """Scenes of noisy stills with hard cuts, a still stretch (zero average change) and a cut out of it."""
    rng = np.random.default_rng(0)
    stills = [rng.integers(0, 256, (144, 256, 3), dtype=np.uint8) for _ in range(5)] + [np.full((144, 256, 3), 40, np.uint8)]
    frames = []
    for scene, length in zip([0, 1, 5, 2, 1, 3, 4], [30, 12, 25, 3, 40, 30, 20]):
        for _ in range(length):
            noise = rng.integers(0, 6, stills[scene].shape, dtype=np.uint8) if scene != 5 else 0
            frames.append(cv2.add(stills[scene], noise))
    assert assert_same_as_pyscenedetect(frames, [i / 25 for i in range(len(frames))], 25.0) >= 4


def test_the_detector_is_pyscenedetects_adaptive_detector_on_real_frames(shared_video: Path) -> None:
    """The downscaled frames the scan feeds it, from a clip with five visible cuts."""
    import av
    from av.video.reformatter import VideoReformatter

    scaler = VideoReformatter()
    with av.open(str(shared_video / "bikes.mp4")) as container:
        decoded = [(float(frame.time), scaler.reformat(frame, width=256, height=108, format="bgr24", interpolation=SCALER).to_ndarray())
                   for frame in container.decode(video=0)]
    assert assert_same_as_pyscenedetect([f for _, f in decoded], [t for t, _ in decoded], 25.0) == 5
