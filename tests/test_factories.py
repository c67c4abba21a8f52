"""Factory specs off the beaten path (issue 20 item 3): a detection model that keeps tensors outside
its parameters and buffers is built for real when the meta build cannot hold them, and a builder
that would download weights is refused in one line naming the argument to pass."""

from __future__ import annotations

import json
import os

import pytest

from conftest import run_cli

DETECTION = "torchvision.models.detection:fasterrcnn_mobilenet_v3_large_320_fpn"


def test_a_builder_that_downloads_is_refused_in_one_line(tmp_path):
    r = run_cli("profile", DETECTION, "--input", "1x3x320x320", "-f", "json",
                env={"TORCH_HOME": str(tmp_path / "torch"), "ARCHVIZ_HOME": str(tmp_path / "home")})
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert "tried to download https://download.pytorch.org/models/mobilenet_v3_large" in lines[0]
    assert "pass weights_backbone=None" in lines[0] and r.stdout == ""
    assert not (tmp_path / "torch").exists() or not any((tmp_path / "torch").rglob("*.pth"))  # nothing fetched


def test_a_detection_model_with_loose_tensors_profiles_as_through_the_api(tmp_path):
    """AnchorGenerator keeps its cell anchors in a plain list, which a meta run moves to the meta
    device: that model cannot be given storage, so the spec is built for real, and its figures
    equal the API's on the same module."""
    import torch
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn

    import archviz
    from archviz.build import loose_meta_tensors

    factory = tmp_path / "det.py"
    factory.write_text("from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn\n"
                       "def build():\n"
                       "    return fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None)\n")
    r = run_cli("profile", f"{factory}:build", "--input", "1x3x320x320", "-f", "json",
                env={"ARCHVIZ_HOME": str(tmp_path / "home")})
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    spec, rows = data["totals"], {row["name"]: row for row in data["layers"]}
    model = fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None).eval()
    api = archviz.profile(model, example_inputs=torch.zeros(1, 3, 320, 320))
    assert spec["params"] == api.totals["params"] == sum(p.numel() for p in model.parameters())
    # the backbone and the RPN head run on the input alone: the same work both ways (the ROI heads'
    # work depends on how many proposals survive NMS, which depends on the random weights)
    for name in ("backbone", "rpn.head"):
        assert rows[name]["macs"] == api.layer(name)["macs"], name
    # why: a meta run (the memory budget's) moves AnchorGenerator's cell anchors, a plain list, to
    # the input's device, so the meta-built model cannot be given storage afterwards
    from archviz.memory import meta_activation_peak

    with torch.device("meta"):
        meta = fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None).eval()
    assert loose_meta_tensors(meta) is None
    meta_activation_peak(meta, [1, 3, 320, 320])
    assert loose_meta_tensors(meta) == "rpn.anchor_generator.cell_anchors"
