"""Linear latent->RGB previews and x0 extraction."""

import numpy as np
import pytest

from studio.engine.diffusion.previews import LATENT_RGB_FACTORS, latent_to_rgb, upscale


def test_zero_latent_is_mid_grey():
    rgb = latent_to_rgb(np.zeros((4, 8, 16), np.float32), "sd1")
    assert rgb.shape == (8, 16, 3) and rgb.dtype == np.uint8
    assert np.all(rgb == 127)


def test_factors_are_applied_per_channel():
    latent = np.zeros((4, 2, 2), np.float32)
    latent[3] = 1.0  # SD1 channel 3 pushes towards dark blue-less
    rgb = latent_to_rgb(latent, "sd1").astype(int)
    expected = np.clip((LATENT_RGB_FACTORS["sd1"][0][3] + 1) * 127.5, 0, 255).astype(int)
    assert np.array_equal(rgb[0, 0], expected)


def test_sdxl_has_its_own_bias():
    rgb = latent_to_rgb(np.zeros((4, 1, 1), np.float32), "sdxl")
    assert tuple(rgb[0, 0]) != (127, 127, 127)


def test_wrong_channel_count_is_an_error():
    with pytest.raises(ValueError, match="latent channels"):
        latent_to_rgb(np.zeros((16, 2, 2), np.float32), "sd1")


def test_upscale_to_output_size():
    assert upscale(np.zeros((8, 8, 3), np.uint8), 64, 32).shape == (32, 64, 3)


def test_x0_for_plms_matches_the_definition():
    import torch
    from diffusers import PNDMScheduler

    from studio.engine.diffusion.stream import predicted_x0

    s = PNDMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    x0 = torch.randn(1, 4, 2, 2)
    eps = torch.randn(1, 4, 2, 2)
    t = 500
    a = s.alphas_cumprod[t]
    xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
    got = predicted_x0(s, (xt,), eps, torch.tensor(t), xt)
    assert torch.allclose(got, x0, atol=1e-5)


@pytest.mark.parametrize("family", ["sd3", "flux"])
def test_sixteen_channel_families_have_their_factors_and_bias(family):
    factors, bias = LATENT_RGB_FACTORS[family]
    assert factors.shape == (16, 3)
    grey = latent_to_rgb(np.zeros((16, 1, 1), np.float32), family).astype(int)
    assert np.array_equal(grey[0, 0], np.clip((bias + 1) * 127.5, 0, 255).astype(int))
    latent = np.zeros((16, 1, 1), np.float32)
    latent[15] = 1.0
    rgb = latent_to_rgb(latent, family).astype(int)
    assert np.array_equal(rgb[0, 0], ((factors[15] + bias + 1) * 127.5).astype(int))


def test_flux_unpacking_matches_diffusers():
    import torch
    from diffusers import FluxPipeline

    from studio.engine.diffusion.previews import unpack_flux_latent

    packed = torch.randn(1, (64 // 16) * (96 // 16), 64, generator=torch.Generator().manual_seed(0))
    theirs = FluxPipeline._unpack_latents(packed, 64, 96, 8)[0].numpy()
    ours = unpack_flux_latent(packed[0].numpy(), 64, 96)
    assert ours.shape == (16, 8, 12) and np.array_equal(ours, theirs)
