"""Does the artist ever wait? GUI stalls, cancel, live draft, precision and window layout.

Drives the real window offscreen (QT_QPA_PLATFORM=offscreen, a virtual 1600x1000 screen) with
the real engine and the bundled starters in models/. A 1 ms heartbeat timer on the GUI thread
measures stalls: a stall is the gap between two heartbeats. Prints every figure of the table:

    painting      GUI stall while painting 6 strokes on a 512² label layer, live draft on
    live draft    edit -> draft on screen (median, p95) and drafts shown per second of stroke
    landing       GUI stall when a starter result lands (max over the second after it lands)
    autosave      GUI stall while a 2048² document of 8 layers autosaves
    cancel        Esc -> draft layer on screen, starter diffusion (and its step time)
    precision     an SD-1.5-architecture UNet step (random weights, 512², CFG) and the
                  starter's: float32 vs bfloat16, and what Automatic picks
    layout        canvas share of the window at first start
    launch        process start -> window visible

With `--baseline REV` the same measurements also run on a checkout of REV (a temporary git
worktree), interleaved with the current tree, so before and after come from one run:

    python benchmarks/gui_latency.py --baseline 3d5ed4e
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
PARTS = HERE.with_name("gui_latency_parts.py")
SCREEN = {"width": 1600, "height": 1000}


def child_env(tree: Path, home: Path) -> dict[str, str]:
    config = home / "screen.json"
    screen = {"name": "bench", "x": 0, "y": 0, **SCREEN, "logicalDpi": 96, "logicalBaseDpi": 96}
    config.write_text(json.dumps({"screens": [{**screen, "dpr": 1}]}))
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(tree),
        STUDIO_HOME=str(home),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        QT_QPA_PLATFORM=f"offscreen:configfile={config}",
        STUDIO_BUNDLED_MODELS=str(tree / "models"),
    )
    env.pop("STUDIO_MODELS_PATH", None)
    return env


def run_child(tree: Path, part: str, timeout: float = 2400) -> dict:
    """One measurement in a fresh process importing `studio` from `tree`; its JSON figures."""
    with tempfile.TemporaryDirectory(prefix="gui-latency-") as home:
        env = child_env(tree, Path(home))
        cmd = [sys.executable, str(PARTS), part, repr(time.time())]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout)[-3000:]
        raise RuntimeError(f"{part} on {tree} failed ({done.returncode}):\n{tail}")
    return json.loads(lines[-1][len("RESULT ") :])


ROWS = [
    ("painting", "GUI stall while painting (512², 6 strokes, live draft)", "p99 <= 16, max <= 50"),
    ("draft", "Live SPADE draft: edit -> draft on screen (512²)", "med <= 60, p95 <= 100, >= 10/s"),
    ("landing", "GUI stall when a result lands", "max <= 50 ms"),
    ("autosave", "Autosave of a 2048² document with 8 layers: GUI stall", "max <= 50 ms"),
    ("cancel", "Cancel (Esc) -> draft layer on screen, starter diffusion", "<= one step + 50 ms"),
    ("precision", "Automatic precision (it/s of its pick / fastest)", "within 5 % of the fastest"),
    ("layout", "First start at 1600x1000: canvas share of the window", ">= 55 %"),
    ("launch", "Window visible after launch", "<= 2 s"),
]


def describe(key: str, f: dict) -> str:
    if "error" in f:
        return "failed: " + f["error"].splitlines()[-1][:60]
    if key in ("painting", "landing", "autosave"):
        return f"p99 {f['p99_ms']:.0f} ms, max {f['max_ms']:.0f} ms"
    if key == "draft":
        return (
            f"median {f['median_ms']:.0f} ms, p95 {f['p95_ms']:.0f} ms, "
            f"{f['per_s']:.1f} drafts/s ({f['n']} drafts)"
        )
    if key == "cancel":
        return f"{f['latency_ms']:.0f} ms (step {f['step_ms']:.0f} ms, {f['steps']} steps done)"
    if key == "precision":
        parts = []
        for name, m in f.items():
            fast = max(m["it_s"], key=m["it_s"].get)
            ratio = m["it_s"][m["auto"]] / m["it_s"][fast]
            its = ", ".join(f"{d} {v:.2f} it/s" for d, v in m["it_s"].items())
            parts.append(f"{name}: Automatic={m['auto']} ({ratio:.0%} of {fast}; {its})")
        return "; ".join(parts)
    if key == "layout":
        return f"window {f['window']}, canvas {f['canvas']} = {f['share']:.0%}"
    if key == "launch":
        return f"{f['seconds']:.2f} s"
    return json.dumps(f)


def measure(tree: Path, parts: list[str]) -> dict:
    out = {}
    for part in parts:
        try:
            out.update(run_child(tree, part))
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            keys = {"gui": ["painting", "draft", "landing", "autosave", "cancel", "layout"]}
            for key in keys.get(part, [part]):
                out[key] = {"error": str(exc)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git revision to measure as well (before)")
    parser.add_argument("--skip", nargs="*", default=[], help="parts to skip: gui launch precision")
    parser.add_argument("--json", help="write all figures to this file")
    args = parser.parse_args()
    parts = [p for p in ("gui", "launch", "precision") if p not in args.skip]
    trees = {"now": REPO}
    worktree = None
    if args.baseline:
        worktree = Path(tempfile.mkdtemp(prefix="gui-latency-base-")) / "tree"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree), args.baseline],
            check=True,
            capture_output=True,
        )
        trees = {"before": worktree, "after": REPO}
    results: dict[str, dict] = {name: {} for name in trees}
    try:
        for part in parts:  # interleaved: both trees see the same machine load
            for name, tree in trees.items():
                print(f"measuring {part} on {name} ({tree}) …", file=sys.stderr, flush=True)
                results[name].update(measure(tree, [part]))
    finally:
        if worktree is not None:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)],
                capture_output=True,
            )
    for key, title, goal in ROWS:
        print(f"\n{title}   [goal: {goal}]")
        for name in trees:
            if key in results[name]:
                print(f"  {name:>6}: {describe(key, results[name][key])}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
