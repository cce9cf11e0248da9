"""`studio data synth`: write synthetic landscape scenes as a paired dataset (resumable)."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

from studio.units import format_duration


def add_commands(commands) -> None:
    """Register `data` (with `synth`) on the `studio` subparsers."""
    data = commands.add_parser("data", help="make datasets for training")
    actions = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    synth = actions.add_parser(
        "synth", help="procedural landscape scenes: picture, label map and style per scene"
    )
    synth.add_argument("--count", type=int, required=True, help="number of scenes")
    synth.add_argument("--out", type=Path, required=True, help="dataset folder")
    synth.add_argument("--size", type=int, default=256, help="side in px (default 256, min 64)")
    synth.add_argument("--seed", type=int, default=0, help="scene i uses seed + i (default 0)")
    synth.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    synth.add_argument("--quiet", action="store_true", help="no progress on stderr")
    stats = actions.add_parser("stats", help="class pixel shares of a dataset (+ contact sheet)")
    stats.add_argument("dir", type=Path, help="dataset folder")
    stats.add_argument("--sheet", type=Path, help="also write a contact sheet PNG here")
    stats.add_argument("--sheet-count", type=int, default=48, help="pairs on the sheet")


def handles(args: argparse.Namespace) -> bool:
    return getattr(args, "command", None) == "data"


def _fail(message: str) -> int:
    print(f"studio: error: {message}", file=sys.stderr)
    return 2


def _done_ids(root: Path) -> set[str]:
    """Ids whose meta file exists: it is written last, so the pair before it is complete."""
    meta = root / "meta"
    if not meta.is_dir():
        return set()
    return {p.stem for p in meta.glob("*.json")}


def _render_one(job: tuple[str, int, int, str]) -> str:
    pair_id, seed, size, root = job
    from studio.training.dataset import DatasetWriter
    from studio.training.synth import render_scene

    image, labels, meta = render_scene(seed, size)
    DatasetWriter(root).write(pair_id, image, labels, meta)
    return pair_id


def run(args: argparse.Namespace) -> int:
    if args.data_command == "stats":
        return stats(args)
    return synth(args)


def stats(args: argparse.Namespace) -> int:
    """Print the per-class pixel share table; optionally write a contact sheet."""
    from PIL import Image

    from studio.training.dataset import DatasetError, PairedDataset
    from studio.training.stats import class_shares, contact_sheet, landscape_colours, share_table

    try:
        ds = PairedDataset(args.dir)
        colours, names = landscape_colours()
        if ds.label_set != "landscape":
            names = {}
        last = [time.monotonic()]

        def progress(n: int, total: int) -> None:
            if time.monotonic() - last[0] >= 2.0:
                last[0] = time.monotonic()
                print(f"stats: {n}/{total} label maps read", file=sys.stderr)

        pixels, present, count = class_shares(ds, progress=progress)
        print(f"{count} pairs in {args.dir}")
        print(share_table(pixels, present, names))
        if args.sheet:
            step = max(1, len(ds) // max(1, args.sheet_count))
            ids = ds.ids[::step][: args.sheet_count]
            Image.fromarray(contact_sheet(ds, ids, colours)).save(args.sheet)
            print(f"contact sheet of {len(ids)} pairs: {args.sheet}", file=sys.stderr)
    except DatasetError as exc:
        return _fail(exc.message)
    return 0


def synth(args: argparse.Namespace) -> int:
    """Render --count scenes into --out, skipping ids already there."""
    from studio.training.dataset import DatasetWriter
    from studio.training.synth import GENERATOR, GENERATOR_VERSION

    if args.count < 1:
        return _fail("--count must be at least 1")
    if args.size < 64:
        return _fail("--size must be at least 64 px")
    root: Path = args.out
    info = {
        "generator": GENERATOR,
        "generator_version": GENERATOR_VERSION,
        "seed": args.seed,
        "size": args.size,
    }
    info_path = root / "dataset.json"
    if info_path.exists():
        try:
            old = json.loads(info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        clash = [k for k, v in info.items() if k in old and old[k] != v]
        if clash:
            return _fail(
                f"{root} holds scenes made with other settings ({', '.join(clash)}); "
                "choose another --out folder or the same settings to resume"
            )
    try:
        writer = DatasetWriter(root, **info, requested=args.count)
    except OSError as exc:
        return _fail(f"cannot write to {root}: {exc}")
    done = _done_ids(root)
    jobs = [
        (f"{i:06d}", args.seed + i, args.size, str(root))
        for i in range(args.count)
        if f"{i:06d}" not in done
    ]
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
    skipped = args.count - len(jobs)
    if skipped:
        say(f"synth: {skipped} of {args.count} scenes already in {root}, making the rest")
    start = last = time.monotonic()
    made = 0
    workers = max(1, int(args.workers))
    if workers == 1 or len(jobs) < 2:
        results = map(_render_one, jobs)
        pool = None
    else:
        pool = multiprocessing.get_context("spawn").Pool(workers)
        results = pool.imap(_render_one, jobs, chunksize=8)
    try:
        for _ in results:
            made += 1
            now = time.monotonic()
            if now - last >= 2.0 or made == len(jobs):
                last = now
                rate = made / max(now - start, 1e-9)
                total = skipped + made
                say(
                    f"synth: {total}/{args.count} scenes ({100 * total / args.count:.1f}%), "
                    f"{rate:.1f} scenes/s, ETA {format_duration((len(jobs) - made) / rate)}"
                )
    except KeyboardInterrupt:
        say(f"synth: stopped after {skipped + made} scenes; run the same command to resume")
        return 130
    except OSError as exc:
        return _fail(f"writing scenes into {root} failed: {exc}")
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    elapsed = time.monotonic() - start
    path = writer.finish()
    say(f"synth: wrote {made} scenes in {elapsed:.1f} s to {root} ({path.name} updated)")
    return 0
