import numpy as np
import torch

from emsync_core.enhance.apply import CONTEXT, HOP, enhance_array, enhance_if_band_limited
from emsync_core.enhance.filters import SAMPLE_RATE, FilterSpec
from emsync_core.enhance.model import BandwidthUNet


def _random_model() -> BandwidthUNet:
    torch.manual_seed(0)
    model = BandwidthUNet()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.1)
    return model.eval()


def test_untrained_model_is_the_identity():
    x = torch.randn(2, 4096)
    assert torch.equal(BandwidthUNet()(x), x)


def test_windowed_stream_equals_one_pass_inside_the_signal():
    model = _random_model()
    x = (np.random.default_rng(0).standard_normal((3 * HOP + 1234, 2)) * 0.1).astype(np.float32)
    windowed = enhance_array(model, x)
    n = -(-len(x) // model.config.hop) * model.config.hop
    with torch.inference_mode():
        whole = model(torch.from_numpy(np.pad(x, ((0, n - len(x)), (0, 0))).T.copy())).numpy().T[:len(x)]
    assert windowed.shape == x.shape
    # the ends differ only by how a convolution pads (zeros in the feature maps vs zero samples)
    np.testing.assert_allclose(windowed[CONTEXT:-CONTEXT], whole[CONTEXT:-CONTEXT], atol=1e-5)


def test_passthrough_channel_and_mono_shapes():
    model = _random_model()
    x = (np.random.default_rng(1).standard_normal((5000, 6)) * 0.1).astype(np.float32)
    out = enhance_array(model, x, passthrough=[3])
    np.testing.assert_array_equal(out[:, 3], x[:, 3])
    assert not np.allclose(out[:, 0], x[:, 0])
    assert enhance_array(model, x[:, 0]).shape == (5000,)


def test_score_stage_enhances_only_band_limited_audio():
    noise = (np.random.default_rng(2).standard_normal((3 * SAMPLE_RATE, 2)) * 0.1).astype(np.float32)
    same, outcome = enhance_if_band_limited(noise)
    assert same is noise and not outcome.enhanced and outcome.to_dict()["verdict"] == "full-band"
    limited = FilterSpec("cheby1", 8, 9000.0).apply(noise)
    changed, outcome = enhance_if_band_limited(limited)
    record = outcome.to_dict()
    assert outcome.enhanced and record["verdict"] == "band-limited" and 7000 < record["cutoff_hz"] < 12000
    assert changed.shape == limited.shape and not np.allclose(changed, limited)
    assert np.abs(changed).max() <= 1.0
