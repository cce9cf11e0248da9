"""Representative blocks to time a model family's precision on: SD-style ResNet + attention."""

from __future__ import annotations

from collections.abc import Callable

TIME_EMBED = 1280  # the SD UNets' time-embedding width


def sd_block(width: int, context: int, side: int = 32) -> Callable[[str], Callable[[], object]]:
    """A ResNet block and a cross-attention transformer block at the UNet's first level.

    width: channels there (320 for SD 1.x/2.x); context: the text encoder's width (768 / 1024 /
    2048); side: the latent side (32: a quarter of a 512² image's tokens, enough to weigh
    attention against convolutions in a second or two). Batch 2, as with CFG.
    """

    def build(dtype_name: str) -> Callable[[], object]:
        import torch
        from diffusers import Transformer2DModel
        from diffusers.models.resnet import ResnetBlock2D

        dtype = getattr(torch, dtype_name)
        generator = torch.Generator().manual_seed(0)
        resnet = ResnetBlock2D(in_channels=width, out_channels=width, temb_channels=TIME_EMBED)
        heads = max(1, width // 64)
        attention = Transformer2DModel(
            num_attention_heads=heads,
            attention_head_dim=width // heads,
            in_channels=width,
            cross_attention_dim=context,
        )
        resnet, attention = resnet.to(dtype).eval(), attention.to(dtype).eval()
        x = torch.randn(2, width, side, side, generator=generator).to(dtype)
        temb = torch.randn(2, TIME_EMBED, generator=generator).to(dtype)
        text = torch.randn(2, 77, context, generator=generator).to(dtype)

        def run() -> object:
            return attention(resnet(x, temb), encoder_hidden_states=text, return_dict=False)

        return run

    return build


# per family (ModelInfo.family): its first level; SDXL's first attention level is 640 wide at
# a 1024² image's 64x64 latents of the second level
PROBES = {
    "sd1": sd_block(320, 768),
    "sd2": sd_block(320, 1024),
    "sdxl": sd_block(640, 2048),
}
