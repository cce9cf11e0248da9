"""Label sets: ids -> model channels per dataset convention, unknown classes reported, edges."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.engine.labels import (
    builtin_label_set,
    instance_edges,
    label_set,
    map_labels,
    official_model_labels,
)
from studio.errors import InvalidRequestError


def _inverse(mapped, source, target):
    """channel -> source value for every class of `source` that maps (to check round trips)."""
    back = {}
    for cls in source.classes:
        ch = target.channel_for(cls, source.name)
        if ch is not None:
            back.setdefault(ch, cls.value)
    return np.vectorize(lambda c: back.get(int(c), -1))(mapped.channels)


@pytest.mark.parametrize(
    "name, space", [("ade20k", "ade20k"), ("cocostuff", "cocostuff"), ("cityscapes", "cityscapes")]
)
def test_every_class_round_trips_through_its_own_model_space(name, space):
    source, target = builtin_label_set(name), official_model_labels(space)
    values = np.array([c.value for c in source.classes], dtype=np.uint16)
    ids = np.tile(values, (3, 1))
    mapped = map_labels(ids, source, target)
    assert mapped.unknown == {}
    assert np.array_equal(_inverse(mapped, source, target), ids.astype(np.int64))
    assert len(np.unique(mapped.channels)) == len(values)  # a bijection onto channels


def test_dataset_conventions():
    ade, coco, city = (official_model_labels(s) for s in ("ade20k", "cocostuff", "cityscapes"))
    assert (ade.semantic_nc, coco.semantic_nc, city.semantic_nc) == (151, 184, 36)
    # ADE20K file values are 1-based; SPADE subtracts 1 and sends 0 ("other") to dontcare 150.
    m = map_labels(np.array([[0, 1, 3, 150]]), builtin_label_set("ade20k"), ade)
    assert m.channels.tolist() == [[150, 0, 2, 149]] and m.unknown == {}
    # COCO-Stuff ids 1..182 -> channels 0..181; 0 (unlabeled) -> dontcare 182.
    m = map_labels(np.array([[0, 1, 157, 182]]), builtin_label_set("cocostuff"), coco)
    assert m.channels.tolist() == [[182, 0, 156, 181]]
    # SPADE's own COCO label PNGs hold id - 1, with 255 for unlabeled.
    m = map_labels(np.array([[255, 0, 156]]), builtin_label_set("cocostuff-spade"), coco)
    assert m.channels.tolist() == [[182, 0, 156]]
    # Cityscapes labelIds go straight through; there is no dontcare channel.
    m = map_labels(np.array([[7, 23, 26]]), builtin_label_set("cityscapes"), city)
    assert m.channels.tolist() == [[7, 23, 26]]


def test_cross_set_mapping_by_link_and_name_reports_unknown_classes():
    ade = builtin_label_set("ade20k")
    coco = official_model_labels("cocostuff")
    by_name = {c.name.split(",")[0].split(";")[0]: c.value for c in ade.classes}
    ids = np.array([[by_name["sky"], by_name["tree"], by_name["windowpane"], 0, 200]])
    m = map_labels(ids, ade, coco)
    assert m.channels[0, 0] == 156  # sky -> COCO-Stuff 157 "sky-other" -> channel 156
    assert m.channels[0, 1] == 168  # tree -> 169 "tree"
    assert m.channels[0, 2] == 182 and m.channels[0, 4] == 182  # unknown -> dontcare
    assert m.unknown == {"windowpane": 1, "value 200": 1}  # reported, with pixel counts


def test_studio_palette_links_are_used(tmp_path):
    palette = {
        "format": "studio-palette",
        "name": "Mini",
        "entries": [
            {"value": 1, "name": "heaven", "ade20k": 2, "cocostuff": 157},
            {"value": 2, "name": "snow", "ade20k": None, "cocostuff": 159},
        ],
    }
    path = tmp_path / "mini.json"
    import json

    path.write_text(json.dumps(palette))
    source = label_set(str(path))
    ids = np.array([[1, 2, 2, 0]])
    ade = map_labels(ids, source, official_model_labels("ade20k"))
    assert ade.channels.tolist() == [[2, 150, 150, 150]] and ade.unknown == {"snow": 2}
    coco = map_labels(ids, source, official_model_labels("cocostuff"))
    assert coco.channels.tolist() == [[156, 158, 158, 182]] and coco.unknown == {}


def test_unknown_label_set_name_is_an_error():
    with pytest.raises(InvalidRequestError, match="Unknown label set 'pascal'"):
        label_set("pascal")


def test_instance_edges_match_spade_get_edges():
    rng = np.random.default_rng(0)
    inst = rng.integers(0, 3, (9, 11)).astype(np.int64)
    t = torch.from_numpy(inst)[None, None]
    # NVlabs get_edges, written out: both pixels of every differing horizontal/vertical pair
    edge = torch.zeros(t.shape, dtype=torch.bool)
    edge[:, :, :, 1:] |= t[:, :, :, 1:] != t[:, :, :, :-1]
    edge[:, :, :, :-1] |= t[:, :, :, 1:] != t[:, :, :, :-1]
    edge[:, :, 1:, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
    edge[:, :, :-1, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
    assert np.array_equal(instance_edges(inst), edge[0, 0].float().numpy())


def test_reference_table_layout_reads_like_the_palette(tmp_path):
    import json

    table = {
        "classes": [{"id": 0, "name": "wall", "rgb": [120, 120, 120]}, {"id": 2, "name": "sky"}]
    }
    path = tmp_path / "ade-ref.json"
    path.write_text(json.dumps(table))
    source = label_set(str(path))
    assert [(c.value, c.links) for c in source.classes] == [(1, {"ade20k": 0}), (3, {"ade20k": 2})]
    m = map_labels(np.array([[1, 3, 0]]), source, official_model_labels("ade20k"))
    assert m.channels.tolist() == [[0, 2, 150]]
