"""`archviz lessons`, AlexNet's first layer by hand, and gradient flow at initialisation: the orderings
are computed here on the same modules (cifar_net, plain_stack), never typed in."""

import json
import math

import pytest

from archviz import lessons
from conftest import run_cli


# ---- the command ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lessons_json():
    r = run_cli("lessons", "-f", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def params(data, key):
    return [v["params"] for v in data["lessons"][key]["variants"]]


def test_json_carries_every_lesson(lessons_json):
    assert params(lessons_json, "kernel") == [409_600, 294_912]        # one 5x5 vs two 3x3, 128 channels
    assert params(lessons_json, "bottleneck") == [147_456, 40_960]
    merge = lessons_json["lessons"]["merge"]["variants"]
    assert [v["out_channels"] for v in merge] == [128, 128 + 4 * 32]  # add keeps the width, concat grows it
    first = lessons_json["lessons"]["first_kernel"]
    assert params(lessons_json, "first_kernel")[0] == 11 * 11 * 3 * 96
    assert [v["receptive_field"] for v in first["variants"]] == [[11, 11], [11, 11]]
    assert first["input_shape"] == [1, 3, 227, 227]


def test_json_gradient_flow_orderings(lessons_json):
    flow = lessons_json["gradient_flow"]
    assert flow["orderings"] and all(o["holds"] for o in flow["orderings"].values())
    v = {x["key"]: x for x in flow["variants"]}
    # the orderings again, from the JSON's own numbers
    orders = {k: abs(math.log10(x["ratio"])) for k, x in v.items()}
    assert orders["plain56"] - orders["resnet56"] >= 2
    assert v["resnet56_nobn"]["first"] >= 100 * v["plain56_nobn"]["first"]
    assert v["relu"]["ratio"] > v["sigmoid"]["ratio"]
    for x in v.values():  # one norm per weighted layer, output to input, first/last consistent
        assert len(x["grad_norms"]) == len(x["layers"])
        assert x["first"] == x["grad_norms"][-1] and x["last"] == x["grad_norms"][0]
        assert x["ratio"] == pytest.approx(x["first"] / x["last"])
    assert v["plain56"]["layers"][0] == "fc" and v["plain56"]["layers"][-1] == "conv1"
    assert len(v["resnet56"]["grad_norms"]) == 56 and len(v["sigmoid"]["grad_norms"]) == lessons.STACK_LAYERS


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_table_and_markdown_render(fmt):
    r = run_cli("lessons", "-f", fmt, "--quiet", env={"COLUMNS": "80"})
    assert r.returncode == 0, r.stderr
    for needle in ("409,600", "294,912", "147,456", "40,960", "34,848", "Gradient flow", "ResNet-56"):
        assert needle in r.stdout, (fmt, needle)
    assert "DOES NOT HOLD" not in r.stdout
    if fmt == "table":
        assert max(len(line) for line in r.stdout.splitlines()) <= 80


def test_bad_format_is_one_line():
    r = run_cli("lessons", "-f", "csv")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "archviz: error:" in r.stderr


# ---- AlexNet's first layer, by hand ------------------------------------------------------------------
def test_large_first_kernel_by_hand():
    lesson = lessons.large_first_kernel()
    single, stack = lesson.variants
    assert single.params == 11 * 11 * 3 * 96 == 34_848
    # five 3x3: the first 3 -> 96, four more 96 -> 96 (no bias)
    assert stack.params == 3 * 3 * 3 * 96 + 4 * (3 * 3 * 96 * 96) == 334_368
    assert single.receptive_field == stack.receptive_field == [11, 11]
    assert single.out_channels == stack.out_channels == 96
    # MACs = weights x output positions: conv1 maps 227 to 55 (stride 4); the unpadded stack maps
    # 227 -> 225 -> 223 -> 221 -> 219, then the stride-4 3x3 -> 55, conv1's grid
    assert single.macs == 34_848 * 55 * 55
    assert stack.macs == (3 * 3 * 3 * 96 * 225 ** 2 + 3 * 3 * 96 * 96 * (223 ** 2 + 221 ** 2 + 219 ** 2)
                          + 3 * 3 * 96 * 96 * 55 ** 2)
    assert lesson.saving() < 0  # at the input the large kernel is the cheap one


# ---- gradient flow, recomputed here on the same modules ---------------------------------------------
def first_over_last(model, x):
    """This test's own measurement: a seeded random projection of the outputs, backpropagated; the
    first conv/linear weight's gradient norm over the last one's, and the first's norm."""
    import torch
    from torch import nn

    out = model(x)
    proj = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    (out * proj).sum().backward()
    weights = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    first, last = (float(w.grad.double().norm()) for w in (weights[0], weights[-1]))
    return first / last, first


@pytest.fixture(scope="module")
def measured():
    import torch

    from archviz.models import cifar_net

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = {}
    try:
        with torch.random.fork_rng(devices=[]):
            gen = torch.Generator().manual_seed(2)
            images, vectors = torch.randn(8, 3, 32, 32, generator=gen), torch.randn(8, 256, generator=gen)
            builds = {"plain56": (lambda: cifar_net(56, False), images),
                      "resnet56": (lambda: cifar_net(56, True), images),
                      "plain56_nobn": (lambda: lessons.without_batch_norm(cifar_net(56, False)), images),
                      "resnet56_nobn": (lambda: lessons.without_batch_norm(cifar_net(56, True)), images),
                      "sigmoid": (lambda: lessons.plain_stack("sigmoid"), vectors),
                      "relu": (lambda: lessons.plain_stack("relu"), vectors)}
            for key, (build, x) in builds.items():
                torch.manual_seed(0)
                model = build().train()
                out[key] = first_over_last(model, x)
    finally:
        torch.set_num_threads(threads)
    return out


def test_resnet_keeps_the_gradient_level_where_plain_does_not(measured):
    """With batch norm (batch statistics) plain-56's first/last ratio is orders of magnitude from 1
    (it grows toward the input), ResNet-56's is not."""
    plain, resnet = measured["plain56"][0], measured["resnet56"][0]
    assert abs(math.log10(plain)) >= abs(math.log10(resnet)) + 2
    assert 0.1 < resnet < 10


def test_without_batch_norm_resnet_first_layer_is_orders_above_plain(measured):
    assert measured["resnet56_nobn"][1] >= 1e2 * measured["plain56_nobn"][1]


def test_relu_keeps_more_gradient_than_sigmoid(measured):
    assert measured["relu"][0] > measured["sigmoid"][0]


def test_lesson_agrees_with_the_test_measurement(measured):
    flow = lessons.gradient_flow()
    for key, (ratio, first) in measured.items():
        assert flow.traces[key].ratio == pytest.approx(ratio, rel=0.05), key
        assert flow.traces[key].first == pytest.approx(first, rel=0.05), key
    assert all(o.holds for o in flow.orderings.values())


def test_gradient_flow_leaves_torch_state_alone():
    import torch

    threads, state = torch.get_num_threads(), torch.random.get_rng_state()
    lessons.gradient_flow.cache_clear()
    lessons.gradient_flow()
    assert torch.get_num_threads() == threads and torch.equal(torch.random.get_rng_state(), state)


# ---- the dashboard's face of it ------------------------------------------------------------------
def test_dashboard_gradient_section():
    from archviz.dashboard import app, logic

    r = logic.fixed_lessons()
    assert logic.fixed_lessons() is r  # cached for the process: the same object, not a new computation
    g = r["gradient"]
    cifar, stack = logic.gradient_figure(g, "cifar"), logic.gradient_figure(g, "stack")
    assert cifar["layout"]["yaxis"]["type"] == "log" == stack["layout"]["yaxis"]["type"]
    assert [t["name"] for t in cifar["data"]] == ["plain-56", "ResNet-56", "plain-56, no BN", "ResNet-56, no BN"]
    assert [t["name"] for t in stack["data"]] == ["sigmoid", "tanh", "ReLU", "ReLU, He init"]
    # drawn as the network reads, from the input: x = 1 is the first layer and carries its norm
    plain = next(v for v in g["variants"] if v["label"] == "plain-56")
    trace = cifar["data"][0]
    assert trace["x"][0] == 1 and trace["y"][0] == plain["first"] and trace["y"][-1] == plain["last"]
    assert "from the input" in cifar["layout"]["xaxis"]["title"]["text"]
    rows = logic.gradient_rows(g)
    assert [row["net"] for row in rows][:2] == ["plain-56", "ResNet-56"] and "first / last" in rows[0]
    assert r["first_kernel"]["variants"][0]["params"] == 34_848
    assert r["first_kernel"]["variants"][0]["receptive_field"] == "11"
    card = app.lesson_card("first", r["first_kernel"])
    assert "9.6x the parameters" in str(card)


def test_lessons_markdown_reads_as_written():
    """Markdown of archviz's own lesson text: '128->32' as typed, not '128-&gt;32' (issue 20)."""
    r = run_cli("lessons", "-f", "markdown")
    assert r.returncode == 0, r.stderr
    assert "| 1x1 128->32 + 3x3 32->128 | 40,960 |" in r.stdout  # 128*32 + 9*32*128 = 40,960 params
    assert "&gt;" not in r.stdout and "&lt;" not in r.stdout
