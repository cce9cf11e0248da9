"""Tiny random-weight models per family, as diffusers folders and original-layout single files."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.engine.testing.scaffold import TinySpec

# layers_per_block=2 and SD-like block order: diffusers' conversion to the original single-file
# layout assumes SD 1.5's block indices
SINGLE_FILE_SPEC = TinySpec(layers_per_block=2)


class TinyModels:
    """Builds each tiny model once per test session, on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._built: dict[str, Path] = {}

    def folder(self, family: str, inpaint: bool = False) -> Path:
        from studio.engine.testing.scaffold import save_sd_folder

        name = f"{family}{'-inpaint' if inpaint else ''}"
        if name not in self._built:
            spec = TinySpec(layers_per_block=2, in_channels=9 if inpaint else 4)
            self._built[name] = save_sd_folder(self.root / name, spec, family=family)
        return self._built[name]

    def single_file(self, family: str, inpaint: bool = False, suffix: str = ".safetensors") -> Path:
        from studio.engine.testing.scaffold_ldm import save_single_file

        folder = self.folder(family, inpaint)
        key = f"{folder.name}{suffix}"
        if key not in self._built:
            out = self.root / "files" / key
            ldm_family = family if family in ("sd1", "sd2") else "sdxl"
            self._built[key] = save_single_file(folder, out, ldm_family)
        return self._built[key]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> TinyModels:
    return TinyModels(tmp_path_factory.mktemp("tiny-models"))
