"""The heavy libraries load on a background thread once, so the first Generate need not wait."""

from __future__ import annotations

import subprocess
import sys


def test_preload_imports_torch_and_diffusers_once_in_the_background():
    """Jobs wait for it: two threads importing transformers at once broke the first job."""
    code = (
        "import sys\n"
        "from studio.engine.preload import preload_in_background\n"
        "assert 'torch' not in sys.modules\n"
        "thread = preload_in_background()\n"
        "assert thread.daemon and thread.name == 'studio-preload'\n"
        "assert preload_in_background() is None\n"
        "from studio.engine.preload import wait_until_loaded\n"
        "wait_until_loaded()  # what every job does first\n"
        "assert not thread.is_alive()\n"
        "print(sorted(m for m in ('torch', 'diffusers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "['diffusers', 'torch']"
