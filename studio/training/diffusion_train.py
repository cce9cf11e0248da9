"""`studio train diffusion`: train the starter diffusion on a paired dataset (CPU or GPU).

v-prediction MSE on random crops/flips of the pictures (downsampled to the native size), with
classifier-free dropout of the label map, the whole style and each style attribute, AdamW and
EMA weights (the EMA is what ships). Every step's randomness comes from (seed, step), so a run
is deterministic given its seed and a resumed run continues exactly where it stopped.

Run folder:
    RUN/checkpoints/last.safetensors + last.json   model, EMA, optimizer; step, elapsed, config
    RUN/samples/step_NNNNNN.png                    label map | real | generated | style only
    RUN/model/                                     the EMA as a starter folder (save_starter)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from studio.engine.starter import vocab
from studio.engine.starter.model import StarterConfig
from studio.training.dataset import Pair, PairedDataset
from studio.training.train_common import (
    Log,
    RunClock,
    TrainingError,
    load_state,
    save_state,
)
from studio.training.train_common import write_grid as _write_grid
from studio.units import format_duration


@dataclass(frozen=True)
class DiffusionTrainConfig:
    """Settings of one `studio train diffusion` run."""

    data: str
    out: str
    steps: int | None = None  # stop after this many steps in total
    max_minutes: float | None = None  # or after this many minutes of this invocation
    batch: int = 8
    lr: float = 3e-4
    warmup_steps: int = 200
    weight_decay: float = 0.01
    ema_decay: float = 0.999
    seed: int = 0
    threads: int | None = 1
    device: str = "cpu"
    precision: str = "fp32"  # or "bf16": autocast (fp32 master weights), ~2.5x faster on CPUs
    holdout: int = 200  # the last ids are held out (not trained on); samples show them
    label_drop: float = 0.15  # p(label map -> all zero)
    style_drop: float = 0.15  # p(style -> 0)
    attr_drop: float = 0.3  # p(each style attribute -> unspecified)
    crop_min: float = 0.75  # crop side as a fraction of the short side, uniform in [crop_min, 1]
    checkpoint_every: int = 100  # steps
    sample_every_minutes: float = 10.0
    sample_steps: int = 20
    sample_count: int = 4
    model: StarterConfig = field(default_factory=StarterConfig)
    init: str | None = None  # a starter folder to start from (its weights; fresh optimizer)


def style_of(meta: dict, rng: np.random.Generator, cfg: DiffusionTrainConfig) -> int:
    """The pair's style id after classifier-free dropout (whole style and each attribute)."""
    parts = []
    for key, names in (
        ("time", vocab.TIMES),
        ("weather", vocab.WEATHERS),
        ("season", vocab.SEASONS),
    ):
        value = meta.get(key)
        keep = rng.random() >= cfg.attr_drop
        parts.append(value if value in names and keep else None)
    if rng.random() < cfg.style_drop:
        return 0
    return vocab.style_id(*parts)


def crop_pair(pair: Pair, rng: np.random.Generator, cfg: DiffusionTrainConfig, size: int):
    """A random square crop (side in [crop_min, 1] of the short side), maybe flipped, resized.

    Returns (picture [3,size,size] float in -1..1, one-hot [25,size/ps,size/ps] area fractions).
    """
    import torch
    import torch.nn.functional as F

    h, w = pair.labels.shape
    side = max(1, round(min(h, w) * rng.uniform(cfg.crop_min, 1.0)))
    top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    image = pair.image[top : top + side, left : left + side]
    labels = pair.labels[top : top + side, left : left + side].astype(np.int64)
    if rng.random() < 0.5:
        image, labels = image[:, ::-1], labels[:, ::-1]
    if labels.max(initial=0) >= vocab.LABEL_CHANNELS:
        raise TrainingError(f"{pair.id}: label values above {vocab.LABEL_CHANNELS - 1}.")
    picture = torch.tensor(np.ascontiguousarray(image)).permute(2, 0, 1).float()[None]
    picture = F.interpolate(picture, size=(size, size), mode="area")[0] / 127.5 - 1
    onehot = F.one_hot(torch.from_numpy(np.ascontiguousarray(labels)), vocab.LABEL_CHANNELS)
    small = size // cfg.model.pixel_shuffle
    onehot = F.interpolate(onehot.permute(2, 0, 1).float()[None], size=(small, small), mode="area")
    return picture, onehot[0]


def make_batch(ds: PairedDataset, ids: list[str], step: int, cfg: DiffusionTrainConfig):
    """Step `step`'s batch: (pictures [B,3,N,N], one-hot [B,25,n,n], style ids [B] long)."""
    import torch

    rng = np.random.default_rng([cfg.seed, step])
    chosen = rng.choice(len(ids), size=cfg.batch, replace=len(ids) < cfg.batch)
    pictures, maps, styles = [], [], []
    for index in chosen:
        pair = ds.load(ids[int(index)])
        picture, onehot = crop_pair(pair, rng, cfg, cfg.model.native_size)
        if rng.random() < cfg.label_drop:
            onehot = torch.zeros_like(onehot)
        pictures.append(picture)
        maps.append(onehot)
        styles.append(style_of(pair.meta, rng, cfg))
    return torch.stack(pictures), torch.stack(maps), torch.tensor(styles, dtype=torch.long)


def v_loss(unet, model_cfg: StarterConfig, alphas, batch, generator):
    """v-prediction MSE of one batch at uniformly drawn timesteps (alphas: cumulative, [T])."""
    import torch
    import torch.nn.functional as F

    from studio.engine.starter.sampling import fold

    pictures, maps, styles = batch
    x0 = fold(pictures, model_cfg.pixel_shuffle)
    noise = torch.randn(x0.shape, generator=generator)
    t = torch.randint(0, model_cfg.num_train_timesteps, (x0.shape[0],), generator=generator)
    device = next(unet.parameters()).device
    x0, noise, t, maps, styles = (v.to(device) for v in (x0, noise, t, maps, styles))
    a = alphas.to(device)[t].view(-1, 1, 1, 1)
    x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise
    target = a.sqrt() * noise - (1 - a).sqrt() * x0
    pred = unet(torch.cat([x_t, maps], dim=1), t, class_labels=styles).sample
    return F.mse_loss(pred, target)


def lr_at(step: int, cfg: DiffusionTrainConfig) -> float:
    """Linear warm-up, then constant (the run's length is often a time budget)."""
    return cfg.lr * min(1.0, (step + 1) / max(1, cfg.warmup_steps))


def ema_update(ema, unet, step: int, decay: float) -> None:
    """EMA with warm-up: the decay grows from 0.1 towards `decay` over the first steps."""
    import torch

    d = min(decay, (1 + step) / (10 + step))
    with torch.no_grad():
        for e, p in zip(ema.parameters(), unet.parameters(), strict=True):
            e.lerp_(p.detach(), 1 - d)


def config_dict(cfg: DiffusionTrainConfig) -> dict:
    data = asdict(cfg)
    data["model"] = cfg.model.to_json()
    return data


def save_checkpoint(run: Path, unet, ema, opt, step: int, state: dict) -> None:
    """Model, EMA and AdamW moments as one safetensors file, the rest as JSON (atomic)."""
    save_state(run, {"model": unet, "ema": ema}, {"opt": opt}, step, state)


def load_checkpoint(run: Path, unet, ema, opt) -> dict:
    """Restore what save_checkpoint wrote; returns its JSON (step, elapsed, losses...)."""
    return load_state(run, {"model": unet, "ema": ema}, {"opt": opt})


def sample_grid(ema, cfg: DiffusionTrainConfig, ds: PairedDataset, ids: list[str]) -> np.ndarray:
    """Rows per pair: label colours | real | generated (labels + style) | style only, uint8."""
    import torch

    from studio.engine.starter.model import LoadedStarter
    from studio.engine.starter.sampling import sample
    from studio.training.stats import landscape_colours

    size = cfg.model.native_size
    colours, _ = landscape_colours()
    eval_cfg = DiffusionTrainConfig(
        cfg.data, cfg.out, crop_min=1.0, label_drop=0, style_drop=0, attr_drop=0, model=cfg.model
    )
    rng = np.random.default_rng(0)
    pairs = [ds.load(i) for i in ids]
    crops = [crop_pair(p, np.random.default_rng(0), eval_cfg, size) for p in pairs]
    styles = [style_of(p.meta, rng, eval_cfg) for p in pairs]
    maps = torch.stack([c[1] for c in crops] + [torch.zeros_like(crops[0][1])] * len(pairs))
    device = next(ema.parameters()).device
    loaded = LoadedStarter(ema, cfg.model, Path(cfg.out), str(device), torch.float32)
    ema.eval()
    out = sample(
        loaded, maps, styles * 2, cfg.sample_steps, cfg.model.default_guidance_scale,
        torch.Generator().manual_seed(cfg.seed),
    )  # fmt: skip
    rows = []
    for k, (picture, onehot) in enumerate(crops):
        labels = onehot.argmax(0).numpy()
        labels = np.kron(labels, np.ones((cfg.model.pixel_shuffle,) * 2, np.int64))
        real = ((picture.permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
        rows.append(np.concatenate([colours[labels], real, out[k], out[k + len(pairs)]], axis=1))
    return np.concatenate(rows, axis=0)


def init_weights(unet, cfg: DiffusionTrainConfig) -> None:
    """Copy a starter folder's weights (float32) into `unet`; its config must be cfg.model."""
    from studio.engine.starter.model import load_starter

    loaded = load_starter(cfg.init)  # ModelLoadError in plain words if it is not a starter
    if loaded.cfg != cfg.model:
        raise TrainingError(
            f"{cfg.init} has a different architecture from the one being trained "
            "(train with the same settings, or leave out --init)."
        )
    unet.load_state_dict(loaded.unet.state_dict())


def train(cfg: DiffusionTrainConfig, resume: bool = False, log: Log = print) -> Path:
    """Run (or resume) training; returns the run folder with the EMA starter in RUN/model/."""
    import contextlib
    import copy

    import torch

    from studio.engine.starter.model import build_unet, save_starter
    from studio.engine.starter.sampling import make_scheduler

    if cfg.steps is None and cfg.max_minutes is None:
        raise TrainingError("Give --steps or --max-minutes so the run knows when to stop.")
    if cfg.precision not in ("fp32", "bf16"):
        raise TrainingError(f"Precision must be fp32 or bf16, not {cfg.precision!r}.")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    run = Path(cfg.out)
    ds = PairedDataset(cfg.data)
    train_ids, held_ids = ds.split(cfg.holdout)
    grid_ids = (held_ids or train_ids)[: cfg.sample_count]
    torch.manual_seed(cfg.seed)
    unet = build_unet(cfg.model).to(cfg.device).train()
    if cfg.init and not resume:
        init_weights(unet, cfg)
        log(f"starting from the weights of {cfg.init}")
    ema = copy.deepcopy(unet).requires_grad_(False)
    opt = torch.optim.AdamW(unet.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    state = {"elapsed": 0.0, "losses": [], "config": config_dict(cfg)}
    if resume:
        state.update(load_checkpoint(run, unet, ema, opt))
        log(f"resumed {run} at step {state['step']}")
    step = int(state.get("step", 0))
    alphas = make_scheduler(cfg.model).alphas_cumprod.float()
    autocast = (
        torch.autocast(torch.device(cfg.device).type, dtype=torch.bfloat16)
        if cfg.precision == "bf16"
        else contextlib.nullcontext()
    )
    run.mkdir(parents=True, exist_ok=True)
    log(
        f"training starter diffusion on {len(train_ids)} pairs (holding out {len(held_ids)}), "
        f"{sum(p.numel() for p in unet.parameters()) / 1e6:.2f} M params, batch {cfg.batch}"
    )
    clock, recent = RunClock(cfg, step, state["elapsed"]), []
    while not clock.finished(step):
        batch = make_batch(ds, train_ids, step, cfg)
        generator = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        with autocast:
            loss = v_loss(unet, cfg.model, alphas, batch, generator)
        opt.zero_grad(set_to_none=True)
        loss.float().backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        ema_update(ema, unet, step, cfg.ema_decay)
        step += 1
        recent.append(float(loss.detach()))
        if clock.checkpoint_due(step):
            mean = float(np.mean(recent))
            state["losses"].append([step, round(mean, 5)])
            log(f"{clock.step_text(step)}  loss {mean:.4f}  {clock.timing_text(step)}")
            recent = []
            save_checkpoint(run, unet, ema, opt, step, {**state, "elapsed": clock.elapsed()})
        if clock.grid_due():
            log(f"sample grid: {_write_grid(run, step, sample_grid(ema, cfg, ds, grid_ids))}")
    state["elapsed"] = clock.elapsed()
    save_checkpoint(run, unet, ema, opt, step, state)
    log(f"sample grid: {_write_grid(run, step, sample_grid(ema, cfg, ds, grid_ids))}")
    save_starter(run / "model", ema, cfg.model, card_text="", fp16=True)
    log(
        f"done: {step} steps in {format_duration(state['elapsed'])}; EMA starter in {run / 'model'}"
    )
    return run
