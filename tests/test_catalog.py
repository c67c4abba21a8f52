"""Every torchvision classification model against its published meta: parameters exactly, GFLOPS
within 1% (or the rounding of the published figure), and a receptive field wherever the network
stays convolutional."""

import pytest

from archviz.catalog import torchvision_models
from archviz.profiler import profile
from conftest import torchvision_meta
from reference_depth import fx_depth


def reference_depth(name: str) -> int:
    """The depth by an independent count: the longest weighted path on torch.fx's trace of
    torchvision's own model (tests/reference_depth.py), built on the meta device (no weights)."""
    import torch
    import torchvision

    try:
        with torch.device("meta"):
            model = torchvision.models.get_model(name, weights=None)
    except NotImplementedError:  # a builder that copies a tensor's data (RegNetX's width rounding)
        model = torchvision.models.get_model(name, weights=None)
    return fx_depth(model)

pytestmark = pytest.mark.slow

# Published num_params counts an auxiliary classifier the inference model does not build.
AUX = {"inception_v3": 3_326_696}
# Window attention reshuffles positions: the field is honestly unknown past the patch embedding.
WINDOWED = ("swin_", "maxvit_")


@pytest.mark.parametrize("name", torchvision_models())
def test_model_matches_published_meta(name):
    p = profile(name)
    pub = torchvision_meta(name)
    assert p.totals["params"] + AUX.get(name, 0) == pub["num_params"]
    ours = p.totals["conv_linear_macs"] / 1e9
    assert abs(ours - pub["gflops"]) <= max(0.01 * pub["gflops"], 0.0005), (ours, pub["gflops"])
    assert p.totals["flops"] == 2 * p.totals["macs"]
    assert p.uncounted_ops == {}
    assert p.totals["depth"] == reference_depth(name)
    if not name.startswith(WINDOWED + ("vit_",)):
        assert p.totals["receptive_field"] == "global", p.totals  # classifiers: the output mixes all
        last = p.totals["last_spatial_field"]
        assert last["effective_stride"] in ([32, 32], [16, 16]), p.totals
        assert last["receptive_field"][0] > 100
