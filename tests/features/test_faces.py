"""Faces backbone on real frames: Chaplin's face is found and read; a test pattern has no face."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emsync_core.features import registry
from emsync_core.features.base import Window
from emsync_core.features.faces import FER_CLASSES, FacesBackbone
from tests.features.media import frame_at, lavfi_frame, video_info


@pytest.fixture(scope="module")
def faces() -> FacesBackbone:
    backbone = registry.resolve("faces")()
    backbone.load()
    return backbone


def test_finds_chaplins_face(faces: FacesBackbone, shared_video: Path) -> None:
    """chaplin.mp4 at 6.5 s: Chaplin walks toward the camera, centre right; his face is a small box in the upper third."""
    frame = frame_at(shared_video / "chaplin.mp4", 6.5)
    found = faces.analyzer.analyse(frame)
    assert found, "no face detected in chaplin.mp4 at 6.5 s"
    face = found[0]
    h, w = frame.shape[:2]
    assert 0.45 * w < (face.x0 + face.x1) / 2 < 0.65 * w and (face.y0 + face.y1) / 2 < h / 3
    assert 10 < face.x1 - face.x0 < 80
    assert face.probs.shape == (len(FER_CLASSES),) and face.probs.sum() == pytest.approx(1.0, abs=1e-4)


def test_no_face_is_an_absence_not_a_neutral_face(faces: FacesBackbone) -> None:
    for source in ("testsrc", "smptebars", "color=c=0x808080"):
        assert faces.embed(Window(0, 0.0, 1.0, frames=[lavfi_frame(source)]), video_info(1.0)) is None
    assert faces.embed(Window(0, 0.0, 1.0), video_info(1.0)) is None


def test_digits_on_a_test_card_are_not_a_face(faces: FacesBackbone, shared_video: Path) -> None:
    """smpte-2997.mp4 at 1.5 s: the counter's "9" scored 0.54 with MediaPipe's 0.5 threshold."""
    assert faces.analyzer.detect(frame_at(shared_video / "smpte-2997.mp4", 1.5)) == []


def test_window_vector_layout(faces: FacesBackbone, shared_video: Path) -> None:
    """One frame with a face and one without: 7 probabilities, presence share 0.5, face size > 0."""
    with_face = frame_at(shared_video / "chaplin.mp4", 6.5)
    vector = faces.embed(Window(0, 0.0, 1.0, frames=[with_face, lavfi_frame("testsrc")]), video_info(1.0))
    assert vector is not None and vector.shape == (FacesBackbone.dim,) and vector.dtype == np.float32
    assert vector[:7].sum() == pytest.approx(1.0, abs=1e-4)
    assert vector[7] == pytest.approx(0.5)
    assert 0.0 < vector[9] < 0.5
