"""The decode step's shortcuts compute what the plain code computes: fp16-packed matrices, the partial-sort nucleus."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from emsync_core.music import GenerationRequest, SamplingSettings, SceneCondition
from emsync_core.music.checkpoint import CheckpointMeta
from emsync_core.music.generator import Generator
from emsync_core.music.labels import MinMaxScaler
from emsync_core.music.model import PRESETS, Conditions, MusicTransformer
from emsync_core.music.sampling import NUCLEUS_CANDIDATES, nucleus, nucleus_ids
from emsync_core.music.step_linear import exact_gelu, step_linear
from emsync_core.music.vocab import VOCAB
from tests.music.conftest import four_token_prompt

PACKS = hasattr(torch, "fbgemm_pack_gemm_matrix_fp16") and "fbgemm" in torch.backends.quantized.supported_engines


@pytest.fixture(scope="module")
def fp16_generator() -> Generator:
    """A tiny model whose weights are fp16 values, as every loaded checkpoint's are."""
    torch.manual_seed(3)
    model = MusicTransformer(PRESETS["tiny"])
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    meta = CheckpointMeta("tiny-fp16", PRESETS["tiny"], MinMaxScaler(0.0, 10.0), MinMaxScaler(0.0, 10.0))
    return Generator(model, meta, "0" * 64)


def test_step_linear_packs_only_fp16_values():
    torch.manual_seed(0)
    weight, bias, x = torch.randn(48, 32), torch.randn(48), torch.randn(3, 32)
    fn, *_ = step_linear(weight, bias)
    assert fn is F.linear  # fp32 values: packing would round them
    exact = weight.half().float()
    fn, w, b = step_linear(exact, bias)
    assert (fn is not F.linear) == PACKS
    assert torch.allclose(fn(x, w, b), F.linear(x, exact, bias), rtol=1e-6, atol=1e-5)
    fn, w, b = step_linear(exact, None)
    assert torch.allclose(fn(x, w, b), F.linear(x, exact), rtol=1e-6, atol=1e-5)


def test_step_linear_falls_back_without_fbgemm(monkeypatch):
    monkeypatch.delattr(torch, "fbgemm_linear_fp16_weight")  # a future torch that drops the deprecated kernel
    weight = torch.randn(8, 4).half().float()
    assert step_linear(weight, None) == (F.linear, weight, None)


def test_exact_gelu_is_the_erf_gelu_and_leaves_onednn_as_it_was():
    x = torch.linspace(-8.0, 8.0, 20001)
    exact = (x.double() * 0.5 * (1.0 + torch.erf(x.double() / 2**0.5))).float()
    assert torch.allclose(exact_gelu(x), exact, rtol=0.0, atol=1e-6)  # a unit in the last place at most
    assert torch.allclose(exact_gelu(x), F.gelu(x), rtol=0.0, atol=1e-6)
    assert not torch.allclose(F.gelu(x, approximate="tanh"), exact, rtol=0.0, atol=1e-6)
    assert torch._C._get_mkldnn_enabled() == torch.backends.mkldnn.enabled


def test_fp16_weights_cached_loop_matches_full_window(fp16_generator):
    req = GenerationRequest("h", 60.0, (SceneCondition(0.0, 0.5, 0.2),), (2.0,), seed=4, sampling=SamplingSettings(max_tokens=100))
    cached = fp16_generator.generate([req])[0]
    full = fp16_generator.generate([req], kv_cache=False)[0]
    assert cached.midi_bytes == full.midi_bytes
    layers, head, _ = fp16_generator.model._step_weights()
    assert (head[0] is not F.linear) == PACKS


def test_packed_model_copies_and_pickles(fp16_generator):
    model = fp16_generator.model
    toks, cond = four_token_prompt()
    with torch.inference_mode():
        _, cache = model(toks, cond, keep_cache=True)
        want = model.step([7], [0.0], [0.0], [1.0], cache)  # gathers (and packs) the step's weights
    for twin in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert "_gathered" not in twin.__dict__
        with torch.inference_mode():
            _, c = twin(toks, cond, keep_cache=True)
            assert torch.equal(twin.step([7], [0.0], [0.0], [1.0], c), want)


def test_step_follows_in_place_weight_updates(fp16_generator):
    model = copy.deepcopy(fp16_generator.model)
    toks, cond = four_token_prompt()
    with torch.inference_mode():
        _, cache = model(toks, cond, keep_cache=True)
        model.step([7], [0.0], [0.0], [1.0], cache)
    with torch.no_grad():
        model.head.weight.mul_(2.0)  # an optimizer step: in place
    with torch.inference_mode():
        _, c1 = model(toks, cond, keep_cache=True)
        step = model.step([7], [0.0], [0.0], [1.0], c1)
        full, _ = model(torch.cat([toks, torch.tensor([[7]])], 1), Conditions(cond.valence, cond.arousal, torch.zeros(1, 5), torch.zeros(1, 5), torch.tensor([[0.0] * 4 + [1.0]])))
    assert torch.allclose(step, full[:, -1], atol=1e-4)


def test_partial_sort_nucleus_is_the_full_sorts():
    rng = np.random.default_rng(0)
    decided = undecided = 0
    for trial in range(400):
        quantum = (0.5, 0.05, 1e-3)[trial % 3]  # coarse logits: long runs of tied probabilities
        logits = torch.from_numpy(np.round(rng.normal(0, 1 + trial % 7, VOCAB.size) / quantum) * quantum).float()
        probs = torch.softmax(logits, -1)
        top_p = torch.tensor([(0.8, 0.6, 0.95, 1.0)[trial % 4]])
        _, order, n_kept = nucleus(probs.unsqueeze(0), top_p)
        full = np.sort(order[0, : int(n_kept[0])].numpy())
        ids = nucleus_ids(probs.numpy(), np.float32(top_p.item()))
        if ids is None:
            undecided += 1
            ranked = np.sort(probs.numpy())[::-1]
            n = full.size
            assert n >= NUCLEUS_CANDIDATES or ranked[n] == ranked[n - 1]  # only where the partial sort cannot tell
        else:
            decided += 1
            assert np.array_equal(ids, full)
    assert decided > 100 and undecided > 20
