"""timm:NAME specs: one model per family, checked against the model built independently with
timm.create_model (parameters) and against torch's FlopCounterMode (MACs); the store, the CLI and
the listing."""

import contextlib
import json
import sys
from importlib import metadata

import pytest

timm = pytest.importorskip("timm")

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from archviz.errors import ArchvizError  # noqa: E402
from archviz.service import get_profile  # noqa: E402
from conftest import run_cli  # noqa: E402

# (timm name, input side or None for the default from timm's pretrained config). Small inputs keep
# the file fast; resnet26d, vit and swin use their default input (224) to test the config's size.
CASES = [
    ("resnet26d", None),                     # ResNet-D: deep stem, avg-pool shortcut
    ("tf_efficientnet_b0", 128),             # TF "same" padding: F.pad computed from the input size
    ("convnext_atto", 96),
    ("vit_tiny_patch16_224", None),          # fixed input size (position embeddings)
    ("swin_tiny_patch4_window7_224", None),  # fixed input size (windows)
    ("regnetx_002", 96),
    ("inception_v3", 139),                   # default 299; 139 keeps it a few seconds
]


def shape_of(name, side):
    if side is None:
        return [1, *timm.models.get_pretrained_cfg(name).input_size]
    return [1, 3, side, side]


def profile_of(name, side):
    """Through the service and the store (later tests read it back as a hit)."""
    return get_profile(f"timm:{name}", None if side is None else f"1x3x{side}x{side}")


@contextlib.contextmanager
def explicit_attention():
    """timm models built with attention as explicit matmuls instead of F.scaled_dot_product_attention:
    FlopCounterMode has no formula for the CPU SDPA kernel (it counts 0 for it), while it counts the
    explicit q@k^T and attn@v bmm. archviz counts SDPA as those same two matmuls, so with this the
    comparison is exact; no tolerance is needed for any family."""
    was, experimental = timm.layers.use_fused_attn(), timm.layers.use_fused_attn(experimental=True)
    timm.layers.set_fused_attn(False)
    try:
        yield
    finally:
        timm.layers.set_fused_attn(was, experimental=experimental)


@pytest.mark.parametrize("name,side", CASES, ids=[c[0] for c in CASES])
def test_params_and_macs_match_an_independent_build(name, side):
    shape = shape_of(name, side)
    p = profile_of(name, side)
    assert p.model == f"timm:{name}" and p.input_shape == shape
    with explicit_attention():
        model = timm.create_model(name, pretrained=False).eval()
    assert p.totals["params"] == sum(t.numel() for t in model.parameters())
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(shape))
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    assert p.totals["conv_linear_macs"] == flops // 2  # FlopCounterMode: FLOPs = 2 x MACs
    info = p.catalog["timm"]
    assert info["input_size"] == list(timm.models.get_pretrained_cfg(name).input_size)
    assert info["version"] == metadata.version("timm")


def test_paper_from_timm_config():
    from archviz.catalog import timm_info

    paper = timm_info("convnextv2_atto")["paper"]
    assert paper["arxiv"] == "2301.00808" and "ConvNeXt V2" in paper["title"]
    assert timm_info("resnet26d")["paper"] is None  # its config names no paper


def test_same_padding_receptive_field_known():
    """timm's same padding computes its F.pad amounts from the input size (not constants in the
    trace); the field follows from the shapes. Hand count for tf_efficientnet_b0's stem conv
    (3x3 stride 2, same padding): field 3, stride 2; at the head (before pooling): stride 32."""
    p = profile_of("tf_efficientnet_b0", 128)
    assert p.layer("conv_stem")["receptive_field"] == [3, 3]
    assert p.layer("conv_stem")["effective_stride"] == [2, 2]
    last = p.totals["last_spatial_field"]
    assert last["effective_stride"] == [32, 32] and last["receptive_field"][0] > 128


def test_timm_profiles_are_stored(monkeypatch):
    first = profile_of("regnetx_002", 96)
    assert first.versions["timm"] == metadata.version("timm")

    def no_trace(*args, **kwargs):
        raise AssertionError("traced again: timm:NAME should be a store hit")

    monkeypatch.setattr("archviz.profiler.profile", no_trace)
    again = get_profile(" TIMM:RegNetX_002 ", "1x3x96x96")  # normalised to the same key
    assert again.totals == first.totals


def test_timm_not_installed(monkeypatch):
    from archviz.catalog import resolve

    monkeypatch.setitem(sys.modules, "timm", None)  # find_spec("timm") is None
    with pytest.raises(ArchvizError) as exc:
        resolve("timm:resnet26d")
    assert str(exc.value) == "timm is not installed: pip install 'archviz[timm]'"
    assert exc.value.exit_code == 2


def test_cli_profile_json():
    r = run_cli("profile", "timm:resnet26d", "-f", "json", "-q")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["model"] == "timm:resnet26d" and data["input_shape"] == [1, 3, 224, 224]


def test_cli_unknown_timm_name():
    r = run_cli("profile", "timm:resnet_nonexistent")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "closest" in lines[0] and "resnet" in lines[0], r.stderr


def test_cli_list_timm_pattern():
    r = run_cli("list", "--source", "timm", "--pattern", "convnext_*", "-q")
    assert r.returncode == 0, r.stderr
    names = r.stdout.split()
    assert "timm:convnext_atto" in names and "timm:convnext_tiny" in names
    assert all(n.startswith("timm:convnext_") for n in names)
