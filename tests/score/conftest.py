"""Media and models for the scoring tests.

Models: small UNTRAINED checkpoints of the project's own emotion fusion head and music transformer,
built here with their real code (loading, classify, KV-cached generation all run for real). The
properties checked (copied video stream, lengths, cut markers, DB/file consistency, resume,
regeneration) do not depend on training, and tiny models keep the suite fast on 2 cores.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.folders import own_temp_folder

SHARED_CLIP = Path("/work/shared/data/video/bikes.mp4")
BACKBONES = ("visual_affect", "audio_affect")
SYNTHETIC_CUTS = [5.0, 10.0]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


def make_synthetic(path: Path) -> Path:
    """14 s: test pattern 0-5 s, colour bars 5-10 s, Mandelbrot 10-14 s (cuts at exactly 5 and 10 s);
    audio: a quiet 220 Hz tone with an espeak-ng voice from 6 s."""
    wav = path.with_suffix(".wav")
    subprocess.run(["espeak-ng", "-w", str(wav), "This scene has a narrator speaking over the music."], check=True)
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=5", "-f", "lavfi", "-i", "smptebars=size=320x240:rate=25:duration=5",
           "-f", "lavfi", "-i", "mandelbrot=size=320x240:rate=25,trim=duration=4", "-f", "lavfi", "-i", "sine=frequency=220:duration=14",
           "-i", str(wav), "-filter_complex",
           "[0:v][1:v][2:v]concat=n=3:v=1:a=0,format=yuv420p[v];[3:a]volume=0.05[t];[4:a]adelay=6000:all=1[s];"
           "[t][s]amix=inputs=2:duration=first:normalize=0[a]",
           "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-t", "14", str(path))
    wav.unlink()
    return path


def make_checkpoints(folder: Path) -> tuple[str, str]:
    import torch

    from emsync_core.emotion.checkpoint import EmotionCheckpoint, save_checkpoint
    from emsync_core.emotion.fusion import FusionConfig, FusionHead
    from emsync_core.features.audio_affect import AUDIO_AFFECT_FIELDS
    from emsync_core.music.checkpoint import CheckpointMeta
    from emsync_core.music.checkpoint import save_checkpoint as save_music
    from emsync_core.music.labels import MinMaxScaler
    from emsync_core.music.model import PRESETS, MusicTransformer

    torch.manual_seed(0)
    head = FusionHead(FusionConfig(modalities=BACKBONES, dims=(6, len(AUDIO_AFFECT_FIELDS)), d_model=32, heads=2)).eval()
    emotion = folder / "emotion-untrained.safetensors"
    save_checkpoint(EmotionCheckpoint(head, 0.5, "test-untrained-emotion"), emotion)
    music = folder / "music-untrained.safetensors"
    save_music(MusicTransformer(PRESETS["tiny"]), CheckpointMeta("test-untrained-music", PRESETS["tiny"], MinMaxScaler(0.0, 10.0),
                                                                   MinMaxScaler(0.0, 10.0)), music)
    return str(emotion), str(music)


@pytest.fixture(scope="module")
def private_dir():
    """A temp folder of our own: pytest's numbered dirs are pruned by any other pytest session of the
    same user (several engineers share this machine), which pulled catalogs away mid-run."""
    with own_temp_folder("score") as folder:
        yield folder


@pytest.fixture(scope="module")
def media(private_dir) -> dict:
    """A catalog folder: the synthetic clip, the shared bikes clip (when /work/shared exists), a broken file."""
    root = private_dir / "catalog"
    root.mkdir()
    make_synthetic(root / "synthetic.mp4")
    if SHARED_CLIP.exists():
        shutil.copy(SHARED_CLIP, root / "bikes.mp4")
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    return {"catalog": str(root), "shared": SHARED_CLIP.exists()}


@pytest.fixture(scope="module")
def checkpoints(private_dir) -> tuple[str, str]:
    (private_dir / "models").mkdir()
    return make_checkpoints(private_dir / "models")
