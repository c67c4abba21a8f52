"""Catalogue metadata for every model: families, papers, years (hand-checked arXiv ids), labels,
colours, the Atlas record (`atlas_meta`) and which weights each published figure comes from."""

import json
import os
import subprocess
import sys

import pytest

from archviz import catalog
from archviz.catalog import (FAMILIES, HISTORY, PAPER_HISTORY, Snapshot, arxiv_year, atlas_meta,
                             family_of, model_label, published, top1_text, torchvision_models)
from archviz.errors import ArchvizError
from conftest import run_cli

KEYS = {"name", "label", "family", "year", "arxiv", "paper", "key_idea", "acc1", "acc5", "weights",
        "colour", "history", "source", "year_source"}

# Typed from the papers' arXiv pages, not from archviz: (model, family, year, arXiv id).
FACTS = [
    ("resnet50", "ResNet", 2015, "1512.03385"),
    ("vit_b_16", "ViT", 2020, "2010.11929"),
    ("swin_t", "Swin", 2021, "2103.14030"),
    ("convnext_tiny", "ConvNeXt", 2022, "2201.03545"),
    ("efficientnet_b0", "EfficientNet", 2019, "1905.11946"),
    ("efficientnet_v2_s", "EfficientNetV2", 2021, "2104.00298"),
    ("mobilenet_v2", "MobileNetV2", 2018, "1801.04381"),
    ("mobilenet_v3_small", "MobileNetV3", 2019, "1905.02244"),
    ("regnet_y_400mf", "RegNet", 2020, "2003.13678"),
    ("inception_v3", "Inception v3", 2015, "1512.00567"),
    ("resnext50_32x4d", "ResNeXt", 2016, "1611.05431"),
    ("wide_resnet50_2", "Wide ResNet", 2016, "1605.07146"),
    ("squeezenet1_1", "SqueezeNet", 2016, "1602.07360"),
    ("shufflenet_v2_x1_0", "ShuffleNet V2", 2018, "1807.11164"),
    ("mnasnet1_0", "MnasNet", 2018, "1807.11626"),
    ("swin_v2_t", "Swin V2", 2021, "2111.09883"),
    ("maxvit_t", "MaxViT", 2022, "2204.01697"),
    ("densenet161", "DenseNet", 2016, "1608.06993"),
    ("vgg16_bn", "VGG", 2014, "1409.1556"),
    ("alexnet", "AlexNet", 2012, None),  # NeurIPS 2012, never on arXiv
]


@pytest.mark.parametrize("name,family,year,arxiv", FACTS)
def test_hand_checked_paper_facts(name, family, year, arxiv):
    m = atlas_meta(name)
    assert (m["family"], m["year"], m["arxiv"]) == (family, year, arxiv)
    assert m["source"] == "torchvision" and m["paper"] == FAMILIES[family].paper.title
    assert m["colour"] == FAMILIES[family].colour and m["key_idea"]


def test_every_torchvision_model_has_a_family_a_year_and_a_record():
    names = torchvision_models()
    assert len(names) >= 80
    for name in names:
        m = atlas_meta(name)
        assert set(m) == KEYS
        assert m["family"] in FAMILIES, name
        assert isinstance(m["year"], int) and 2012 <= m["year"] <= 2022, name
        assert m["history"] == (name in HISTORY)
        assert isinstance(m["acc1"], float) and 50 < m["acc1"] < 90, name  # every one has weights
        assert m["label"] != name, name  # a written-out label
    assert {atlas_meta(n)["family"] for n in names} == set(FAMILIES)  # no family without a model


def test_a_family_year_is_its_arxiv_year():
    """The typed year agrees with the arXiv id's YYMM, for every family that has one."""
    for fam in FAMILIES.values():
        if fam.paper.arxiv:
            assert arxiv_year(fam.paper.arxiv) == fam.year, fam.name
        assert fam.year == int(fam.paper.venue[-4:]) or fam.year == int(fam.paper.venue[-4:]) - 1


def test_family_colours_are_distinct_and_the_five_history_colours_kept():
    colours = [f.colour for f in FAMILIES.values()]
    assert len(set(colours)) == len(colours)
    assert catalog.UNKNOWN_COLOUR not in colours
    assert {k: FAMILIES[k].colour for k in ("AlexNet", "VGG", "GoogLeNet", "ResNet", "DenseNet")} == {
        "AlexNet": "#d62728", "VGG": "#ff7f0e", "GoogLeNet": "#2ca02c", "ResNet": "#1f77b4",
        "DenseNet": "#9467bd"}


@pytest.mark.parametrize("name,label", [
    ("resnet50", "ResNet-50"), ("vit_b_16", "ViT-B/16"), ("vit_h_14", "ViT-H/14"),
    ("regnet_y_1_6gf", "RegNetY-1.6GF"), ("regnet_x_400mf", "RegNetX-400MF"),
    ("resnext101_64x4d", "ResNeXt-101 64x4d"), ("wide_resnet50_2", "Wide ResNet-50-2"),
    ("efficientnet_b7", "EfficientNet-B7"), ("efficientnet_v2_m", "EfficientNetV2-M"),
    ("swin_v2_b", "SwinV2-B"), ("convnext_tiny", "ConvNeXt-Tiny"), ("vgg16_bn", "VGG-16 (BN)"),
    ("shufflenet_v2_x0_5", "ShuffleNet V2 x0.5"), ("squeezenet1_0", "SqueezeNet 1.0"),
    ("mnasnet0_75", "MnasNet 0.75"), ("mobilenet_v3_large", "MobileNetV3-Large"),
    ("resnet20", "ResNet-20 (CIFAR)"), ("my_own_net", "my_own_net"),
])
def test_labels(name, label):
    assert model_label(name) == label


@pytest.mark.parametrize("arxiv,year", [
    ("1512.03385", 2015), ("2010.11929", 2020), ("arXiv:2104.10972v4", 2021), ("ARXIV:2201.03545", 2022),
    ("0704.0001", 2007),     # the first new-style id (April 2007)
    ("1501.00001", 2015),    # five-digit numbers since 2015
    ("2512.99999", 2025),
    ("0703.1234", None),     # before new-style ids existed
    ("1513.00001", None),    # month 13
    ("1500.00001", None),    # month 0
    ("cs/0601001", None), ("hep-th/9901001v2", None),  # old-style: no year taken
    ("1512.0338", None), ("1412.69801", None), ("15120.3385", None), ("", None), (None, None), ("2010.11929 junk", None),
])
def test_arxiv_year(arxiv, year):
    assert arxiv_year(arxiv) == year


def test_paper_and_module_specs():
    m = atlas_meta("resnet56")
    assert set(m) == KEYS
    assert (m["source"], m["family"], m["year"], m["arxiv"], m["history"]) == (
        "paper", "ResNet", 2015, "1512.03385", False)
    assert m["acc1"] is None and m["weights"] is None  # archviz's own definition: no weights
    assert atlas_meta("alexnet2012")["year"] == 2012 and atlas_meta("alexnet2012")["arxiv"] is None
    for spec in ("pkg.nets:build", "nets.py:make"):
        m = atlas_meta(spec)
        assert (m["source"], m["family"], m["year"], m["acc1"]) == ("module", None, None, None)
        assert m["label"] == spec.rpartition(":")[2] and m["colour"] == catalog.UNKNOWN_COLOUR
    assert family_of("resnet20") == "ResNet" and all(family_of(n) for n in PAPER_HISTORY)


def test_atlas_meta_of_a_warm_snapshot_imports_no_torch(archviz_home):
    catalog.load_snapshot()  # warm the session home's snapshot
    code = ("import sys, json; from archviz.catalog import atlas_meta, catalogue_names\n"
            "ms = [atlas_meta(n) for n in catalogue_names()]\n"
            "print(json.dumps([len(ms), ms[0], sorted(m for m in ('torch', 'torchvision') if m in sys.modules)]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ))
    n, first, heavy = json.loads(r.stdout)
    assert heavy == [] and n == len(torchvision_models()) + len(PAPER_HISTORY)
    assert first["name"] == "alexnet" and first["acc1"] == 56.522  # torchvision's AlexNet meta


# -- which weights a published figure comes from ------------------------------------------------------
def test_v1_and_best_weights_against_torchvision_meta():
    from torchvision.models import ResNet50_Weights, get_model_weights

    v1, best = published("resnet50", "v1"), published("resnet50")
    assert v1["acc@1"] == ResNet50_Weights.IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]["acc@1"] == 76.13
    assert best["acc@1"] == ResNet50_Weights.IMAGENET1K_V2.meta["_metrics"]["ImageNet-1K"]["acc@1"] == 80.858
    assert v1["weights"] == "ResNet50_Weights.IMAGENET1K_V1" and best["weights"] == "ResNet50_Weights.IMAGENET1K_V2"
    assert v1["num_params"] == best["num_params"] == 25_557_032
    assert top1_text(v1) == "76.13 (IMAGENET1K_V1)" and top1_text(None) == "-"
    for name in torchvision_models():
        enum = get_model_weights(name)
        want_v1 = enum.IMAGENET1K_V1 if "IMAGENET1K_V1" in enum.__members__ else enum.DEFAULT
        assert published(name, "v1")["weights"] == str(want_v1), name
        assert published(name, "best")["weights"] == str(enum.DEFAULT), name
        assert atlas_meta(name)["weights"] == str(want_v1)  # the Atlas follows the one rule: V1
    # no V1 at all (SWAG weights only): v1 falls back to the DEFAULT, and says so
    assert catalog.weights_tag(published("vit_h_14", "v1")) == "IMAGENET1K_SWAG_E2E_V1"
    assert atlas_meta("resnet50", weights="v1")["acc1"] == 76.13
    assert atlas_meta("resnet50")["acc1"] == 76.13  # the Atlas, as every view, defaults to V1
    with pytest.raises(ArchvizError, match="unknown weights choice"):
        published("resnet50", "v2")


def test_list_names_the_weights_and_chooses_them():
    best = run_cli("list", "--weights", "best", env={"COLUMNS": "250"})
    v1 = run_cli("list", env={"COLUMNS": "250"})  # the one accuracy rule: V1 unless switched
    assert best.returncode == v1.returncode == 0, (best.stderr, v1.stderr)
    row = {r.split()[0]: r.split() for r in best.stdout.splitlines() if r.startswith("resnet50 ")}
    assert row["resnet50"][-2:] == ["80.858", "IMAGENET1K_V2"]
    row = {r.split()[0]: r.split() for r in v1.stdout.splitlines() if r.startswith("resnet50 ")}
    assert row["resnet50"][-2:] == ["76.13", "IMAGENET1K_V1"]
    assert "Weights" in best.stdout and "DEFAULT" in best.stdout and "IMAGENET1K_V1 weights" in v1.stdout
    bad = run_cli("list", "--weights", "v2")
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1 and "--weights" in bad.stderr


def test_snapshot_keeps_v1_figures_and_refuses_the_old_format():
    versions = {"torch": "1", "torchvision": "1"}
    snap = Snapshot(versions, ("resnet50",), {"resnet50": {"acc@1": 80.858}}, {"resnet50": {"acc@1": 76.13}})
    again = Snapshot.from_json(snap.to_json(), versions)
    assert again == snap and again.v1["resnet50"]["acc@1"] == 76.13
    old = json.loads(snap.to_json())
    old["format"] = 1
    assert Snapshot.from_json(json.dumps(old), versions) is None
    old["format"], old["v1"] = catalog.SNAPSHOT_FORMAT, ["not", "a", "table"]
    assert Snapshot.from_json(json.dumps(old), versions) is None


def test_catalog_info_records_the_family():
    info = catalog.catalog_info(catalog.resolve("convnext_tiny"))
    assert info["family"] == "ConvNeXt" and info["history"] is None
    assert catalog.catalog_info(catalog.resolve("resnet20"))["family"] == "ResNet"


# -- timm: papers from timm's own pretrained configs ------------------------------------------------
def test_timm_model_with_a_paper():
    timm = pytest.importorskip("timm")
    cfg = timm.models.get_pretrained_cfg("convnextv2_atto")  # the reference: timm's own config
    assert cfg.paper_ids == "arXiv:2301.00808"
    m = atlas_meta("timm:convnextv2_atto")
    assert set(m) == KEYS
    assert (m["source"], m["year"], m["arxiv"], m["family"]) == ("timm", 2023, "2301.00808", "ConvNeXt")
    assert m["weights"] == f"convnextv2_atto.{cfg.tag}" and m["acc1"] is None  # timm states no accuracy
    assert m["name"] == "timm:convnextv2_atto" and m["history"] is False
    tagged = atlas_meta("timm:resnet50.a1_in1k")
    assert timm.models.get_pretrained_cfg("resnet50.a1_in1k").paper_ids == "arXiv:2110.00476"
    assert (tagged["year"], tagged["arxiv"], tagged["family"]) == (2021, "2110.00476", "ResNet")


def test_timm_model_without_a_paper_is_kept_unplaced():
    timm = pytest.importorskip("timm")
    assert not timm.models.get_pretrained_cfg("xcit_tiny_12_p16_224").paper_ids
    m = atlas_meta("timm:xcit_tiny_12_p16_224")
    assert (m["year"], m["arxiv"], m["paper"]) == (None, None, None)
    assert m["family"] == "xcit (timm)"  # timm's module names the family
    assert m["colour"] in catalog.OTHER_COLOURS and m["colour"] == atlas_meta("timm:xcit_small_12_p16_224")["colour"]
    assert not timm.models.get_pretrained_cfg("resnet50.tv_in1k").paper_ids
    tv = atlas_meta("timm:resnet50.tv_in1k")  # this tag's config names no paper: ResNet's own places it
    assert (tv["year"], tv["arxiv"], tv["year_source"]) == (2015, "1512.03385", "family paper (arXiv 1512.03385)")
    assert atlas_meta("timm:convnextv2_atto")["year_source"] == "timm config (arXiv 2301.00808)"
    assert atlas_meta("timm:tf_efficientnetv2_s")["family"] == "EfficientNetV2"
    assert atlas_meta("timm:no_such_model")["family"] is None


def test_every_timm_model_has_a_record():
    timm = pytest.importorskip("timm")
    metas = [atlas_meta(f"timm:{n}") for n in timm.list_models()]
    assert all(set(m) == KEYS and m["family"] for m in metas)
    by_config = [m for m in metas if (m["year_source"] or "").startswith("timm config")]
    assert by_config and all(arxiv_year(m["arxiv"]) == m["year"] for m in by_config)
    by_family = [m for m in metas if (m["year_source"] or "").startswith("family paper")]
    assert by_family and all(m["year"] == catalog.FAMILIES[m["family"]].year for m in by_family)
    assert all(m["year"] is None for m in metas if m["year_source"] is None)


def test_timm_records_are_kept_and_read_without_torch(archviz_home):
    pytest.importorskip("timm")
    want = atlas_meta("timm:convnextv2_atto")  # fills and writes the table for every timm model
    kept = json.loads((archviz_home / catalog.TIMM_ATLAS_FILE).read_text())
    assert kept["versions"] == catalog.installed_versions(("timm",)) and len(kept["metas"]) > 1000
    code = ("import sys, json; from archviz.catalog import atlas_meta\n"
            "m = atlas_meta('timm:convnextv2_atto')\n"
            "print(json.dumps([m, sorted(x for x in ('torch', 'timm') if x in sys.modules)]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ))
    got, heavy = json.loads(r.stdout)
    assert got == want and heavy == [], r.stderr
