"""Cancel inside a step: a network that sets the flag mid-call makes no further model call."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from studio.engine.cancel import blocks, cancel_points
from studio.engine.diffusion.engine import DiffusionEngine
from studio.engine.gan.engine import GanEngine
from studio.engine.gan.requests import SpadeRequest
from studio.engine.requests import GenerationRequest
from studio.engine.starter.engine import StarterEngine
from studio.errors import Cancelled
from tests.engine.gan.test_gan_engine import _ade_labels, ade_model  # noqa: F401 (fixture)
from tests.engine.starter.test_starter_engine import starter_dir  # noqa: F401 (fixture)
from tests.engine.test_diffusion_engine import request_for


class CallCounter:
    """Counts a network's calls; sets `cancel` inside call number `at` (in its first block)."""

    def __init__(self, network, cancel: threading.Event, at: int) -> None:
        self.calls, self.finished, self.cancel, self.at = 0, 0, cancel, at
        self.handles = [
            network.register_forward_pre_hook(self._start),
            network.register_forward_hook(self._end),
            blocks(network)[1].register_forward_hook(self._inside),
        ]

    def _start(self, *_args) -> None:
        self.calls += 1

    def _inside(self, *_args) -> None:
        if self.calls == self.at:
            self.cancel.set()  # as if Esc came in the middle of this call

    def _end(self, *_args) -> None:
        self.finished += 1

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def test_hooks_raise_before_the_next_block_and_are_removed():
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 2))
    cancel = threading.Event()
    ran = []
    net[2].register_forward_pre_hook(lambda *_a: ran.append("last"))
    net[0].register_forward_hook(lambda *_a: cancel.set())
    with cancel_points(cancel, net), pytest.raises(Cancelled):
        net(torch.zeros(1, 2))
    assert ran == []  # stopped before the last block
    net(torch.zeros(1, 2))  # outside: no hooks left
    assert ran == ["last"]


@pytest.mark.parametrize("sampler, per_step", [("Euler", 1), ("Heun", 2)])
def test_diffusion_stops_inside_the_step(tiny_sd_path, sampler, per_step):
    engine = DiffusionEngine()
    request = request_for(tiny_sd_path, num_inference_steps=6, sampler=sampler)
    engine.run(request, lambda p: None, threading.Event())  # load the model
    unet = engine.cache.get(str(tiny_sd_path), "cpu", "float32").txt2img.unet
    cancel, previews = threading.Event(), []
    at = 2 * per_step + 1  # the first UNet call of step 3 (Heun: its first of two evaluations)
    counter = CallCounter(unet, cancel, at)
    try:
        draft = engine.run(request, previews.append, cancel)
    finally:
        counter.remove()
    assert counter.calls == at and counter.finished == at - 1  # that call never finished
    assert draft is not None and draft.draft and draft.steps_done == 2
    assert np.array_equal(draft.image.shape, (64, 64, 3))
    if sampler == "Euler":  # a mid-step stop still continues exactly from the last step
        assert draft.resume is not None and draft.resume.steps_done == 2


def test_starter_stops_inside_the_step(starter_dir):  # noqa: F811
    engine = StarterEngine()
    request = GenerationRequest(
        model_path=str(starter_dir), prompt="sunset over a lake", num_inference_steps=5,
        guidance_scale=3.0, seed=7, width=48, height=40,
    )  # fmt: skip
    engine.run(request, lambda p: None, threading.Event())
    unet = engine.load(str(starter_dir), "float32").unet
    cancel = threading.Event()
    counter = CallCounter(unet, cancel, at=3)
    try:
        draft = engine.run(request, lambda p: None, cancel)
    finally:
        counter.remove()
    assert counter.calls == 3 and counter.finished == 2
    assert draft is not None and draft.draft and draft.steps_done == 2
    assert draft.image.shape == (40, 48, 3)


def test_spade_stops_inside_its_one_pass(ade_model):  # noqa: F811
    path, _ref = ade_model
    engine = GanEngine()
    request = SpadeRequest(str(path), _ade_labels(), "ade20k")
    engine.run(request, lambda p: None, threading.Event())
    net = next(iter(engine.cache._entries.values()))[0].net
    cancel = threading.Event()
    counter = CallCounter(net, cancel, at=1)
    try:
        assert engine.run(request, lambda p: None, cancel) is None
    finally:
        counter.remove()
    assert counter.calls == 1 and counter.finished == 0
