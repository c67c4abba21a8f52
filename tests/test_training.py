"""Memory and training cost (issue 23), checked against references archviz does not make: real CPU
steps measured by torch.profiler's memory events, FlopCounterMode run on real tensors, torch's own
optimizer state, and sizes worked out by hand."""

from __future__ import annotations

import json

import pytest
import torch
import torchvision
from torch import nn
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from archviz.errors import ArchvizError
from archviz.training import StepOptions, fit, parse_memory, run_step
from archviz.training.fit import search
from conftest import run_cli
from test_cli import assert_one_line_error

BATCH8 = [8, 3, 224, 224]


def meta_model(name: str) -> nn.Module:
    with torch.device("meta"):
        return getattr(torchvision.models, name)(weights=None)


# ---- independent references ----------------------------------------------------------------------

def real_cpu_step_peak(name: str, shape: list[int], optimizer: str) -> int:
    """Allocator-level peak of a real CPU run (model built, optimizer made, two training steps), from
    torch.profiler's memory events: their signed sizes summed in time order."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        model = getattr(torchvision.models, name)(weights=None).train()
        params = list(model.parameters())
        opt = (torch.optim.SGD(params, lr=0.1, momentum=0.9, foreach=False) if optimizer == "sgd"
               else torch.optim.Adam(params, foreach=False))
        x = torch.randn(*shape)
        for _ in range(2):
            opt.zero_grad(set_to_none=True)
            model(x).sum().backward()
            opt.step()
    events = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events()
                    if e.name() == "[memory]")
    live = peak = 0
    for _, nbytes in events:
        live += nbytes
        peak = max(peak, live)
    return peak


def real_flops(name: str, shape: list[int]) -> tuple[dict[str, int], dict[str, int]]:
    """FlopCounterMode per module on a real CPU forward, then after the backward too."""
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).train()
    with FlopCounterMode(display=False, depth=None) as counter:
        out = model(torch.randn(*shape))
        forward = {k: sum(v.values()) for k, v in counter.get_flop_counts().items()}
        out.sum().backward()
    return forward, {k: sum(v.values()) for k, v in counter.get_flop_counts().items()}


# ---- the checks ----------------------------------------------------------------------------

def test_resnet18_forward_and_backward_flops_equal_flopcounter_on_real_tensors():
    forward, total = real_flops("resnet18", BATCH8)
    res = run_step(meta_model("resnet18"), BATCH8, StepOptions(train=True))
    assert res.fwd_flops == forward["Global"] > 0
    assert res.fwd_flops + res.bwd_flops == total["Global"]
    # per layer too, under the Profile's row names
    for row, real in (("conv1", "ResNet.conv1"), ("layer3.0.conv2", "ResNet.layer3.0.conv2"), ("fc", "ResNet.fc")):
        assert res.layers[row].fwd_flops == forward[real]
        assert res.layers[row].bwd_flops == total[real] - forward[real]
    # backward is counted, not assumed 2x forward: conv1's input needs no gradient, so its backward
    # is the weight gradient alone (1x), while a middle conv computes both (2x)
    assert res.layers["conv1"].bwd_flops == res.layers["conv1"].fwd_flops
    assert res.layers["layer3.0.conv2"].bwd_flops == 2 * res.layers["layer3.0.conv2"].fwd_flops
    assert res.bwd_flops != 2 * res.fwd_flops


@pytest.mark.parametrize("name", ["resnet18", "densenet121"])
def test_meta_training_peak_within_10_percent_of_a_real_cpu_step(name):
    real = real_cpu_step_peak(name, BATCH8, "sgd")
    meta = run_step(meta_model(name), BATCH8, StepOptions(train=True, optimizer="sgd", foreach=False))
    assert abs(meta.peak - real) <= 0.10 * real, (meta.peak, real)
    # the peak's split adds up to it
    assert sum(meta.at_peak.values()) == meta.peak


def test_adam_peak_within_10_percent_of_a_real_cpu_step():
    real = real_cpu_step_peak("resnet18", BATCH8, "adam")
    meta = run_step(meta_model("resnet18"), BATCH8, StepOptions(train=True, optimizer="adam", foreach=False))
    assert abs(meta.peak - real) <= 0.10 * real, (meta.peak, real)


def test_linear_10_5_by_hand():
    """55 parameters (50 weights + 5 biases) x 4 B = 220 B of parameters and 220 B of gradients;
    Adam keeps exp_avg and exp_avg_sq: 440 B (its 0-dim step counters are not counted); SGD with
    momentum one buffer: 220 B."""
    model = nn.Linear(10, 5)
    adam = run_step(model, [4, 10], StepOptions(train=True, optimizer="adam"))
    assert (adam.param_bytes, adam.grad_bytes, adam.optimizer_bytes) == (220, 220, 440)
    assert adam.at_peak["optimizer"] == 440 and adam.at_peak["weights"] == 220
    row = adam.layers["(model)"]
    assert (row.param_bytes, row.grad_bytes, row.optim_bytes) == (220, 220, 440)
    sgd = run_step(model, [4, 10], StepOptions(train=True, optimizer="sgd"))
    assert sgd.optimizer_bytes == 220 == sgd.at_peak["optimizer"]
    assert adam.trainable_params == 55 and adam.frozen_params == 0
    # torch's own Adam, on real tensors, keeps the same 440 B of parameter-sized state
    real = nn.Linear(10, 5)
    opt = torch.optim.Adam(real.parameters())
    real(torch.randn(4, 10)).sum().backward()
    opt.step()
    kept = sum(t.numel() * t.element_size() for s in opt.state.values() for t in s.values() if t.dim())
    assert kept == 440


def test_frozen_parameters_have_no_gradient_or_state():
    model = nn.Sequential(nn.Linear(10, 5), nn.Linear(5, 2))
    model[0].requires_grad_(False)
    res = run_step(model, [4, 10], StepOptions(train=True, optimizer="adam"))
    assert res.trainable_params == 12 and res.frozen_params == 55
    assert res.grad_bytes == 48 and res.optimizer_bytes == 96
    assert res.layers["0"].grad_bytes == 0 and res.layers["1"].optim_bytes == 96


def test_saved_for_backward_on_conv_relu_by_hand():
    """Conv2d(3, 4, 3, padding=1) then ReLU on 2x3x8x8 float32: the conv saves its input for the
    weight gradient (2*3*8*8*4 = 1536 B; its weight is a parameter, not counted), the ReLU its
    output (2*4*8*8*4 = 2048 B)."""
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
    res = run_step(model, [2, 3, 8, 8], StepOptions(train=True))
    assert res.layers["0"].saved_bytes == 1536
    assert res.layers["1"].saved_bytes == 2048
    assert res.layers["(model)"].saved_bytes == res.saved_bytes == 3584


def test_inference_live_bytes_by_hand():
    """Linear(10, 20), ReLU, Linear(20, 5) on 3x10 float32 under no_grad: the input (120 B) stays
    live; when the ReLU returns, the first output (240 B) and its own (240 B) are live: 600 B, the
    peak; when the last layer returns, the first output is gone: 120 + 240 + 60 = 420 B."""
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))
    res = run_step(model, [3, 10], StepOptions())
    assert res.input_bytes == 120
    assert [name for name, _ in res.timeline] == ["0", "1", "2"]
    assert dict(res.timeline) == {"0": 360, "1": 600, "2": 420}
    assert res.activation_peak == 600
    assert res.weights_bytes == (200 + 20 + 100 + 5) * 4
    assert res.peak == res.weights_bytes + 600


def test_model_flags_restored_and_weights_untouched():
    model = nn.Sequential(nn.Linear(10, 5), nn.BatchNorm1d(5)).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    run_step(model, [4, 10], StepOptions(train=True, optimizer="adamw"))
    assert not model.training and not model[1].training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_amp_keeps_fp32_weights_and_halves_saved_activations():
    """Under AMP the weights, gradients and optimizer state stay float32; what convolutions save is
    bfloat16 (half), plus the bfloat16 copies of the weights autocast makes (saved too)."""
    model = meta_model("resnet18")
    fp32 = run_step(model, BATCH8, StepOptions(train=True))
    amp = run_step(model, BATCH8, StepOptions(train=True, amp=True, dtype="bfloat16"))
    assert amp.param_bytes == fp32.param_bytes and amp.optimizer_bytes == fp32.optimizer_bytes
    assert amp.saved_bytes < 0.75 * fp32.saved_bytes
    conv = "layer3.0.conv2"  # saves its bf16 input and its bf16 weight copy
    assert amp.layers[conv].saved_bytes == fp32.layers[conv].saved_bytes // 2 + amp.layers[conv].param_bytes // 2
    bf16 = run_step(model, BATCH8, StepOptions(train=True, dtype="bfloat16"))
    assert bf16.param_bytes * 2 == fp32.param_bytes


# ---- fit ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("memory,limit", [(999, 10**5), (1000 + 37, 10**5), (5000, 10**5), (12_345, 10**5),
                                          (10**6, 10**5), (10**9, 1000)])
def test_search_matches_brute_force(memory, limit):
    def peak(b):  # convex, piecewise affine in the batch: a constant phase, then activations
        return max(4000 + 5 * b, 1000 + 37 * b + 13 * max(0, b - 50))

    found, probes = search(peak, memory, limit)
    brute = max((b for b in range(1, limit + 1) if peak(b) <= memory), default=0)
    assert found == brute
    assert len(probes) < 60


def test_fit_batch_fits_and_the_next_does_not():
    model = meta_model("resnet18")
    shape = [1, 3, 64, 64]
    memory = parse_memory("600MiB")
    opts = StepOptions(train=True, optimizer="adam")
    result = fit(model, memory, shape, opts)
    assert result.batch > 2
    at = run_step(model, [result.batch, 3, 64, 64], opts, detail=False).peak
    above = run_step(model, [result.batch + 1, 3, 64, 64], opts, detail=False).peak
    assert at <= memory < above
    assert (result.peak, result.next_peak, result.headroom) == (at, above, memory - at)


def test_fit_by_name_inference_more_than_training():
    infer = fit("resnet18", "2GiB", "1x3x64x64")
    train = fit("resnet18", "2GiB", "1x3x64x64", StepOptions(train=True))
    assert infer.batch > train.batch > 0


@pytest.mark.parametrize("text,bytes_", [("24GiB", 24 * 2**30), ("24G", 24 * 2**30), ("512MiB", 2**29),
                                          ("1.5T", int(1.5 * 2**40)), ("1000", 1000), ("1PiB", 2**50),
                                          ("2EiB", 2**61)])
def test_parse_memory(text, bytes_):
    assert parse_memory(text) == bytes_


@pytest.mark.parametrize("text", ["24X", "", "-1G", "nan", "inf", "0", "1e30G"])
def test_parse_memory_refuses_with_the_flag(text):
    with pytest.raises(ArchvizError) as err:
        parse_memory(text)
    assert str(err.value).startswith("--memory") and err.value.exit_code == 2


# ---- the command line ----------------------------------------------------------------------------------

@pytest.mark.parametrize("memory", ["24X", "lots", "-5G", "0"])
def test_cli_fit_bad_memory_is_one_line(memory):
    assert_one_line_error(run_cli("fit", "resnet18", "--memory", memory), 2, "--memory")


def test_cli_fit_too_small_says_so():
    r = run_cli("fit", "resnet18", "--memory", "10MiB", "--train", "--input", "1x3x64x64")
    assert_one_line_error(r, 1, "does not fit 10 MiB even at batch 1")


def test_cli_fit_answer():
    r = run_cli("fit", "resnet18", "--memory", "1GiB", "--input", "1x3x64x64", "--train", "-q")
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.strip().splitlines()
    batch = int(first.split("largest batch ")[1].split()[0].replace(",", ""))
    assert f"batch {batch + 1:,} would peak" in second and "headroom" in first
    opts = StepOptions(train=True)
    model = meta_model("resnet18")
    assert run_step(model, [batch, 3, 64, 64], opts, detail=False).peak <= 2**30 < \
        run_step(model, [batch + 1, 3, 64, 64], opts, detail=False).peak


def test_cli_bad_training_options_are_one_line():
    assert_one_line_error(run_cli("profile", "resnet18", "--train", "--optimizer", "lbfgs"), 2, "--optimizer")
    assert_one_line_error(run_cli("profile", "resnet18", "--amp"), 2, "add --train")
    assert_one_line_error(run_cli("fit", "resnet18", "--memory", "1G", "--dtype", "int8"), 2, "--dtype")
    assert_one_line_error(run_cli("fit", "resnet18", "--memory", "1G", "--optimizer", "adam"), 2, "add --train")


def test_cli_profile_train_json_and_csv():
    r = run_cli("profile", "resnet18", "--train", "--batch", "2", "--input", "1x3x64x64", "-f", "json", "-q")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["input_shape"] == [2, 3, 64, 64]
    tr, mem = data["training"], data["memory"]
    assert tr["optimizer"] == "sgd" and tr["batch"] == 2 and tr["peak_bytes"] > mem["peak_bytes"]
    root = data["layers"][0]
    for key in ("live_bytes", "saved_bytes", "fwd_flops", "bwd_flops", "param_bytes", "grad_bytes", "optim_bytes"):
        assert isinstance(root[key], int), key
    assert root["param_bytes"] == 4 * data["totals"]["params"] == root["grad_bytes"] == root["optim_bytes"]
    assert root["fwd_flops"] == tr["fwd_flops"]
    r = run_cli("profile", "resnet18", "--train", "--batch", "2", "--input", "1x3x64x64", "-f", "csv", "-q")
    header = r.stdout.splitlines()[0].split(",")
    assert header[-7:] == ["live_bytes", "saved_bytes", "fwd_flops", "bwd_flops", "param_bytes", "grad_bytes",
                           "optim_bytes"]


def test_every_profile_has_inference_memory():
    r = run_cli("profile", "resnet18", "--input", "1x3x64x64", "-f", "json", "-q")
    data = json.loads(r.stdout)
    mem = data["memory"]
    assert data["training"] is None
    assert mem["peak_bytes"] == mem["weights_bytes"] + mem["activation_peak_bytes"]
    assert mem["weights_bytes"] >= 4 * data["totals"]["params"]
    leaves = [row for row in data["layers"] if row["name"] != "(model)"]
    # the peak can fall inside a layer (a temporary), so live bytes between layers reach just under it
    assert 0.99 * mem["activation_peak_bytes"] <= max(row["live_bytes"] for row in leaves) <= mem["activation_peak_bytes"]
    assert "saved_bytes" not in data["layers"][0]


# ---- the store keeps them as untrusted data ----------------------------------------------------------

def test_store_round_trip_and_refuses_bad_sections(tmp_path):
    from archviz.profiler import profile as make_profile
    from archviz.store import Store, blob_problem

    prof = make_profile("resnet18", [2, 3, 32, 32], train=StepOptions(train=True, optimizer="adam"))
    st = Store(tmp_path / "s.sqlite")
    st.put(["k"], prof, "2x3x32x32")
    back = st.get("k")
    assert back.training == prof.training and back.memory == prof.memory
    assert back.layers[0]["optim_bytes"] == prof.layers[0]["optim_bytes"]
    data = json.loads(prof.to_json())
    for bad in ({"memory": {**data["memory"], "peak_bytes": float("nan")}},
                {"memory": {**data["memory"], "timeline": [["a", -1]]}},
                {"training": {**data["training"], "at_peak": {"x": "y"}}},
                {"training": "big"},
                # text a terminal would run as escape codes, a missing field a renderer reads, a flag
                # that is not a flag (the review of issue 23)
                {"memory": {**data["memory"], "dtype": "\x1b]0;pwned\x07\x1b[31mred"}},
                {"training": {k: v for k, v in data["training"].items() if k != "optimizer"}},
                {"training": {**data["training"], "amp": {"x": [1]}}},
                {"layers": [{**data["layers"][0], "saved_bytes": 1e40}, *data["layers"][1:]]}):
        assert blob_problem({**data, **bad}) is not None
    assert blob_problem(data) is None


class FailsAboveThree(nn.Module):
    """Runs at batches 1 to 3, raises above (data-dependent code a real model might have)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        if x.shape[0] > 3:
            raise ValueError("batch too large for this toy")
        return self.fc(x)


def test_fit_reports_the_largest_batch_that_ran():
    """A batch that cannot run at all counts as not fitting: the answer is the largest that ran, and
    the line says which batch failed and why (the review of issue 23)."""
    from archviz.render.fit import fit_lines

    result = fit(FailsAboveThree(), "1GiB", [1, 8])
    assert result.batch == 3 and result.failed[0] == 4 and "batch too large" in result.failed[1]
    assert result.next_peak is None and all(peak < 2**30 for _, peak in result.probes)
    lines = fit_lines("toy", result)
    assert "largest batch 3 fits" in lines[0] and lines[1].startswith("batch 4 does not run at all:")


def test_explorer_fit_answer_checks_its_inputs_and_answers():
    """The dashboard's largest-batch form: untrusted values are field errors, never exceptions; a
    good request answers as `archviz fit` does, and Adam (two state buffers per parameter) fits fewer
    than SGD (one)."""
    from archviz.dashboard.logic import FIT_MODES, fit_answer

    for memory, mode in ((None, "inference"), ("lots", "inference"), ("2PiB", "inference"), ("x" * 40, "inference"),
                         ("1GiB", "training, LBFGS"), ("1GiB", ["inference"]), ("1e400G", "inference")):
        r = fit_answer("resnet18", 64, memory, mode)
        assert r["errors"] and "lines" not in r, (memory, mode)
    assert fit_answer("not_a_model", 64, "1GiB", "inference")["errors"]
    sgd = fit_answer("resnet18", 64, "1GiB", "training, SGD")
    adam = fit_answer("resnet18", 64, "1GiB", "training, Adam")
    assert not sgd["errors"] and sgd["lines"][0].startswith("resnet18: largest batch")
    assert 0 < adam["batch"] < sgd["batch"]
    assert "training step (adam" in adam["lines"][0] and set(FIT_MODES) >= {"inference", "training, AdamW"}
    expected = fit("resnet18", 2**30, "1x3x64x64", StepOptions(train=True, optimizer="adam")).batch
    assert adam["batch"] == expected
