"""The smallest input a model accepts: bisection, hand-derived minima, torchvision's own published
minimum sizes, a real CPU forward on each side of the answer, and the answer kept once found."""

import json

import pytest

from archviz import min_size
from archviz.catalog import HISTORY, published


def test_bisection_finds_the_threshold_in_few_probes():
    probes = []

    def runs(n):
        probes.append(n)
        return n >= 37

    assert min_size.smallest_accepted(runs, 224) == 37
    assert len(probes) <= 1 + 8  # the default, then log2(224) halvings
    assert min_size.smallest_accepted(lambda n: True, 224) == 1
    assert min_size.smallest_accepted(lambda n: n >= 224, 224) == 224
    assert min_size.smallest_accepted(lambda n: False, 224) is None  # the default itself fails


# By hand, torchvision's definitions, floor((n + 2p - k) / s) + 1 per layer:
# - vgg16: five 2x2/2 max pools, 32 -> 16 -> 8 -> 4 -> 2 -> 1; 31 -> 15 -> 7 -> 3 -> 1 -> 0 fails.
# - alexnet: conv 11/4 p2, pools 3/2: 63 -> 15 -> 7 -> 7 -> 3 -> 3 -> 1; 62 -> 14 -> 6 -> 2 -> 0 fails.
# - googlenet: conv 7/2 p3, then 3/2 pools with ceil_mode (an output needs 2 inputs): 15 -> 8 -> 4 -> 2 -> 1;
#   14 -> 7 -> 3 -> 1, and the third pool gets 1 input: fails.
# - resnet18: every strided layer is padded, floor((n - 1) / 2) + 1 >= 1: 1 px runs.
HAND = {"vgg16": 32, "alexnet": 63, "googlenet": 15, "resnet18": 1}


@pytest.mark.parametrize("name,pixels", sorted(HAND.items()))
def test_hand_known_minima(name, pixels):
    found = min_size.min_input_size(name)
    assert (found.pixels, found.every_size) == (pixels, True)


def test_describe_names_the_model_and_the_size():
    assert min_size.min_input_size("vgg16").describe() == "vgg16 accepts 32 px and up"


def test_the_history_set_matches_torchvisions_published_minimum():
    """torchvision states each weight's smallest input (meta["min_size"]): an independent table."""
    for name in HISTORY:
        assert [min_size.min_input_size(name).pixels] * 2 == published(name)["min_size"], name


def test_a_real_forward_agrees_on_each_side_of_the_minimum():
    """SqueezeNet 1.0 (1.2 M parameters): the CPU refuses one pixel less and runs the minimum."""
    import torch
    from torchvision.models import squeezenet1_0

    pixels = min_size.min_input_size("squeezenet1_0").pixels
    assert pixels == 21  # 21 -> conv 7/2: 8 -> pool 3/2 ceil: 4 -> 2 -> 1
    model = squeezenet1_0().eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, pixels, pixels)).shape == (1, 1000)
        with pytest.raises(RuntimeError):
            model(torch.zeros(1, 3, pixels - 1, pixels - 1))


def test_models_that_take_only_some_sizes_are_not_promised_every_size():
    vit = min_size.min_input_size("vit_b_16")  # the side must be a multiple of the 16 px patch
    assert not vit.every_size and vit.pixels % 16 == 0
    assert min_size.runs_at("vit_b_16", 96) and not min_size.runs_at("vit_b_16", 100)
    fixed = min_size.min_input_size("alexnet2012")  # flatten into a fixed-size linear layer
    assert fixed.pixels == 227 and not fixed.every_size
    assert "some sizes only" in fixed.describe()


def test_constructors_that_compute_on_values_still_get_an_answer():
    """RegNet computes its widths from tensor values: it is built on the CPU, then moved to meta."""
    assert min_size.min_input_size("regnet_y_400mf").pixels == published("regnet_y_400mf")["min_size"][0]


def test_found_once_then_read_from_memory_and_the_file(monkeypatch, archviz_home):
    min_size.min_input_size("vgg11")
    path = archviz_home / min_size.FILE_NAME
    data = json.loads(path.read_text())
    assert data["sizes"]["vgg11"] == {"pixels": 32, "every_size": True, "reason": "", "sizes": []}
    assert data["versions"] == min_size._versions_key()

    def no_search(name):
        raise AssertionError(f"searched {name} again")

    monkeypatch.setattr(min_size, "search", no_search)
    assert min_size.min_input_size("vgg11").pixels == 32        # memory
    min_size._memory.clear()
    assert min_size.min_input_size("vgg11").pixels == 32        # the file (another process)


def test_a_damaged_or_foreign_file_is_searched_again(monkeypatch, archviz_home):
    path = archviz_home / min_size.FILE_NAME
    monkeypatch.setattr(min_size, "_memory", {})
    for text in ("not json", json.dumps({"versions": "torch=0.0", "sizes": {"vgg13": {"pixels": 99}}}),
                 json.dumps({"versions": min_size._versions_key(), "sizes": {"vgg13": {"pixels": "x"}}})):
        path.write_text(text)
        min_size._memory.clear()
        assert min_size.kept("vgg13") is None
        assert min_size.min_input_size("vgg13").pixels == 32


def test_a_promise_of_n_px_and_up_is_only_made_where_it_holds():
    """maxvit_t runs at 221 to 224 px but not at 225, 232 or 256 (its windows and grids fix the
    size: checked here with torchvision's own model on the meta device): archviz lists the sizes
    that ran instead of promising "221 px and up" (issue 20 item 4)."""
    import torch
    import torchvision

    from archviz.min_size import CHECKED, search

    with torch.device("meta"):
        model = torchvision.models.maxvit_t().eval()

    def runs(n):
        try:
            with torch.no_grad():
                model(torch.zeros(1, 3, n, n, device="meta"))
            return True
        except Exception:
            return False

    found = search("maxvit_t")
    assert not found.every_size and found.pixels == 221
    assert list(found.sizes) == [n for n in range(221, 221 + CHECKED) if runs(n)] == [221, 222, 223, 224]
    assert not any(runs(n) for n in (225, 232, 256))
    assert found.describe().startswith("maxvit_t runs at some sizes only: 221, 222, 223, 224 px")
