"""The Python API on any model a notebook holds: nn.Modules (left untouched), every way of giving an
input, the one-line repr, the typed table, text exports, and a real notebook run headlessly."""

import json
import warnings

import pytest
import torch
from torch import nn

import archviz
from archviz.errors import ArchvizError


def small_net() -> nn.Module:
    """Hand count at 1x3x32x32: conv1 3->8 3x3 pad 1: 224 params, 8*32*32*27 = 221,184 MACs;
    conv2 8->16 3x3 stride 2 pad 1: 1,168 params, 16*16*16*72 = 294,912 MACs; fc 16->10: 170 params,
    160 MACs. Depth 3; receptive field of conv2: 3 + 2*1 = 5 at stride 2."""
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(16, 10))


def test_a_module_is_profiled_and_left_as_it_was():
    model = small_net().train()
    model[1].eval()  # a mixed-mode model keeps each submodule's own mode
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [p.requires_grad for p in model.parameters()]
    p = archviz.profile(model, 32)
    assert p.totals["params"] == 224 + 16 + 1168 + 170  # batch norm: 8 weights + 8 biases
    assert p.totals["conv_linear_macs"] == 221_184 + 294_912 + 160
    assert p.totals["depth"] == 3 and p.layer("3")["receptive_field"] == [5, 5]
    assert [m.training for m in model.modules()] == [True, True, False, True, True, True, True, True]
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # no weight or stat written
    assert [p.requires_grad for p in model.parameters()] == grads
    assert next(model.parameters()).device.type == "cpu"


@pytest.mark.parametrize("size", [32, (1, 3, 32, 32), [1, 3, 32, 32], "1x3x32x32", "3x32x32"])
def test_every_way_of_giving_the_input(size):
    # 3 numbers for a user module are NxCxL unless the layout says CHW (README, Conventions)
    layout = "CHW" if size == "3x32x32" else None
    p = archviz.profile(small_net(), size, layout=layout)
    assert (p.input_shape, p.layout) == ([1, 3, 32, 32], "NCHW")


def test_example_inputs_give_the_shape_and_batch():
    p = archviz.profile(small_net(), example_inputs=torch.randn(4, 3, 32, 32))
    assert p.input_shape == [4, 3, 32, 32] and p.totals["conv_linear_macs"] == 4 * (221_184 + 294_912 + 160)


def test_catalogue_names_take_an_int_size():
    p = archviz.profile("resnet18", 320)
    assert p.input_shape == [1, 3, 320, 320] and p.totals["params"] == 11_689_512


@pytest.mark.parametrize("model,size,words", [
    (small_net(), None, "needs input_size"), (small_net(), 2.5, "input_size must be"),
    (small_net(), True, "input_size must be"), (3.14, None, "must be a catalogue name"),
    ("resnet18", [1, "3"], "input_size must be"),
])
def test_bad_arguments_are_clear(model, size, words):
    with pytest.raises(ArchvizError, match=words):
        archviz.profile(model, size)


def test_repr_is_one_short_line_and_html_has_cards_svg_table():
    p = archviz.profile(small_net(), 32)
    text = repr(p)
    assert "\n" not in text and len(text) < 200
    assert "params 1,578" in text and "depth 3" in text and "Sequential" in text
    page = p._repr_html_()
    assert "1,578" in page and "<svg" in page and "<table" in page and "Receptive field" in page
    d = p.diagram(level="layers")
    assert d.svg.startswith("<svg") and d._repr_svg_() == d.svg


def test_table_columns_are_typed():
    t = archviz.profile("resnet18").table
    assert str(t["params"].dtype) == "Int64" and str(t["rf_h"].dtype) == "Float64"
    assert "receptive_field" not in t.columns and set(t["rf_kind"]) == {"spatial", "global"}
    conv = t[t["name"] == "layer4.1.conv2"].iloc[0]
    assert (conv["rf_h"], conv["rf_w"], conv["stride_h"]) == (435.0, 435.0, 32.0)
    fc = t[t["name"] == "fc"].iloc[0]
    assert fc["rf_kind"] == "global" and fc["rf_h"] is pd_na()


def pd_na():
    import pandas as pd

    return pd.NA


def test_text_exports_and_public_namespace():
    import io

    import pandas as pd

    p = archviz.profile(small_net(), 32)
    df = pd.read_csv(io.StringIO(p.to_csv()))
    assert int(df.loc[df["name"] == "3", "params"].iloc[0]) == 1168
    assert p.to_markdown().startswith("# Sequential")
    assert set(dir(archviz)) == set(archviz.__all__)
    assert not {"Any", "annotations"} & set(vars(archviz))


def test_no_library_warnings_leak():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        archviz.profile(small_net(), 32)
    assert [str(w.message) for w in caught] == []


NOTEBOOK_CELLS = [
    "import archviz\nfrom torch import nn\n"
    "net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2, padding=1))\n"
    "p = archviz.profile(net, (1, 3, 32, 32))\np",
    "p.diagram()",
    "print(p.table[['name', 'params', 'rf_h']].to_string())",
]


def test_a_notebook_runs_headlessly_and_shows_figures(tmp_path):
    """nbclient runs a real kernel: the profile cell shows the cards (params 224 + 1,168 = 1,392),
    the diagram cell an <svg>, and no cell writes anything to stderr (no warnings)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in NOTEBOOK_CELLS]
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [cell.outputs for cell in nb.cells]
    html = outputs[0][0]["data"]["text/html"]
    assert "1,392" in html and "<svg" in html and "Receptive field" in html
    assert outputs[1][0]["data"]["image/svg+xml"].startswith("<svg")
    printed = outputs[2][0]["text"]
    assert "1168" in printed and "5.0" in printed
    streams = [o for out in outputs for o in out if o.get("output_type") == "stream" and o["name"] == "stderr"]
    assert streams == [], json.dumps(streams)[:500]
