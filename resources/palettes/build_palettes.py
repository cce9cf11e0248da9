"""Builds the shipped palettes from the datasets' class lists (run once; outputs are committed).

Usage: python resources/palettes/build_palettes.py CLASS_LISTS_DIR
CLASS_LISTS_DIR holds two JSON files transcribed from upstream:
- ade20k-150.json: {"source": ..., "classes": [{"id": 0-based id, "name", "rgb": [r, g, b]}]}, the
  150 classes and colours of open-mmlab/mmsegmentation mmseg/datasets/ade.py (METAINFO), which are
  the colours segmentation ControlNets expect;
- cocostuff-182.json: {"source": ..., "classes": [{"cocostuff_id", "spade_label", "name"}]}, from
  nightrome/cocostuff labels.txt, with SPADE's label = cocostuff id - 1.
Layer values follow each dataset's own file convention: ADE20K value = 0-based id + 1 (0 is
'other'), COCO-Stuff value = cocostuff id (0 is 'unlabeled'), Landscape 1..N.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# COCO-Stuff has no official colours; SPADE shows these five by name, the rest come from the
# bit-interleaved (PASCAL VOC style) colour map indexed by the cocostuff id.
COCO_NAMED = {
    "sea": (54, 62, 167),
    "sky-other": (95, 219, 255),
    "tree": (140, 104, 47),
    "clouds": (170, 170, 170),
    "grass": (29, 195, 49),
}

# Landscape materials and their nearest class in each dataset (None: the dataset has none;
# COCO-panoptic ids are the merged classes ControlNet's COCO protocol uses):
# (name, ADE20K 0-based id or None, COCO-panoptic id or None, COCO-Stuff id or None, own colour)
LANDSCAPE = [
    ("sky", 2, 187, 157, None),
    ("clouds", None, None, 106, (170, 170, 170)),
    ("water", 21, 178, 178, None),
    ("sea", 26, 155, 155, None),
    ("river", 60, 148, 148, None),
    ("lake", 128, 178, 178, None),
    ("waterfall", 113, None, None, None),
    ("mountain", 16, 192, 135, None),
    ("hill", 68, 192, 127, None),
    ("rock", 34, 198, 150, None),
    ("grass", 9, 193, 124, None),
    ("field", 29, 145, 145, None),
    ("tree", 4, 184, 169, None),
    ("bush", 17, None, 97, None),
    ("flower", 66, 119, 119, None),
    ("sand", 46, 154, 154, None),
    ("snow", None, 159, 159, (255, 255, 255)),
    ("dirt", 13, 194, 111, None),
    ("road", 6, 149, 149, None),
    ("path", 52, 191, 140, None),
    ("building", 1, 197, 96, None),
    ("house", 25, 128, 128, None),
    ("bridge", 61, 95, 95, None),
    ("fog", None, None, 120, (210, 210, 230)),
]
COCO_PANOPTIC_RGB = {  # COCO-panoptic colours of the ids LANDSCAPE uses
    187: (70, 130, 180),
    178: (58, 41, 149),
    155: (73, 77, 174),
    148: (60, 143, 255),
    192: (64, 170, 64),
    198: (0, 114, 143),
    193: (152, 251, 152),
    145: (106, 154, 176),
    184: (107, 142, 35),
    119: (241, 129, 0),
    154: (254, 212, 124),
    159: (255, 255, 255),
    194: (208, 229, 228),
    149: (128, 64, 128),
    191: (96, 96, 96),
    197: (116, 112, 0),
    128: (70, 70, 70),
    95: (150, 100, 100),
}


def bit_colormap(index: int) -> tuple[int, int, int]:
    r = g = b = 0
    c = index
    for j in range(8):
        r |= ((c >> 0) & 1) << (7 - j)
        g |= ((c >> 1) & 1) << (7 - j)
        b |= ((c >> 2) & 1) << (7 - j)
        c >>= 3
    return r, g, b


def palette(name: str, description: str, source: str, entries: list[dict]) -> dict:
    colours = [tuple(e["rgb"]) for e in entries]
    return {
        "format": "studio-palette",
        "version": 1,
        "name": name,
        "description": description,
        "source": source,
        "unique_colours": len(set(colours)) == len(colours),
        "entries": entries,
    }


def build(reference: Path) -> dict[str, dict]:
    ade = json.loads((reference / "ade20k-150.json").read_text())
    coco = json.loads((reference / "cocostuff-182.json").read_text())
    ade_entries = [
        {"value": c["id"] + 1, "name": c["name"], "rgb": list(c["rgb"]), "ade20k": c["id"]}
        for c in ade["classes"]
    ]
    coco_entries = [
        {
            "value": c["cocostuff_id"],
            "name": c["name"],
            "rgb": list(COCO_NAMED.get(c["name"], bit_colormap(c["cocostuff_id"]))),
            "cocostuff": c["cocostuff_id"],
            "spade_label": c["spade_label"],
        }
        for c in coco["classes"]
    ]
    ade_rgb = {c["id"]: tuple(c["rgb"]) for c in ade["classes"]}
    coco_names = {c["cocostuff_id"]: c["name"] for c in coco["classes"]}
    land = []
    for value, (name, ade_id, pan_id, coco_id, own) in enumerate(LANDSCAPE, start=1):
        land.append(
            {
                "value": value,
                "name": name,
                "rgb": list(own or ade_rgb[ade_id]),
                "ade20k": ade_id,
                "ade20k_name": None if ade_id is None else ade["classes"][ade_id]["name"],
                "coco_panoptic": pan_id,
                "coco_panoptic_rgb": None if pan_id is None else list(COCO_PANOPTIC_RGB[pan_id]),
                "cocostuff": coco_id,
                "cocostuff_name": None if coco_id is None else coco_names[coco_id],
            }
        )
    return {
        "ade20k-150.json": palette(
            "ADE20K-150",
            "Value = ADE20K id + 1 (0 = other). Colours are the ones ControlNet seg expects; "
            "road and skyscraper share (140,140,140).",
            ade["source"],
            ade_entries,
        ),
        "cocostuff-182.json": palette(
            "COCO-Stuff-182",
            "Value = COCO-Stuff id (0 = unlabeled); SPADE label = value - 1. Colours are for "
            "display only (SPADE's five named colours, otherwise a bit-interleaved colour map).",
            coco["source"],
            coco_entries,
        ),
        "landscape.json": palette(
            "Landscape",
            "Curated landscape materials with their ADE20K, COCO-panoptic and COCO-Stuff "
            "equivalents. Colours are ADE20K's where ADE has the class.",
            "studio; cross-walk checked against ade20k-150.json and cocostuff-182.json",
            land,
        ),
    }


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    ref = Path(sys.argv[1])
    for filename, data in build(ref).items():
        (HERE / filename).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(filename, len(data["entries"]), "entries, unique colours:", data["unique_colours"])
