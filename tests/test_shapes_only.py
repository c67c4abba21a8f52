"""Tracing on the meta device (profiler.shapes_only) gives the profile a real trace gives: same
figures, fields, blocks, graph and notes; same memory peak as memory.check_model's meta run; models
it cannot follow are traced for real, with the real trace's errors."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn as nn

from archviz.build import build_meta, constructor_of, materialise
from archviz.catalog import resolve
from archviz.errors import ArchvizError
from archviz.memory import meta_activation_peak
from archviz.profiler import profile, profile_module
from archviz.profiler.shapes_only import followable, trace_shapes_only


def figures(p) -> dict:
    data = json.loads(p.to_json())
    data.pop("versions")
    return data


@pytest.mark.parametrize("name,shape", [("resnet18", [1, 3, 224, 224]), ("densenet121", [1, 3, 64, 64]),
                                        ("googlenet", [1, 3, 96, 96]), ("resnet20", [1, 3, 32, 32])])
def test_meta_trace_gives_the_real_profile(name, shape):
    spec = resolve(name)
    constructor = constructor_of(spec, shape)
    meta = build_meta(constructor, shape)
    assert followable(meta) and next(meta.parameters()).device.type == "meta"
    trace, peak = trace_shapes_only(meta, shape)
    assert peak == meta_activation_peak(meta, shape)  # the budget sees what check_model saw
    fast = profile_module(meta, shape, spec.spec, trace=trace)
    real_model = materialise(spec, shape, build_meta(constructor, shape), constructor)
    assert next(real_model.parameters()).device.type == "cpu"
    real = profile_module(real_model, shape, spec.spec)
    assert figures(fast) == figures(real)
    assert figures(profile(name, shape))["totals"] == figures(real)["totals"]


def test_models_the_meta_device_would_change_are_traced_for_real():
    """nn.MultiheadAttention takes its fused path on CPU tensors only: ViT is not followed on meta,
    and its profile keeps the fused operator (and its tracer-warning notes)."""
    with torch.device("meta"):
        vit = torch.nn.MultiheadAttention(8, 2)
    assert not followable(vit)
    p = profile("vit_b_16")
    assert "_native_multi_head_attention" in p.totals["op_breakdown"]
    assert any(n.startswith("Tracer warning") for n in p.notes)


def test_a_failing_meta_run_falls_back_to_the_real_error():
    with torch.device("meta"):
        bad = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(4, 8, 3)).eval()
    assert followable(bad)
    assert trace_shapes_only(bad, [1, 3, 16, 16]) is None  # the meta kernel refuses it too
    with pytest.raises(ArchvizError, match="failed in module '1'"):
        profile_module(nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(4, 8, 3)).eval(), [1, 3, 16, 16])


def test_shortcut_kernels_match_the_meta_kernels():
    """Convolution (strided, dilated, grouped, 1-D and 3-D), eval batch norm and concatenation:
    the shapes and the peak a shortcut gives equal the meta kernels' (memory.meta_activation_peak
    runs the kernels themselves)."""
    cases = [
        (nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, dilation=2), nn.BatchNorm2d(8)), [1, 3, 17, 19], [1, 8, 8, 9]),
        (nn.Sequential(nn.Conv2d(8, 8, 5, groups=4, bias=False), nn.BatchNorm2d(8)), [2, 8, 9, 9], [2, 8, 5, 5]),
        (nn.Sequential(nn.Conv1d(4, 6, 3), nn.BatchNorm1d(6)), [2, 4, 20], [2, 6, 18]),
        (nn.Sequential(nn.Conv3d(2, 3, 3, padding=1), nn.BatchNorm3d(3)), [1, 2, 5, 6, 7], [1, 3, 5, 6, 7]),
    ]
    for model, shape, out in cases:
        meta = model.to("meta").eval().requires_grad_(False)
        trace, peak = trace_shapes_only(meta, shape)
        assert trace.shapes[trace.outputs[0]] == out
        assert peak == meta_activation_peak(meta, shape)
