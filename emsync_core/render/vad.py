"""Where people speak: Silero VAD v6 (the ONNX model shipped inside faster-whisper), run on 16 kHz mono.

Returns speech spans in seconds; music is ducked under them when mixing under the original audio.
"""

from __future__ import annotations

import numpy as np

VAD_SAMPLE_RATE = 16000


def speech_spans(audio_16k_mono: np.ndarray, *, threshold: float = 0.5, min_silence_ms: int = 300,
                 pad_ms: int = 150) -> list[tuple[float, float]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if len(audio_16k_mono) == 0:
        return []
    opts = VadOptions(threshold=threshold, min_silence_duration_ms=min_silence_ms, speech_pad_ms=pad_ms,
                      min_speech_duration_ms=200)
    stamps = get_speech_timestamps(np.ascontiguousarray(audio_16k_mono, dtype=np.float32), opts, sampling_rate=VAD_SAMPLE_RATE)
    return [(s["start"] / VAD_SAMPLE_RATE, s["end"] / VAD_SAMPLE_RATE) for s in stamps]
