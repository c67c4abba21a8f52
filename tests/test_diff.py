"""archviz diff (issue 24): the lecture's chains of small changes, checked by hand and against
torch itself and FlopCounterMode."""

from __future__ import annotations

import collections
import json

import pytest

from archviz.diff import diff
from conftest import run_cli


def test_vgg16_to_vgg19_adds_one_conv_in_each_of_blocks_3_4_and_5(history_profiles):
    """VGG-19 (configuration E) adds a 3x3 conv to blocks 3, 4 and 5 of VGG-16 (D) (Simonyan &
    Zisserman 2015, Table 1): 256*256*9 + 256 = 590,080 and twice 512*512*9 + 512 = 2,359,808."""
    d = diff(history_profiles["vgg16"], history_profiles["vgg19"])
    added = [c for c in d.changes if c.kind == "added"]
    assert [(c.b.type, c.block, c.b.params) for c in added] == [
        ("Conv2d", "features stage 3", 256 * 256 * 9 + 256), ("Conv2d", "features stage 4", 512 * 512 * 9 + 512),
        ("Conv2d", "features stage 5", 512 * 512 * 9 + 512)]
    assert d.count("removed") == d.count("changed") == 0
    a, b = d.totals["params"]
    assert b - a == 590_080 + 2_359_808 + 2_359_808 == 5_309_696


def test_densenet121_to_169_adds_8_and_16_dense_layers(history_profiles):
    """DenseNet-169's blocks 3 and 4 hold 32 layers where DenseNet-121's hold 24 and 16 (Huang et
    al. 2017, Table 1): 8 + 16 = 24 dense layers added, each whole (norm, 1x1 conv, norm, 3x3
    conv); parameters +6,170,624, torchvision's published 14,149,480 - 7,978,856."""
    from conftest import torchvision_meta

    d = diff(history_profiles["densenet121"], history_profiles["densenet169"])
    per_layer = collections.Counter(c.b.name.rsplit(".", 1)[0] for c in d.changes if c.kind == "added")
    assert set(per_layer.values()) == {4} and d.count("removed") == 0
    blocks = collections.Counter(name.split(".")[1] for name in per_layer)
    assert blocks == {"denseblock3": 8, "denseblock4": 16}
    a, b = d.totals["params"]
    assert b - a == torchvision_meta("densenet169")["num_params"] - torchvision_meta("densenet121")["num_params"]
    assert b - a == 6_170_624


def test_resnet50_to_resnet50d_stem_and_pooled_shortcuts(history_profiles):
    """timm's resnet50d (Bag of Tricks, He et al. 2019): the 7x7 stem conv becomes three 3x3 convs
    (3->32, 32->32, 32->64), and each downsampling shortcut gains a 2x2 average pool while its 1x1
    conv loses its stride. The parameter and MAC changes are what torch and FlopCounterMode give."""
    timm = pytest.importorskip("timm")
    import torch
    import torchvision
    from torch.utils.flop_counter import FlopCounterMode

    from archviz.service import get_profile

    d = diff(history_profiles["resnet50"], get_profile("timm:resnet50d"))
    stem = [c for c in d.changes if c.block == "stem" and c.b is not None and c.b.type == "Conv2d"]
    assert [(c.kind, c.b.kernel, c.b.channels_in, c.b.channels_out) for c in stem] == [
        ("changed", [3, 3], 3, 32), ("added", [3, 3], 32, 32), ("added", [3, 3], 32, 64)]
    pools = [c for c in d.changes if c.kind == "added" and c.b.type == "AvgPool2d"]
    assert [c.block for c in pools] == ["layer2", "layer3", "layer4"]
    shortcut = [c for c in d.changes if c.kind == "changed" and "downsample" in c.b.name]
    assert [c.what for c in shortcut] == [["stride"]] * 3
    models = (torchvision.models.resnet50().eval(), timm.create_model("resnet50d", pretrained=False).eval())
    params = [sum(p.numel() for p in m.parameters()) for m in models]
    macs = []
    for m in models:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            m(torch.zeros(1, 3, 224, 224))
        macs.append(counter.get_total_flops() // 2)
    assert d.totals["params"] == tuple(params)
    # FlopCounterMode counts convolutions and matrix products: the conv/linear MACs
    assert (history_profiles["resnet50"].totals["conv_linear_macs"],
            get_profile("timm:resnet50d").totals["conv_linear_macs"]) == tuple(macs)


def test_a_model_against_itself_has_no_changes(history_profiles):
    d = diff(history_profiles["resnet18"], history_profiles["resnet18"])
    assert d.same and d.changes == [] and d.matched > 0


def test_cli_formats_and_the_report_section(tmp_path, history_profiles):
    r = run_cli("diff", "vgg16", "vgg19", "-f", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["counts"] == {"added": 3, "removed": 0, "changed": 0, "same": data["counts"]["same"]}
    assert data["totals"]["params"] == {"a": 138_357_544, "b": 143_667_240}  # torchvision's published counts
    md = run_cli("diff", "vgg16", "vgg19", "-f", "markdown").stdout
    assert md.startswith("# What changed: vgg16 → vgg19") and "| added | features stage 3 |" in md
    out = tmp_path / "d.html"
    assert run_cli("diff", "vgg16", "vgg19", "-f", "html", "-o", str(out)).returncode == 0
    assert "What changed: vgg16 → vgg19" in out.read_text()
    bad = run_cli("diff", "vgg16", "nope")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    from archviz.render.report import write_report

    text = write_report([history_profiles["vgg16"], history_profiles["vgg19"]], tmp_path / "r.html").read_text()
    assert 'id="what-changed"' in text and "3 layers added" in text


def test_dashboard_compare_shows_the_diff_and_colours_changed_nodes(history_profiles):
    """Compare with two models: the diff's summary and tables, and each graph's change overlay
    (VGG-19's three added convs green on its graph, their stages 'changed'; nothing removed)."""
    from archviz.dashboard import logic

    r = logic.compare(["vgg16", "vgg19"])
    assert r["changed"]["summary"][0].startswith("vgg16 → vgg19: 3 layers added, 0 removed, 0 changed")
    assert [row["B"] for row in r["changed"]["layers"]] == ["features.16", "features.25", "features.28"]
    a, b = r["graph"]["graphs"]
    assert a["changes"] is False or not any(n["metrics"].get("change") for n in a["nodes"])
    added = sorted(n["row"] for n in b["nodes"] if n["metrics"].get("change") == "added")
    assert added == ["features.16", "features.25", "features.28"]
    stages = {n["name"] for n in b["nodes"] if n["stage"] and n["metrics"].get("change") == "changed"}
    assert stages == {"features[10–18]", "features[19–27]", "features[28–36]"}
    assert "change" in b["style"]["overlays"] and logic.compare(["vgg16", "vgg19", "resnet18"])["changed"] is None


def test_pools_are_compared_and_counts_add_up(history_profiles):
    """AlexNet -> VGG-11: every shaping layer is accounted for (added + removed + changed + same
    = the layers of each side); the adaptive pool's change is its output, 6x6 -> 7x7 (torchvision's
    AlexNet and VGG heads); a max pool's channels are its input's, never listed as a change."""
    from archviz.diff import leaves, shaping

    d = diff(history_profiles["alexnet"], history_profiles["vgg11"])
    a = [x for x in leaves(history_profiles["alexnet"]) if shaping(x)]
    b = [x for x in leaves(history_profiles["vgg11"]) if shaping(x)]
    assert d.count("removed") + d.count("changed") + d.matched == len(a)
    assert d.count("added") + d.count("changed") + d.matched == len(b)
    pool = next(c for c in d.changes if c.a and c.a.name == "avgpool")
    assert (pool.kind, pool.what, pool.a.output, pool.b.output) == ("changed", ["output size"], [6, 6], [7, 7])
    assert not any(k.startswith("channels") for c in d.changes if "MaxPool" in (c.a or c.b).type for k in c.what)
