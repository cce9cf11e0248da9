"""Plan a hub download: which files of a repo (sizes, checksums), where each one is installed.

One API call (`model_info(files_metadata=True)`), no file transfer. Weight files that exist in
several precisions keep one: the preferred variant (`unet/diffusion_pytorch_model.fp16.safetensors`)
if the repo has it, else the plain file; the variant is dropped from the installed name so the
offline loader (which asks for no variant) finds it. A repo reduced to one weights file (a LoRA,
`--file F`) is installed as a file in the models folder; anything else as a folder.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from studio.engine.hub.transfer import DownloadError, hub_errors, network_allowed
from studio.engine.models.checkpoints import WEIGHT_SUFFIXES
from studio.resources import RESOURCES

# "Any repo id" fetches what Studio can load (configs, tokenizers, cards, safetensors weights),
# not pickled twins (.bin/.ckpt) that it would refuse anyway.
ANY_REPO_PATTERNS = ("*.json", "*.txt", "*.md", "*.model", "*.yaml", "*.safetensors")
_VARIANT = re.compile(r"^(?P<stem>[^.]+)\.(?P<variant>[A-Za-z0-9_]+)(?P<ext>\.[a-z]+)$")


@dataclass(frozen=True)
class HubFile:
    """One file to fetch: repo path, installed path (relative), size in bytes, checksums."""

    path: str
    local: str  # relative to the model folder (layout "folder") or the models dir ("file")
    size: int
    sha256: str | None  # LFS files
    blob_id: str | None  # git object id (sha1 of "blob <size>\0" + bytes) for non-LFS files


@dataclass(frozen=True)
class DownloadPlan:
    """What a download will fetch: a repo pinned to one commit, its files and total size."""

    repo_id: str
    commit: str
    files: tuple[HubFile, ...]
    endpoint: str
    name: str  # folder name ("folder") or the weights file's name ("file")
    layout: str = "folder"  # "folder" | "file"

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def hub_endpoint(endpoint: str | None = None) -> str:
    """The hub to talk to: the argument, else HF_ENDPOINT (read now), else huggingface.co."""
    from huggingface_hub import constants

    return (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def folder_name(repo_id: str) -> str:
    """`stabilityai/sd-turbo` → `stabilityai--sd-turbo` (the folder it is installed as)."""
    return repo_id.strip("/").replace("/", "--")


def plan_download(
    repo_id: str,
    *,
    revision: str | None = None,
    allow_patterns: Sequence[str] | None = None,
    filename: str | None = None,
    endpoint: str | None = None,
    name: str | None = None,
    variant: str | None = "fp16",
) -> DownloadPlan:
    """Ask the hub which files (sizes, checksums) `repo_id` has; one network call, no download."""
    from huggingface_hub import HfApi

    url = hub_endpoint(endpoint)
    with network_allowed(), hub_errors(repo_id, url):
        info = HfApi(endpoint=url).model_info(repo_id, revision=revision, files_metadata=True)
    siblings = {s.rfilename: s for s in info.siblings or []}
    paths = _select(repo_id, sorted(siblings), allow_patterns, filename, variant)
    for path in paths:
        _safe_relative(path)
    weights = [p for p in paths if p.endswith(WEIGHT_SUFFIXES)]
    as_file = filename is not None or (
        len(weights) == 1 and not any(p.endswith("config.json") or "/" in p for p in paths)
    )
    if as_file:
        main = weights[0] if weights else paths[0]
        if name:
            base = name
        elif filename is not None or not weights:
            base = PurePosixPath(main).name
        else:
            base = folder_name(repo_id) + PurePosixPath(main).suffix
        locals_ = {p: base if p == main else _sidecar(p, base) for p in paths}
        locals_ = {p: q for p, q in locals_.items() if q is not None}
    else:
        base = name or folder_name(repo_id)
        locals_ = {p: _strip_variant(p, variant) for p in paths}
    files = tuple(
        HubFile(
            p,
            locals_[p],
            int(siblings[p].size or 0),
            siblings[p].lfs.sha256 if siblings[p].lfs else None,
            siblings[p].blob_id,
        )
        for p in paths
        if p in locals_
    )
    layout = "file" if as_file else "folder"
    return DownloadPlan(repo_id, str(info.sha), files, url, base, layout)


def _select(repo_id, names, allow_patterns, filename, variant) -> list[str]:
    from huggingface_hub.utils import filter_repo_objects

    listing = "files in the repo: " + ", ".join(names[:60])
    if filename is not None:
        if filename not in names:
            raise DownloadError(f"{repo_id} has no file called {filename}.", details=listing)
        return [filename]
    patterns = list(allow_patterns) if allow_patterns else None
    chosen = list(filter_repo_objects(names, allow_patterns=patterns))
    if variant:
        chosen = prefer_variant(chosen, variant)
    if not chosen:
        wanted = ", ".join(patterns or [])
        raise DownloadError(f"No file of {repo_id} matches {wanted}.", details=listing)
    return chosen


def prefer_variant(paths: list[str], variant: str) -> list[str]:
    """Of `dir/stem[.variant].ext` weight files keep `variant` if present, else the plain one."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for p in paths:
        if p.endswith(WEIGHT_SUFFIXES):
            parent, _, leaf = p.rpartition("/")
            m = _VARIANT.match(leaf)
            stem = m["stem"] if m else leaf.split(".")[0]
            groups.setdefault((parent, stem, PurePosixPath(p).suffix), []).append(p)
    keep = {p for p in paths if not p.endswith(WEIGHT_SUFFIXES)}
    for members in groups.values():
        tagged = [p for p in members if _variant_of(p) == variant]
        plain = [p for p in members if _variant_of(p) is None]
        keep.update(tagged[:1] or plain or members)
    return [p for p in paths if p in keep]


def _variant_of(path: str) -> str | None:
    m = _VARIANT.match(path.rpartition("/")[2])
    return m["variant"] if m else None


def _strip_variant(path: str, variant: str | None) -> str:
    if variant and _variant_of(path) == variant:
        parent, _, leaf = path.rpartition("/")
        m = _VARIANT.match(leaf)
        assert m is not None
        leaf = m["stem"] + m["ext"]
        return f"{parent}/{leaf}" if parent else leaf
    return path


def _sidecar(path: str, base: str) -> str | None:
    """Beside a single weights file only its model card travels, as `<stem>.md`."""
    if PurePosixPath(path).name.lower() == "readme.md":
        return PurePosixPath(base).stem + ".md"
    return None


def _safe_relative(path: str) -> None:
    """Refuse paths that would land outside the model folder (absolute, `..`)."""
    parts = PurePosixPath(path).parts
    if path.startswith("/") or ".." in parts or not parts or "\\" in path or ":" in path:
        raise DownloadError("The hub listed a file with an unsafe path.", details=repr(path))


RECOMMENDED = RESOURCES / "models" / "recommended.json"


@dataclass(frozen=True)
class Recommended:
    """One curated download (resources/models/recommended.json)."""

    id: str
    name: str
    repo_id: str
    kind: str
    family: str
    patterns: tuple[str, ...]
    approx_bytes: int
    licence: str
    licence_note: str
    note: str
    variant: str | None = "fp16"
    usable_in_studio: bool = True

    def plan(self, endpoint: str | None = None) -> DownloadPlan:
        return plan_download(
            self.repo_id, allow_patterns=self.patterns, endpoint=endpoint, variant=self.variant
        )

    def installed(self, models_dir: Path) -> Path | None:
        """The installed folder or file of this download in `models_dir`, if there is one."""
        base = Path(models_dir) / folder_name(self.repo_id)
        for candidate in (base, base.with_name(base.name + ".safetensors")):
            if candidate.exists():
                return candidate
        return None


def load_recommended(path: Path = RECOMMENDED) -> list[Recommended]:
    """The curated list; a broken file is a clear error (it ships with the app)."""
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))["models"]
        return [Recommended(**{**e, "patterns": tuple(e["patterns"])}) for e in entries]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DownloadError("The list of recommended models cannot be read.", str(exc)) from exc
