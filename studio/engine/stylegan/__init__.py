"""The StyleGAN family: NVlabs StyleGAN2 / 2-ADA generators read safely and run in pure torch."""
