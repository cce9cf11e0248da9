"""The installed-model catalogue for the model manager: kind, size, precision, licence, card."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from studio.engine.models.checkpoints import (
    PICKLE_SUFFIXES,
    read_safetensors_entries,
    read_safetensors_header,
)
from studio.engine.models.registry import ModelInfo, inspect_folder, scan
from studio.errors import ModelLoadError
from studio.io.safe_json import read_json_file

# safetensors dtype names -> what the artist reads
PRECISIONS = {"F16": "fp16", "F32": "fp32", "BF16": "bf16", "F64": "fp64", "F8_E4M3": "fp8"}
CARD_NAMES = ("README.md", "README.txt")
MAX_CARD_BYTES = 256 * 2**10
SIDECAR_SUFFIXES = (".json", ".yaml", ".studio.json", ".md")
FAMILY = {"sd1": "SD 1.x", "sd2": "SD 2.x", "sdxl": "SDXL"}
GAN_KINDS = {
    "spade": ("SPADE", "spade"),
    "spade-encoder": ("SPADE style encoder", "spade"),
    "pix2pix-unet": ("pix2pix (U-Net)", "pix2pix"),
    "pix2pix-resnet": ("pix2pix / CycleGAN (ResNet)", "pix2pix"),
    "stylegan2": ("StyleGAN2 generator", "stylegan"),
    "stylegan3": ("StyleGAN3 generator", "stylegan"),
}
# filter groups, in the order the kind filter offers them
GROUPS = {
    "sd1": "SD 1.x",
    "sd2": "SD 2.x",
    "sdxl": "SDXL",
    "turbo": "Turbo / LCM",
    "inpaint": "Inpainting",
    "controlnet": "ControlNet",
    "lora": "LoRA",
    "embedding": "Embedding",
    "taesd": "Preview decoder",
    "spade": "SPADE",
    "pix2pix": "pix2pix",
    "cyclegan": "CycleGAN",
    "stylegan": "StyleGAN",
    "starter": "Starter (bundled)",
    "unusable": "Cannot be used",
}


@dataclass(frozen=True)
class CatalogEntry:
    """One installed model as the model manager shows it."""

    info: ModelInfo
    kind_label: str  # e.g. "SDXL · Turbo", "LoRA (SD 1.x)", "Preview decoder"
    groups: tuple[str, ...]  # keys of GROUPS this entry is found under
    precision: str  # "fp16", "fp32", "fp16 + fp32", "bf16", "unknown (pickle)", "?"
    location: str  # which models folder: "User models", "Starter (bundled)", …
    licence: str | None  # from the model card, model_index.json or file metadata
    card_path: str | None  # README.md of a folder, `<name>.md` next to a file
    sidecars: tuple[str, ...] = ()  # files that travel with a single-file model

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def path(self) -> str:
        return self.info.path

    @property
    def size_bytes(self) -> int:
        return self.info.size_bytes

    def matches(self, text: str, group: str | None = None) -> bool:
        """Search box and kind filter: every word in name, kind, path, licence or notes."""
        if group and group not in self.groups:
            return False
        info = self.info
        hay = " ".join(
            [info.name, self.kind_label, info.path, self.precision, self.licence or "",
             info.variant, info.problem or "", *info.notes]
        ).lower()  # fmt: skip
        return all(word in hay for word in text.lower().split())


def tensor_bytes_by_dtype(path: Path) -> dict[str, int]:
    """Bytes per safetensors dtype in one file, from its checked header (no tensor is read)."""
    header, _start = read_safetensors_entries(path)
    totals: dict[str, int] = {}
    for key, entry in header.items():
        if key != "__metadata__":
            begin, end = entry["data_offsets"]
            totals[entry["dtype"]] = totals.get(entry["dtype"], 0) + end - begin
    return totals


def _weight_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and _is_weights(p))


def _is_weights(p: Path) -> bool:
    return p.suffix.lower() == ".safetensors" or p.suffix.lower() in PICKLE_SUFFIXES


def precision(path: str | Path) -> str:
    """The float precision a model's weights are stored in, read from safetensors headers."""
    totals: dict[str, int] = {}
    pickled = False
    for file in _weight_files(Path(path)):
        if file.suffix.lower() != ".safetensors":
            pickled = True
            continue
        try:
            for dtype, size in tensor_bytes_by_dtype(file).items():
                totals[dtype] = totals.get(dtype, 0) + size
        except (ModelLoadError, OSError, ValueError):
            continue
    floats = {PRECISIONS[d]: n for d, n in totals.items() if d in PRECISIONS and n > 0}
    if not floats:
        return "unknown (pickle)" if pickled else "?"
    ordered = sorted(floats, key=lambda d: -floats[d])  # most bytes first
    return " + ".join(ordered)


def _front_matter(text: str) -> str:
    match = re.match(r"\A---\s*\n(.*?)\n---\s*(\n|\Z)", text, re.DOTALL)
    return match.group(1) if match else ""


def card_licence(card_text: str) -> str | None:
    """`license:` (and `license_name:`) from a Hugging Face model card's YAML front matter."""
    yaml = _front_matter(card_text)
    found = {}
    for key in ("license", "license_name", "license_link"):
        match = re.search(rf"^{key}:\s*['\"]?([^'\"\n]+?)['\"]?\s*$", yaml, re.MULTILINE)
        if match:
            found[key] = match.group(1).strip()
    if not found:
        return None
    main = found.get("license_name") if found.get("license") == "other" else found.get("license")
    main = main or found.get("license_name") or found.get("license")
    link = found.get("license_link")
    return f"{main} ({link})" if link else main


def card_path(path: str | Path) -> Path | None:
    """The model card: README.md in a folder, `<stem>.md` or `<name>.md` next to a file."""
    path = Path(path)
    if path.is_dir():
        candidates = [path / n for n in CARD_NAMES]
    else:
        candidates = [path.with_suffix(".md"), path.with_name(path.name + ".md")]
    return next((c for c in candidates if c.is_file()), None)


def read_card(path: str | Path) -> str:
    """A model card's text (at most 256 KB; empty when there is none)."""
    found = card_path(path)
    if found is None:
        return ""
    with open(found, "rb") as f:
        return f.read(MAX_CARD_BYTES).decode("utf-8", errors="replace")


def licence(path: str | Path) -> str | None:
    """The licence note: model card, then model_index.json, then safetensors metadata."""
    path = Path(path)
    from_card = card_licence(read_card(path))
    if from_card:
        return from_card
    index = path / "model_index.json"
    if path.is_dir() and index.is_file():
        try:
            data = read_json_file(index, max_bytes=2**20)
        except (OSError, ValueError):
            data = {}
        if isinstance(data, dict) and isinstance(data.get("license"), str):
            return data["license"]
    if path.is_file() and path.suffix.lower() == ".safetensors":
        try:
            _shapes, meta = read_safetensors_header(path)
        except ModelLoadError:
            return None
        return meta.get("modelspec.license") or meta.get("license")
    return None


def sidecars(path: str | Path) -> list[Path]:
    """Files that belong to a single-file model: `<stem>.json/.yaml/.md`, `<name>.studio.json`."""
    path = Path(path)
    if path.is_dir():
        return [p for p in [path.with_name(path.name + ".studio.json")] if p.is_file()]
    names = {path.stem + s for s in SIDECAR_SUFFIXES} | {path.name + s for s in SIDECAR_SUFFIXES}
    return sorted(p for p in path.parent.iterdir() if p.name in names and p.is_file())


def own_folder(path: str | Path) -> Path | None:
    """The folder a single-file model lives in alone (`NAME/NAME.safetensors`, beside its
    sidecar and card, like models/starter-spade/), else None: removing it removes that folder."""
    path = Path(path)
    return path.parent if path.is_file() and path.parent.name == path.stem else None


def _sd_label(info: ModelInfo) -> tuple[str, list[str]]:
    family = FAMILY.get(info.family, "Stable Diffusion")
    groups = [info.family] if info.family in FAMILY else []
    extras = []
    for tag, word in (("turbo", "Turbo"), ("lcm", "LCM"), ("inpaint", "inpainting")):
        if info.has(tag):
            extras.append(word)
            groups.append("inpaint" if tag == "inpaint" else "turbo")
    if info.has("refiner"):
        extras.append("refiner")
    return " · ".join([family, *extras]), groups


def kind_of(info: ModelInfo) -> tuple[str, list[str]]:
    """What the artist reads in the Kind column, and the filter groups it belongs to."""
    family = FAMILY.get(info.family)
    suffix = f" ({family})" if family else ""
    fam_groups = [info.family] if family else []
    if info.kind == "sd-pipeline":
        return _sd_label(info)
    if info.kind == "controlnet":
        return "ControlNet" + suffix, ["controlnet", *fam_groups]
    if info.kind == "lora":
        return "LoRA" + suffix, ["lora", *fam_groups]
    if info.kind == "embedding":
        return "Embedding" + suffix, ["embedding", *fam_groups]
    if info.kind == "taesd":
        return "Preview decoder (TAESD)", ["taesd"]
    if info.kind == "gan" and info.family == "pix2pix-resnet" and _cyclegan_tag(info.path):
        return f"CycleGAN generator ({_cyclegan_tag(info.path)})", ["cyclegan"]
    if info.kind == "gan":
        label, group = GAN_KINDS.get(info.family, (info.family, "pix2pix"))
        space = f" · {info.variant}" if info.variant else ""
        return label + space, [group]
    if info.kind == "vae":
        return "VAE", []
    return "Unknown", []


def _cyclegan_tag(path: str) -> str:
    """CycleGAN's two generators are saved as `…_G_A` (A→B) and `…_G_B` (B→A)."""
    stem = Path(path).stem
    return {"_G_A": "A→B", "_G_B": "B→A"}.get(stem[-4:], "")


def location_of(path: str | Path, places: dict[str, str]) -> str:
    """Which of the scanned folders (label -> folder) holds `path`, else "Opened folder"."""
    target = os.path.realpath(path)
    for label, folder in places.items():
        base = os.path.realpath(folder)
        if target == base or target.startswith(base + os.sep):
            return label
    return "Opened folder"


def describe(info: ModelInfo, places: dict[str, str] | None = None) -> CatalogEntry:
    """One catalogue entry: kind, precision, licence and card of a registry result."""
    places = places if places is not None else default_places()
    label, groups = kind_of(info)
    where = location_of(info.path, places)
    if where == "Starter (bundled)":
        groups.append("starter")
        label = f"Starter · {label}"
    if not info.usable:
        groups.append("unusable")
    path = Path(info.path)
    exists = path.exists()
    card = card_path(path) if exists else None
    return CatalogEntry(
        info=info,
        kind_label=label,
        groups=tuple(dict.fromkeys(groups)),
        precision=precision(path) if exists else "?",
        location=where,
        licence=licence(path) if exists else None,
        card_path=str(card) if card else None,
        sidecars=tuple(str(p) for p in sidecars(path)) if exists else (),
    )


def default_places() -> dict[str, str]:
    """Label -> folder of every folder Studio looks in for models."""
    from studio.io.paths import bundled_models_dir, model_search_dirs, user_models_dir

    places: dict[str, str] = {}
    bundled = bundled_models_dir()
    for folder in model_search_dirs():
        if bundled is not None and folder == bundled:
            places["Starter (bundled)"] = str(folder)
        elif folder == user_models_dir():
            places["User models"] = str(folder)
        else:
            places[f"Models path ({folder.name})"] = str(folder)
    return places


def list_installed(
    dirs: list[Path] | None = None,
    extra_paths: tuple[str, ...] | list[str] = (),
    places: dict[str, str] | None = None,
) -> list[CatalogEntry]:
    """Every model in the model folders (all kinds, unusable ones with their problem)."""
    places = places if places is not None else default_places()
    folders = [Path(p) for p in places.values()] if dirs is None else list(dirs)
    found = scan(folders, kinds=None)
    known = {m.path for m in found}
    for path in extra_paths:
        if path not in known and Path(path).exists():
            try:
                found.append(inspect_folder(path))
            except ModelLoadError as exc:
                found.append(ModelInfo(Path(path).name, path, "unknown", "?", "?", 0, exc.message))
    entries = [describe(m, places) for m in found]
    return sorted(entries, key=lambda e: (e.location != "Starter (bundled)", e.name.lower()))
