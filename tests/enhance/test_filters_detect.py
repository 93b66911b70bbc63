import numpy as np
import pytest

from emsync_core.enhance.detect import detect_band_limit
from emsync_core.enhance.filters import SAMPLE_RATE, TEST_FILTERS, TRAIN_ORDERS, FilterSpec, random_filter
from emsync_core.enhance.metrics import band_snr_db, log_spectral_distance, snr_db
from emsync_core.enhance.spectral_copy import spectral_copy


def _noise(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * SAMPLE_RATE)) * 0.1).astype(np.float32)


def _band_power_db(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    return 10 * np.log10(spec[(freqs >= lo) & (freqs < hi)].mean() + 1e-30)


@pytest.mark.parametrize("spec", [*TEST_FILTERS, *(FilterSpec(f, o, 9000.0) for f, orders in TRAIN_ORDERS.items() for o in orders)],
                         ids=lambda s: s.label)
def test_every_filter_is_a_low_pass(spec):
    x = _noise()
    y = spec.apply(x)
    passband = _band_power_db(y, 500, 0.5 * spec.cutoff_hz) - _band_power_db(x, 500, 0.5 * spec.cutoff_hz)
    stopband = _band_power_db(y, 1.8 * spec.cutoff_hz, 21000) - _band_power_db(x, 1.8 * spec.cutoff_hz, 21000)
    assert abs(passband) < 1.5
    assert stopband < -25


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="unknown filter family"):
        FilterSpec("chebyshev-3", 4, 8000.0).sos()


def test_random_filters_cover_the_families():
    rng = np.random.default_rng(0)
    drawn = {random_filter(rng).family for _ in range(200)}
    assert drawn == {"cheby1", "bessel", "ellip"}


def test_random_filters_do_not_favour_a_lowered_passband():
    """About half the draws sit at unity at DC, so the model has no reason to raise every passband."""
    from scipy import signal

    rng = np.random.default_rng(0)
    dc_db = [20 * np.log10(abs(signal.sosfreqz(random_filter(rng).sos(), worN=[0.0])[1][0])) for _ in range(400)]
    lowered = np.mean(np.array(dc_db) < -0.5)
    assert 0.35 < lowered < 0.65


def test_detector_finds_the_band_limit_and_leaves_full_band_alone():
    x = _noise(4.0)
    assert detect_band_limit(x).verdict == "full-band"
    found = detect_band_limit(FilterSpec("butter", 8, 9000.0).apply(x))
    assert found.verdict == "band-limited" and found.restorable
    assert 9000 * 0.85 < found.cutoff_hz < 9000 * 1.4
    low = detect_band_limit(FilterSpec("cheby1", 8, 3400.0).apply(x))  # telephone: outside what the model restores
    assert low.verdict == "band-limited" and not low.restorable


def test_detector_on_silence_and_short_audio():
    assert detect_band_limit(np.zeros(SAMPLE_RATE, dtype=np.float32)).verdict == "silent"
    assert detect_band_limit(_noise(0.05)).verdict == "too-short"


def test_metrics_and_spectral_copy():
    x = _noise(2.0)
    y = FilterSpec("cheby1", 8, 8000.0).apply(x)
    assert snr_db(x, x) > 100 and snr_db(x, y) < snr_db(x, 0.99 * x)
    assert log_spectral_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    copied = spectral_copy(y, 8000.0)
    assert len(copied) == len(y)
    assert _band_power_db(copied, 9000, 14000) > _band_power_db(y, 9000, 14000) + 20
    assert log_spectral_distance(x, copied) < log_spectral_distance(x, y)


def test_high_band_snr_ignores_the_passband():
    x = _noise(2.0)
    low = FilterSpec("butter", 8, 8000.0).apply(x)
    assert band_snr_db(x, low, 10000.0, SAMPLE_RATE) == pytest.approx(0.0, abs=0.5)  # nothing above the cut-off: 0 dB
    assert band_snr_db(x, x + (low - x) * 0.1, 10000.0, SAMPLE_RATE) == pytest.approx(20.0, abs=0.5)
    halved_passband = 0.5 * low + (x - low)
    assert snr_db(x, halved_passband) < 12 and band_snr_db(x, halved_passband, 12000.0, SAMPLE_RATE) > 30
