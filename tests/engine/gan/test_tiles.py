"""Tiles: exact reassembly, no seams on constant input through a real generator, cancel."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from studio.engine.gan.requests import TranslateRequest
from studio.engine.gan.tiles import run_tiled, starts
from studio.engine.gan.translate import LoadedTranslator, translate
from studio.errors import Cancelled
from tests.engine.gan.reference_pix2pix import RefResnetGenerator


def test_tile_origins_cover_the_image_with_overlap():
    assert starts(100, 128, 16) == [0]
    assert starts(300, 128, 32) == [0, 96, 172]
    s = starts(1000, 256, 64)
    assert s[-1] + 256 == 1000 and all(b - a <= 192 for a, b in zip(s, s[1:], strict=False))


def test_pointwise_functions_reassemble_exactly():
    rng = np.random.default_rng(0)
    image = rng.random((203, 317, 3), dtype=np.float32)
    calls = []

    def fn(piece):
        calls.append(piece.shape)
        assert piece.shape[0] % 4 == 0 and piece.shape[1] % 4 == 0
        return np.tanh(piece)

    out = run_tiled(image, fn, tile=64, overlap=16, multiple=4)
    assert len(calls) > 4
    np.testing.assert_allclose(out, np.tanh(image), atol=1e-6)


def _loaded_resnet(norm="instance"):
    torch.manual_seed(0)
    from studio.engine.gan.pix2pix import _modules, load_generator

    net = load_generator(RefResnetGenerator(ngf=4, n_blocks=2, norm=norm).state_dict())
    for m in net.modules():
        if isinstance(m, _modules().BatchStatsNorm):
            m.batch_stats = False  # running statistics: the net is a fixed per-pixel function
    return LoadedTranslator("mem", net, "cpu")


def test_constant_input_has_no_seams_through_a_real_generator():
    loaded = _loaded_resnet("batch")
    image = np.full((300, 420, 3), (90, 140, 200), dtype=np.uint8)
    whole = translate(loaded, TranslateRequest("mem", image, tile=0))
    tiled = translate(loaded, TranslateRequest("mem", image, tile=128))
    assert tiled.shape == (300, 420, 3)
    # A constant image has a constant translation; any tile seam would show up as a step.
    assert np.ptp(tiled.reshape(-1, 3), axis=0).max() <= 1
    assert np.abs(tiled.astype(int) - whole).max() <= 1


def _tile_dependent(piece: np.ndarray) -> np.ndarray:
    """Like a net with per-image statistics: each tile gets its own offset (its mean)."""
    return piece + 4.0 * piece.mean()


def test_tiles_with_their_own_statistics_blend_without_a_step(monkeypatch):
    y, x = np.mgrid[0:192, 0:512].astype(np.float32)
    image = np.repeat((x / 512.0)[:, :, None], 3, axis=2)  # a smooth ramp, step 1/512
    out = run_tiled(image, _tile_dependent, tile=128, overlap=64, multiple=4)
    steps = np.abs(np.diff(out, axis=1)).max()
    offsets = 4.0 * (1.0 - 128 / 512)  # how far the first and last tiles' offsets differ
    # Feathering spreads each tile-to-tile offset change over the 64-pixel overlap.
    assert steps < 1 / 512 + 2 * offsets / 64 / (512 / 64 - 1)
    # The same tiles with a hard (unweighted) average show the step the feathering removes.
    monkeypatch.setattr("studio.engine.gan.tiles.ramp", lambda n, o: np.ones(n))
    hard = run_tiled(image, _tile_dependent, tile=128, overlap=64, multiple=4)
    assert np.abs(np.diff(hard, axis=1)).max() > 3 * steps


def test_cancel_between_tiles():
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        run_tiled(np.zeros((300, 300, 3), np.float32), lambda p: p, 128, 32, 4, cancel)
