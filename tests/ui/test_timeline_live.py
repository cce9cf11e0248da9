"""The Timeline fills while a run is going: partial record, scrubbing, final and cancelled."""

from __future__ import annotations

import threading

import pytest

from studio.engine.diffusion.engine import DiffusionEngine
from studio.worker.jobs import JobState
from tests.ui.test_timeline import timeline_window


class PausingEngine:
    """A real engine (diffusion unless `engine` is given), holding still after the steps in
    `pauses` until the test resumes it."""

    def __init__(self, *pauses: int, engine=None) -> None:
        self.engine = DiffusionEngine() if engine is None else engine
        self.pauses = set(pauses)
        self.paused = threading.Event()  # set while the generation thread holds still
        self.go = threading.Event()
        self.fail = False  # when resumed, the run fails instead of going on

    def run(self, request, on_step, cancel):
        def slow(preview):
            on_step(preview)
            if preview.step in self.pauses:
                self.paused.set()
                self.go.wait(30)
                self.go.clear()
                self.paused.clear()
                if self.fail:
                    raise RuntimeError("the device went away")

        return self.engine.run(request, slow, cancel)

    def resident_bytes(self, path: str, device: str, dtype: str) -> int:
        probe = getattr(self.engine, "resident_bytes", None)
        return 0 if probe is None else probe(path, device, dtype)

    def resume(self) -> None:
        self.go.set()


@pytest.fixture
def paused(qtbot, tmp_path, tiny_sd_path):
    engine = PausingEngine(3, 5)
    win = timeline_window(qtbot, tmp_path, tiny_sd_path, engine)
    results = []
    ended = (JobState.FINISHED, JobState.CANCELLED)
    win.jobs.job_ended.connect(lambda job, r: results.append(r) if job.state in ended else None)
    yield win, engine, results
    engine.pauses.clear()
    engine.resume()
    win.close()


def wait_for_steps(qtbot, panel, count: int) -> None:
    def grown():
        run = panel.current_run()
        return run is not None and run.live and len(run.record.frames) == count

    qtbot.waitUntil(grown, timeout=30000)


def test_steps_appear_while_the_run_goes_and_can_be_scrubbed(qtbot, paused):
    win, engine, results = paused
    panel = win.timeline_panel
    win.generate()
    wait_for_steps(qtbot, panel, 3)  # the generation thread is still inside the run
    assert engine.paused.is_set() and not results
    assert "(running)" in panel.run_combo.currentText()
    assert panel.filmstrip.count() == 3 and panel.slider.maximum() == 2
    assert len(panel.sigma_plot.values) == 3 and panel.index == 2  # following the newest
    assert panel.step_label.text().startswith("step 3/6") and "running" in panel.step_label.text()
    assert panel.sigma_plot.slots == 6  # room for the steps still to come
    assert not panel.continue_button.isVisibleTo(panel)
    panel.slider.setValue(1)  # the artist scrubs back while the run goes on
    assert panel.index == 1 and "step 2/6" in panel.step_label.text()
    live = panel.current_run().record
    engine.resume()
    wait_for_steps(qtbot, panel, 5)
    assert panel.index == 1 and panel.slider.value() == 1  # not yanked to the newest step
    assert panel.slider.maximum() == 4 and panel.filmstrip.count() == 5
    grown = panel.current_run().record.frames
    assert all(a is b for a, b in zip(grown[:3], live.frames, strict=True))
    panel.slider.setValue(4)  # at the newest step again: follow along
    engine.resume()
    qtbot.waitUntil(lambda: not panel.current_run().live, timeout=30000)
    run = panel.current_run()
    assert run.record is results[0].record and len(run.record.frames) == 6
    assert run.recipe == results[0].recipe and not run.draft
    assert (
        panel.index == 5
        and panel.filmstrip.count() == 6
        and "running" not in panel.step_label.text()
    )
    assert panel.run_combo.count() == 1 and "(running)" not in panel.run_combo.currentText()


def test_a_cancelled_run_keeps_what_was_recorded(qtbot, paused):
    win, engine, results = paused
    panel = win.timeline_panel
    win.generate()
    wait_for_steps(qtbot, panel, 3)
    panel.slider.setValue(0)
    win.jobs.cancel()
    engine.resume()
    qtbot.waitUntil(lambda: not panel.current_run().live, timeout=30000)
    run = panel.current_run()
    assert results[0].draft and run.draft and run.record is results[0].record
    assert [f.step for f in run.record.frames] == [1, 2, 3]
    assert panel.index == 0 and "(draft)" in panel.run_combo.currentText()
    assert panel.continue_button.isVisibleTo(panel)


def test_a_scrubber_on_an_older_run_stays_there(qtbot, paused):
    win, engine, results = paused
    engine.pauses.clear()
    panel = win.timeline_panel
    win.generate()
    qtbot.waitUntil(lambda: len(results) == 1, timeout=30000)
    first = panel.current_run().job_id
    engine.pauses.add(3)
    win.generate()
    wait_for_steps(qtbot, panel, 3)  # a new run is shown as soon as it records
    assert panel.run_combo.count() == 2 and panel.current_run().job_id != first
    panel.run_combo.setCurrentIndex(0)
    panel.set_step(2)
    engine.resume()
    qtbot.waitUntil(lambda: len(results) == 2, timeout=30000)
    qtbot.waitUntil(lambda: not win.run_history.runs[-1].live, timeout=30000)
    assert panel.run_combo.currentIndex() == 0 and panel.index == 2


def test_a_step_of_a_running_run_can_be_made_a_layer(qtbot, paused):
    win, engine, results = paused
    panel = win.timeline_panel
    win.generate()
    wait_for_steps(qtbot, panel, 3)
    panel.set_step(1)
    panel.promote_button.click()
    layer = win.document.layers[-1]
    assert layer.name.startswith("Step 2/6 (x0)") and layer.draft
    assert layer.metadata["promoted_step"] == 2 and layer.metadata["prompt"] == "a red barn"


def test_a_failed_run_leaves_no_half_record(qtbot, paused):
    win, engine, results = paused
    panel = win.timeline_panel
    win.generate()
    wait_for_steps(qtbot, panel, 3)
    engine.fail = True
    engine.resume()
    qtbot.waitUntil(lambda: not win.run_history.runs, timeout=30000)
    assert panel.run_combo.count() == 0 and panel.current_run() is None
    assert not panel.play_button.isEnabled() and "device went away" in win.banner.message
