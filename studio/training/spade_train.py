"""`studio train spade`: train the starter SPADE (label map -> picture GAN) on a paired dataset.

Generator: `spade.starter_arch()` (the NVlabs layout at starter widths, so the GAN engine loads
what this writes). Discriminator: multi-scale PatchGAN with spectral norm (spade_disc). Losses:
hinge GAN + feature matching + L1 to the real picture, the L1 weight falling linearly from
`l1_start` to `l1_end` over `l1_steps` (on a short budget it is what carries the colours).
Adam with TTUR (the discriminator learns faster). Every step's batch comes from (seed, step)
and all randomness of the networks lives in their state, so a run is deterministic given its
seed (and thread count) and a resumed run continues exactly.

Run folder:
    RUN/checkpoints/last.safetensors + last.json   G, D, both optimizers; step, elapsed, losses
    RUN/samples/step_NNNNNN.png                    rows: label colours | real | generated
    RUN/model/starter-spade.safetensors + .json    the generator (fp16) and its sidecar
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from studio.engine.starter.vocab import LABEL_CHANNELS
from studio.training.dataset import Pair, PairedDataset
from studio.training.train_common import (
    Log,
    RunClock,
    TrainingError,
    load_state,
    save_state,
    write_grid,
)
from studio.units import format_duration

MODEL_NAME = "starter-spade"


@dataclass(frozen=True)
class SpadeTrainConfig:
    """Settings of one `studio train spade` run."""

    data: str
    out: str
    size: int = 128  # pictures are resized to size x size first (area / nearest for labels)
    crop: int = 128  # then a random crop x crop square (a multiple of 32), maybe flipped
    steps: int | None = None  # stop after this many steps in total
    max_minutes: float | None = None  # or after this many minutes of this invocation
    batch: int = 4
    lr_g: float = 1e-4  # TTUR: the discriminator learns 4x faster
    lr_d: float = 4e-4
    betas: tuple[float, float] = (0.0, 0.9)
    fm_weight: float = 10.0
    l1_start: float = 20.0
    l1_end: float = 5.0
    l1_steps: int = 3000
    disc_width: int = 32
    disc_scales: int = 2
    widths: tuple[int, ...] | None = None  # generator widths; None: the starter's
    hidden: int | None = None  # SPADE MLP width; None: the starter's
    seed: int = 0
    threads: int | None = 1
    device: str = "cpu"
    holdout: int = 200  # the last ids are not trained on; the sample grids show them
    checkpoint_every: int = 200  # steps
    sample_every_minutes: float = 5.0
    sample_count: int = 4
    only: tuple[str, ...] = ()  # "key=v1,v2" filters on the pairs' meta (e.g. "time=day")


def generator_arch(cfg: SpadeTrainConfig):
    """The generator's SpadeArch for these settings (the starter's unless widths are given)."""
    from studio.engine.gan.spade import STARTER_HIDDEN, STARTER_WIDTHS, custom_arch

    return custom_arch(LABEL_CHANNELS, cfg.widths or STARTER_WIDTHS, cfg.hidden or STARTER_HIDDEN)


def l1_weight(step: int, cfg: SpadeTrainConfig) -> float:
    """Linear from l1_start to l1_end over the first l1_steps, then l1_end."""
    t = min(1.0, step / max(1, cfg.l1_steps))
    return cfg.l1_start + (cfg.l1_end - cfg.l1_start) * t


def prepare_pair(pair: Pair, rng: np.random.Generator | None, cfg: SpadeTrainConfig):
    """(picture [3,crop,crop] in -1..1, one-hot [25,crop,crop]); rng None: centre, no flip.

    Label value 0 (unlabeled) is an all-zero one-hot column, as the GAN engine feeds it.
    """
    import torch
    import torch.nn.functional as F
    from PIL import Image

    if pair.labels.max(initial=0) >= LABEL_CHANNELS:
        raise TrainingError(f"{pair.id}: label values above {LABEL_CHANNELS - 1}.")
    image = Image.fromarray(pair.image).resize((cfg.size, cfg.size), Image.Resampling.BOX)
    labels = Image.fromarray(pair.labels.astype(np.uint8)).resize(
        (cfg.size, cfg.size), Image.Resampling.NEAREST
    )
    image, labels = np.asarray(image), np.asarray(labels).astype(np.int64)
    c = cfg.crop
    if rng is None:
        top = left = (cfg.size - c) // 2
        flip = False
    else:
        top, left = (int(rng.integers(0, cfg.size - c + 1)) for _ in range(2))
        flip = rng.random() < 0.5
    image, labels = image[top : top + c, left : left + c], labels[top : top + c, left : left + c]
    if flip:
        image, labels = image[:, ::-1], labels[:, ::-1]
    picture = torch.tensor(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 127.5 - 1
    onehot = F.one_hot(torch.from_numpy(np.ascontiguousarray(labels)), LABEL_CHANNELS)
    onehot = onehot.permute(2, 0, 1).float()
    onehot[0] = 0  # unlabeled
    return picture, onehot


def make_batch(ds: PairedDataset, ids: list[str], step: int, cfg: SpadeTrainConfig):
    """Step `step`'s batch: (pictures [B,3,c,c], one-hot [B,25,c,c])."""
    import torch

    rng = np.random.default_rng([cfg.seed, step])
    chosen = rng.choice(len(ids), size=cfg.batch, replace=len(ids) < cfg.batch)
    pairs = [prepare_pair(ds.load(ids[int(i)]), rng, cfg) for i in chosen]
    return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])


def parse_only(rules: tuple[str, ...]) -> dict[str, set[str]]:
    """{"time": {"day"}, ...} from ("time=day", "weather=clear,cloudy"); TrainingError if bad."""
    wanted: dict[str, set[str]] = {}
    for rule in rules:
        key, sep, values = rule.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise TrainingError(f"--only wants KEY=VALUE[,VALUE…] (e.g. time=day), not {rule!r}.")
        wanted.setdefault(key.strip(), set()).update(v.strip() for v in values.split(","))
    return wanted


def select_ids(ds: PairedDataset, ids: list[str], rules: tuple[str, ...]) -> list[str]:
    """The ids whose meta matches every --only rule (all of them when there are none)."""
    wanted = parse_only(rules)
    if not wanted:
        return ids
    return [i for i in ids if all(str(ds.meta(i).get(k)) in vals for k, vals in wanted.items())]


def _check(cfg: SpadeTrainConfig) -> None:
    if cfg.steps is None and cfg.max_minutes is None:
        raise TrainingError("Give --steps or --max-minutes so the run knows when to stop.")
    if cfg.crop % 32 or not 32 <= cfg.crop <= cfg.size:
        raise TrainingError(
            f"--crop must be a multiple of 32 between 32 and --size ({cfg.size}), not {cfg.crop}."
        )
    if cfg.batch < 2:
        raise TrainingError("--batch must be at least 2 (the generator uses batch norm).")


def gan_step(g, d, opt_g, opt_d, batch, step: int, cfg: SpadeTrainConfig) -> dict[str, float]:
    """One generator update then one discriminator update on the same fakes; the losses."""
    import torch

    from studio.training.spade_disc import feature_matching, hinge_d, hinge_g

    real, seg = (t.to(cfg.device) for t in batch)
    fake = g(seg)
    pred_fake = d(torch.cat([seg, fake], 1))
    with torch.no_grad():
        pred_real = d(torch.cat([seg, real], 1))
    loss_gan = hinge_g(pred_fake)
    loss_fm = feature_matching(pred_fake, pred_real)
    loss_l1 = (fake - real).abs().mean()
    loss_g = loss_gan + cfg.fm_weight * loss_fm + l1_weight(step, cfg) * loss_l1
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    pred_fake = d(torch.cat([seg, fake.detach()], 1))
    pred_real = d(torch.cat([seg, real], 1))
    loss_d = hinge_d(pred_real, pred_fake)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    return {
        "g_gan": loss_gan.item(),
        "fm": loss_fm.item(),
        "l1": loss_l1.item(),
        "d": loss_d.item(),
    }


def sample_grid(g, cfg: SpadeTrainConfig, ds: PairedDataset, ids: list[str]) -> np.ndarray:
    """Rows per held-out pair: label colours | real | generated (eval mode, as it ships)."""
    import torch

    from studio.training.stats import landscape_colours

    colours, _ = landscape_colours()
    centre = SpadeTrainConfig(cfg.data, cfg.out, size=cfg.size, crop=cfg.size)
    pairs = [prepare_pair(ds.load(i), None, centre) for i in ids]
    was_training = g.training
    g.eval()
    with torch.no_grad():
        fakes = g(torch.stack([p[1] for p in pairs]).to(cfg.device)).cpu()
    g.train(was_training)

    def to_u8(x):
        return ((x.permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255).round().astype(np.uint8)

    rows = []
    for (picture, onehot), fake in zip(pairs, fakes, strict=True):
        labels = np.where(onehot.sum(0).numpy() > 0, onehot.argmax(0).numpy(), 0)
        rows.append(np.concatenate([colours[labels], to_u8(picture), to_u8(fake)], axis=1))
    return np.concatenate(rows, axis=0)


def export_generator(g, folder: Path, info: dict) -> Path:
    """The generator as fp16 safetensors + the sidecar the GAN engine and registry read."""
    import json

    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{MODEL_NAME}.safetensors"
    tensors = {
        k: v.detach().cpu().half().contiguous()
        for k, v in g.state_dict().items()
        if v.is_floating_point()  # BatchNorm counters are left out (the loader adds them)
    }
    save_file(tensors, str(path), metadata={"format": "pt", "studio": "starter-spade"})
    sidecar = {
        "label_set": "landscape",
        "label_nc": LABEL_CHANNELS,
        "contain_dontcare_label": False,
        "no_instance": True,
        "num_upsampling_layers": "normal",
        "starter": True,
        "native_size": 256,
        **info,
    }
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=1), encoding="utf-8")
    return path


def train(cfg: SpadeTrainConfig, resume: bool = False, log: Log = print) -> Path:
    """Run (or resume) training; returns the run folder (generator in RUN/model/)."""
    import torch

    from studio.engine.gan.spade import build_generator
    from studio.training.spade_disc import build_discriminator

    _check(cfg)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    run = Path(cfg.out)
    ds = PairedDataset(cfg.data)
    train_ids, held_ids = ds.split(cfg.holdout)
    train_ids, held_ids = select_ids(ds, train_ids, cfg.only), select_ids(ds, held_ids, cfg.only)
    if not train_ids:
        raise TrainingError(f"No training pairs match {' '.join(cfg.only)}.")
    grid_ids = (held_ids or train_ids)[: cfg.sample_count]
    torch.manual_seed(cfg.seed)
    g = build_generator(generator_arch(cfg)).to(cfg.device).train()
    d = build_discriminator(3 + LABEL_CHANNELS, cfg.disc_width, cfg.disc_scales).to(cfg.device)
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr_g, betas=cfg.betas)
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr_d, betas=cfg.betas)
    nets, opts = {"g": g, "d": d}, {"opt_g": opt_g, "opt_d": opt_d}
    state: dict = {"elapsed": 0.0, "losses": [], "config": asdict(cfg)}
    if resume:
        state.update(load_state(run, nets, opts))
        state["config"] = asdict(cfg)
        log(f"resumed {run} at step {state['step']}")
    step = int(state.get("step", 0))
    run.mkdir(parents=True, exist_ok=True)
    log(
        f"training starter SPADE on {len(train_ids)} pairs (holding out {len(held_ids)}), "
        f"G {sum(p.numel() for p in g.parameters()) / 1e6:.2f} M params, "
        f"D {sum(p.numel() for p in d.parameters()) / 1e6:.2f} M, batch {cfg.batch}, "
        f"{cfg.crop}² crops of {cfg.size}²" + (f", only {' '.join(cfg.only)}" if cfg.only else "")
    )
    clock, recent = RunClock(cfg, step, state["elapsed"]), []
    while not clock.finished(step):
        recent.append(gan_step(g, d, opt_g, opt_d, make_batch(ds, train_ids, step, cfg), step, cfg))
        step += 1
        if clock.checkpoint_due(step):
            mean = {k: round(float(np.mean([r[k] for r in recent])), 4) for k in recent[0]}
            state["losses"].append([step, mean])
            losses = "  ".join(f"{k} {v:.3f}" for k, v in mean.items())
            log(
                f"{clock.step_text(step)}  {losses}  l1w {l1_weight(step, cfg):.1f}  "
                f"{clock.timing_text(step)}"
            )
            recent = []
            save_state(run, nets, opts, step, {**state, "elapsed": clock.elapsed()})
        if clock.grid_due():
            log(f"sample grid: {write_grid(run, step, sample_grid(g, cfg, ds, grid_ids))}")
    state["elapsed"] = clock.elapsed()
    save_state(run, nets, opts, step, state)
    log(f"sample grid: {write_grid(run, step, sample_grid(g, cfg, ds, grid_ids))}")
    info = {"trained_steps": step, "trained_seconds": round(state["elapsed"]), "seed": cfg.seed}
    if cfg.only:
        info["trained_on"] = list(cfg.only)
    path = export_generator(g.eval(), run / "model", info)
    log(f"done: {step} steps in {format_duration(state['elapsed'])}; generator in {path}")
    return run
