"""The measurements of benchmarks/gui_latency.py, each run in a fresh process on one tree.

`python benchmarks/gui_latency_parts.py PART T0` with PYTHONPATH at the tree to measure prints
one line `RESULT {json}`. Only the app's public surface is used (build_window, the window's
document, canvas, session, worker, live draft and autosaver), so an older tree runs it too.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import numpy as np


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


class Heartbeat:
    """A 1 ms timer on the GUI thread; the gaps between its ticks are the GUI's stalls."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))
        self.timer.start(1)

    def gaps(self, start: float, end: float) -> list[float]:
        """Gaps (ms) of the heartbeat that overlap [start, end]."""
        t = np.asarray(self.ticks)
        i = np.nonzero((t[1:] >= start) & (t[:-1] <= end))[0]
        return list((t[i + 1] - t[i]) * 1000)

    def figures(self, start: float, end: float) -> dict:
        gaps = self.gaps(start, end)
        return {"p99_ms": pct(gaps, 99), "max_ms": max(gaps, default=0.0), "n": len(gaps)}


def wait(app, condition, timeout: float) -> bool:
    """Run the event loop until `condition()` (checked every 2 ms) or `timeout` seconds.

    The loop sleeps in Qt between checks, as the app's does: a Python busy-wait would hold the
    GIL and slow the generation thread down."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    if condition():
        return True
    loop = QEventLoop()
    deadline = time.perf_counter() + timeout
    check = QTimer()
    check.setTimerType(Qt.TimerType.PreciseTimer)
    check.timeout.connect(lambda: (condition() or time.perf_counter() > deadline) and loop.quit())
    check.start(2)
    loop.exec()
    check.stop()
    return condition()


def run_for(app, seconds: float) -> None:
    wait(app, lambda: False, seconds)


# ---- the window ------------------------------------------------------------------------------
def make_window():
    from PySide6.QtWidgets import QApplication

    from studio.app.main import build_window

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("Studio")
    window = build_window()
    window.show()
    window.activateWindow()
    return app, window


def layout_figures(app, window) -> dict:
    run_for(app, 0.5)
    frame = window.frameGeometry()
    canvas = window.canvas
    share = canvas.width() * canvas.height() / max(1, frame.width() * frame.height())
    return {
        "window": f"{frame.width()}x{frame.height()}",
        "canvas": f"{canvas.width()}x{canvas.height()}",
        "share": share,
    }


def send_mouse(widget, kind, pos) -> None:
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    types = {
        "press": QEvent.Type.MouseButtonPress,
        "move": QEvent.Type.MouseMove,
        "release": QEvent.Type.MouseButtonRelease,
    }
    left = Qt.MouseButton.LeftButton
    button = Qt.MouseButton.NoButton if kind == "move" else left
    buttons = Qt.MouseButton.NoButton if kind == "release" else left
    local = QPointF(pos)
    none = Qt.KeyboardModifier.NoModifier
    event = QMouseEvent(types[kind], local, widget.mapToGlobal(local), button, buttons, none)
    QApplication.sendEvent(widget, event)


def stroke_points(index: int, n: int = 60) -> list[tuple[float, float]]:
    """A wavy horizontal stroke across a 512² canvas, a different height for each stroke."""
    y0 = 60 + index * 70
    return [(40 + 430 * k / (n - 1), y0 + 25 * np.sin(k / 6)) for k in range(n)]


def paint_strokes(app, window, beat: Heartbeat, strokes: int, draft: dict) -> list[tuple]:
    """Drive `strokes` strokes at 120 events/s; returns (start, end) of each stroke."""
    from PySide6.QtCore import QPointF

    canvas = window.canvas
    spans = []
    for s in range(strokes):
        window.tool_settings.label_value = 1 + s % 6
        points = [canvas.to_widget(QPointF(x, y)) for x, y in stroke_points(s)]
        start = time.perf_counter()
        draft["stroke"] = True
        send_mouse(canvas, "press", points[0])
        for k, p in enumerate(points[1:], 1):
            target = start + k / 120
            wait(app, lambda t=target: time.perf_counter() >= t, 1.0)
            draft["edits"].append(time.perf_counter())
            send_mouse(canvas, "move", p)
        send_mouse(canvas, "release", points[-1])
        end = time.perf_counter()
        draft["stroke"] = False
        spans.append((start, end))
        run_for(app, 0.4)
    return spans


def the_worker(window):
    """The generation worker (window.controllers.worker; before the job queue, the session's)."""
    controllers = getattr(window, "controllers", None)
    return controllers.worker if controllers is not None else window.session.worker


def watch_drafts(window) -> dict:
    """Submit and show times of the live draft's jobs, matched by job id."""
    draft = {"edits": [], "submitted": {}, "shown": [], "pending": 0, "stroke": False}
    worker = the_worker(window)

    def queued(job_id: int) -> None:
        job = next((j for j in worker.jobs() if j.id == job_id), None)
        if job is not None and job.channel:
            draft["submitted"][job_id] = time.perf_counter()

    def shown(_seconds: float) -> None:
        draft["pending"] += 1

    def finished(job_id: int, _result) -> None:
        if draft["pending"] and job_id in draft["submitted"]:
            draft["pending"] = 0
            draft["shown"].append((draft["submitted"][job_id], time.perf_counter()))

    worker.job_queued.connect(queued)
    window.live_draft.draft_shown.connect(shown)
    worker.job_finished.connect(finished)
    return draft


def draft_figures(draft: dict, spans: list[tuple]) -> dict:
    """Per edit: time until the first draft submitted after it is on screen."""
    shown = sorted(draft["shown"])
    latencies = []
    for edit in draft["edits"]:
        after = [s for sub, s in shown if sub >= edit]
        if after:
            latencies.append((min(after) - edit) * 1000)
    during = sum(1 for _sub, s in shown if any(a <= s <= b for a, b in spans))
    seconds = sum(b - a for a, b in spans)
    return {
        "median_ms": statistics.median(latencies) if latencies else float("nan"),
        "p95_ms": pct(latencies, 95),
        "per_s": during / seconds if seconds else 0.0,
        "n": len(shown),
    }


def painting(app, window, beat: Heartbeat) -> dict:
    from PySide6.QtCore import QPointF

    doc = window.document
    doc.add_label_layer()
    window.set_tool("brush")
    window.canvas.fit()
    live = window.live_draft
    if not (live.enabled and live.model_path):
        raise RuntimeError("the live draft is off or has no SPADE model")
    draft = watch_drafts(window)
    # warm up: the first draft loads the model
    paint_strokes(app, window, beat, 1, draft)
    wait(app, lambda: draft["shown"], 60)
    run_for(app, 1.0)
    draft.update(edits=[], shown=[], submitted={})
    spans = paint_strokes(app, window, beat, 6, draft)
    run_for(app, 1.0)
    gaps = [g for a, b in spans for g in beat.gaps(a, b)]
    paint = {"p99_ms": pct(gaps, 99), "max_ms": max(gaps, default=0.0), "n": len(gaps)}
    del QPointF
    return {"painting": paint, "draft": draft_figures(draft, spans)}


def start_generation(window, steps: int) -> None:
    from studio.resources import BUNDLED_MODELS

    s = window.session.settings
    s.model_path = str(BUNDLED_MODELS / "starter-diffusion")
    s.prompt, s.steps, s.seed = "a lake under mountains", steps, 3
    s.random_seed, s.mode = False, "prompt"
    window.prompt_panel.load(s)
    window.prompt_panel.set_mode("prompt")
    window.generate()


def landing(app, window, beat: Heartbeat) -> dict:
    landed: list[float] = []
    window.session.result_added.connect(lambda _id: landed.append(time.perf_counter()))
    wait(app, lambda: not the_worker(window).is_busy(), 300)  # the last live draft
    start_generation(window, 20)
    if not wait(app, lambda: landed, 600):
        raise RuntimeError("no result landed within 600 s")
    run_for(app, 1.2)
    return {"landing": beat.figures(landed[0], landed[0] + 1.0)}


def cancel(app, window, beat: Heartbeat) -> dict:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    landed: list[float] = []
    steps: list[tuple[float, int]] = []
    window.session.result_added.connect(lambda _id: landed.append(time.perf_counter()))
    window.session.progress_changed.connect(
        lambda p: p is not None and p.step and steps.append((time.perf_counter(), p.step))
    )
    idle = lambda: not the_worker(window).is_busy()  # noqa: E731
    if not wait(app, idle, 300):  # a late result of the last section must not count here
        raise RuntimeError("the worker is still busy with the last section")
    landed.clear()
    start_generation(window, 200)
    if not wait(app, lambda: len(steps) >= 8, 120):
        raise RuntimeError("the run showed no steps")
    window.canvas.setFocus()
    pressed = time.perf_counter()
    QTest.keyClick(window.canvas, Qt.Key.Key_Escape)
    if not wait(app, lambda: landed, 0.5):
        window.actions["cancel"].trigger()  # the shortcut did not reach the window
    if not wait(app, lambda: landed, 60):
        raise RuntimeError("no draft landed after cancel")
    times = [t for t, _ in steps]
    per_preview = statistics.median(np.diff([n for _, n in steps]))
    step = statistics.median(np.diff(times)) / max(1, per_preview)
    return {
        "cancel": {
            "latency_ms": (landed[0] - pressed) * 1000,
            "step_ms": step * 1000,
            "steps": steps[-1][1],
        }
    }


def autosave(app, window, beat: Heartbeat) -> dict:
    from studio.document.layers import Layer

    size = 2048
    yy, xx = np.mgrid[0:size, 0:size]
    rng = np.random.default_rng(0)
    layers = []
    for i in range(8):
        rgba = np.empty((size, size, 4), np.uint8)
        rgba[..., 0] = (xx * (i + 1) // 16) % 256
        rgba[..., 1] = (yy // (i + 2)) % 256
        rgba[..., 2] = rng.integers(0, 24, (size, size), dtype=np.uint8) + 100
        rgba[..., 3] = 255
        layers.append(Layer(f"Layer {i + 1}", rgba))
    window.document.reset(size, size, layers)
    run_for(app, 1.0)
    saved: list[float] = []
    window.autosaver.saved.connect(lambda _path: saved.append(time.perf_counter()))
    start = time.perf_counter()
    window.autosaver.save_now()
    if not wait(app, lambda: saved, 120):
        raise RuntimeError("the autosave did not finish in 120 s")
    end = saved[0]
    run_for(app, 0.2)
    figures = beat.figures(start, end + 0.1)
    figures["save_s"] = end - start
    return {"autosave": figures}


def gui() -> dict:
    app, window = make_window()
    beat = Heartbeat()
    out = {"layout": layout_figures(app, window)}
    for section in (painting, landing, cancel, autosave):
        try:
            out.update(section(app, window, beat))
        except Exception as exc:  # one broken section must not hide the others
            out[section.__name__] = {"error": f"{type(exc).__name__}: {exc}"}
    window.document.undo_stack.setClean()  # no recovery prompt, no autosave on close
    window.close()
    return out


# ---- launch --------------------------------------------------------------------------------
def launch(t0: float) -> dict:
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from studio.app.main import build_window

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = build_window()
    painted: list[float] = []

    class Watch(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Type.Paint and not painted:
                painted.append(time.time())
            return False

    watch = Watch()
    window.canvas.installEventFilter(watch)
    window.show()
    wait(app, lambda: painted, 30)
    window.document.undo_stack.setClean()
    window.close()
    return {"launch": {"seconds": painted[0] - t0}}


# ---- precision -----------------------------------------------------------------------------
SD15_UNET = dict(
    sample_size=64,
    cross_attention_dim=768,
    attention_head_dim=8,
    block_out_channels=(320, 640, 1280, 1280),
    layers_per_block=2,
)


def _its(call, repeats: int) -> float:
    call()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1.0 / statistics.median(times)


def automatic_choice(family: str) -> tuple[str, float]:
    """What Automatic picks for `family` on the CPU in this tree, and how long deciding took."""
    import inspect

    from studio.engine.memory import device
    from studio.resources import BUNDLED_MODELS

    start = time.perf_counter()
    if hasattr(device, "automatic_dtype"):
        probe = None
        if family == "starter":  # the starter engine times its own UNet
            from studio.engine.starter.engine import starter_probe

            probe = starter_probe(BUNDLED_MODELS / "starter-diffusion")
        choice = device.automatic_dtype("cpu", family, probe)
    elif family == "starter":
        choice = "float32"  # before: load_starter used float32 on the CPU
    else:
        assert "family" not in inspect.signature(device.choose_dtype).parameters
        choice = device.choose_dtype("cpu", None)
    return choice, time.perf_counter() - start


def precision() -> dict:
    import torch
    from diffusers import UNet2DConditionModel

    from studio.engine.starter.model import load_starter
    from studio.resources import BUNDLED_MODELS

    out = {}
    auto, decided = automatic_choice("starter")
    starter = {"auto": auto, "decide_s": decided, "it_s": {}}
    for dtype in ("float32", "bfloat16"):
        loaded = load_starter(BUNDLED_MODELS / "starter-diffusion", dtype=getattr(torch, dtype))
        cfg, unet = loaded.cfg, loaded.unet
        x = torch.randn(2, cfg.image_channels + cfg.label_channels, cfg.unet_size, cfg.unet_size)
        x, t, styles = x.to(loaded.dtype), torch.tensor(500), torch.tensor([0, 1])
        with torch.inference_mode():
            call = lambda u=unet, x=x, t=t, s=styles: u(x, t, class_labels=s)  # noqa: E731
            starter["it_s"][dtype] = _its(call, 15)
    out["starter"] = starter
    auto, decided = automatic_choice("sd1")
    sd = {"auto": auto, "decide_s": decided, "it_s": {}}
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**SD15_UNET).eval()
    x, t, text = torch.randn(2, 4, 64, 64), torch.tensor(500), torch.randn(2, 77, 768)
    for dtype in ("float32", "bfloat16"):
        unet = unet.to(getattr(torch, dtype))
        xd, textd = x.to(unet.dtype), text.to(unet.dtype)
        with torch.inference_mode():
            call = lambda u=unet, x=xd, e=textd: u(x, t, encoder_hidden_states=e)  # noqa: E731
            sd["it_s"][dtype] = _its(call, 1)
    out["sd15 (512², CFG)"] = sd
    return {"precision": out}


def main() -> int:
    part, t0 = sys.argv[1], float(sys.argv[2])
    result = {"gui": gui, "precision": precision}.get(part)
    figures = launch(t0) if part == "launch" else result()
    print("RESULT " + json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
