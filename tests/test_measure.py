"""archviz profile --measure: attribution, roofline arithmetic, bound rule, store, CLI. CPU only, and
no test asserts a wall-clock figure (only relations the attribution guarantees)."""

import json
import math

import pytest
import torch
import torch.nn as nn

from archviz.errors import ArchvizError
from archviz.measure import Options, measure_profile, real_weights, roofline
from archviz.measure import peaks as peaks_mod
from archviz.profiler import profile_module
from conftest import run_cli

FLAGS = {"peak_flops": 1e11, "peak_bw": 1e10}  # skips the microbenchmark where it is not the test
TOY = __file__.replace("test_measure.py", "toy_measure.py")


class TwoLinear(nn.Module):
    """`big` has 8x the MACs of `small`."""

    def __init__(self):
        super().__init__()
        self.small = nn.Linear(256, 256)
        self.block = nn.Sequential(nn.ReLU(), nn.Linear(256, 2048))

    def forward(self, x):
        return self.block(self.small(x))


def measured(model, shape, **kw):
    model = model.eval()
    prof = profile_module(model, shape, "toy")
    return measure_profile(prof, model, Options(**{"repeat": 3, "warmup": 2, "threads": 1, **FLAGS, **kw}))


def test_attribution_sums_and_shares():
    p = measured(TwoLinear(), [64, 256])
    rows = {r["name"]: r for r in p.layers}
    assert rows["block.1"]["macs"] == 8 * rows["small"]["macs"]
    # which layer is slower is the machine's business (no timing asserted here); every leaf ran
    # inside its own range in the profiled runs (attribution by hand: test_attribution_by_hand)
    assert all(rows[n]["latency_ms"] > 0 for n in ("small", "block.0", "block.1"))
    leaves = [r for r in p.layers if r["leaf"]]
    total = p.measurement["total"]
    assert math.isclose(sum(r["latency_ms"] for r in leaves), total["layer_sum_ms"])
    assert math.isclose(rows["block"]["latency_ms"], rows["block.0"]["latency_ms"] + rows["block.1"]["latency_ms"])
    assert math.isclose(rows["(model)"]["latency_ms"], total["layer_sum_ms"])
    assert math.isclose(rows["block"]["bytes"], rows["block.0"]["bytes"] + rows["block.1"]["bytes"])
    assert math.isclose(total["gap_pct"], 100 * (total["eager_ms"] - total["layer_sum_ms"]) / total["eager_ms"])
    lo, hi = total["eager_spread_ms"]
    assert lo <= total["eager_ms"] <= hi and total["graph_ms"] is None and total["launch_gap_ms"] is None
    m = p.measurement
    assert (m["dtype"], m["batch"], m["threads"], m["repeat"]) == ("float32", 64, 1, 3)
    assert m["device"].startswith("cpu: ") and m["peaks"] == {"flops": 1e11, "bytes_per_s": 1e10, "source": "flag"}
    assert all(r[k] is not None for r in leaves for k in ("latency_ms", "bytes", "achieved_flops", "bound"))


class Range:
    def __init__(self, start, end):
        self.start, self.end = start, end


class Event:
    """A made-up profiler event: a name, a time range in microseconds, and a device time."""

    def __init__(self, name, start, end, device_us=None):
        self.name, self.time_range, self.device_time_total = name, Range(start, end), device_us


def test_attribution_by_hand():
    """Three profiled iterations (the first dropped): `a` ran 100 us in each, called twice in the
    last (100 + 50); `b` 300 us, then 500, and a range of b's that ends past its iteration is not
    counted; `c` never ran. CPU medians: a = median(100, 150) = 125 us, b = median(300, 500) = 400
    us. On CUDA the device times count instead (a: 10 and 10 + 5, b: 30 and 50)."""
    from archviz.measure.timing import ITERATION, PREFIX, attribute

    events = [Event(ITERATION, 0, 1000), Event(PREFIX + "a", 10, 900, 1),  # start-up: dropped
              Event(ITERATION, 1000, 2000), Event(PREFIX + "a", 1100, 1200, 10), Event(PREFIX + "b", 1300, 1600, 30),
              Event(ITERATION, 2000, 3000), Event(PREFIX + "a", 2100, 2200, 10), Event(PREFIX + "a", 2300, 2350, 5),
              Event(PREFIX + "b", 2400, 2900, 50), Event(PREFIX + "b", 2950, 3100, 99),  # ends past: out
              Event("aten::addmm", 1100, 1150)]
    assert attribute(events, ["a", "b", "c"], "cpu") == {"a": 0.125, "b": 0.4, "c": 0.0}
    assert attribute(events, ["a", "b", "c"], "cuda") == {"a": 0.0125, "b": 0.04, "c": 0.0}


def test_threads_restored_and_forward_unpatched():
    before = torch.get_num_threads()
    model = TwoLinear()
    measured(model, [4, 256], threads=1)
    assert torch.get_num_threads() == before
    assert all("forward" not in m.__dict__ for m in model.modules())


def test_bytes_and_intensity_by_hand():
    conv = measured(nn.Sequential(nn.Conv2d(16, 32, 3)), [1, 16, 32, 32]).layer("0")
    nbytes = (32 * 16 * 9 + 32) * 4 + 16 * 32 * 32 * 4 + 32 * 30 * 30 * 4
    assert conv["macs"] == 32 * 30 * 30 * 16 * 9
    assert conv["bytes"] == nbytes and math.isclose(conv["intensity"], 2 * conv["macs"] / nbytes)
    assert math.isclose(conv["achieved_flops"], conv["flops"] / (conv["latency_ms"] / 1e3))
    lin = measured(nn.Sequential(nn.Linear(128, 64)), [4, 128]).layer("0")
    nbytes = (128 * 64 + 64) * 4 + 4 * 128 * 4 + 4 * 64 * 4
    assert lin["bytes"] == nbytes and math.isclose(lin["intensity"], 2 * 4 * 128 * 64 / nbytes)
    half = measured(nn.Sequential(nn.Linear(128, 64)), [4, 128], dtype="bfloat16").layer("0")
    assert half["bytes"] == nbytes // 2


def test_bound_rule_on_synthetic_layers():
    pf, bw = 1e12, 1e11  # ridge 10 FLOP/B
    # intensity 100 >= ridge, near the roof: compute; intensity 1: memory
    assert roofline.bound(1e9, 1e7, 1.5, pf, bw) == "compute"
    assert roofline.bound(1e8, 1e8, 1.5, pf, bw) == "memory"
    # tiny work (roof time 1 us) taking 1 ms, far under 10% of the roof: overhead
    assert roofline.bound(1e6, 1e5, 1.0, pf, bw) == "overhead"
    # the same slowness on big work is not overhead: it is classed by intensity
    assert roofline.bound(1e10, 1e8, 1000.0, pf, bw) == "compute"
    assert roofline.bound(1e6, 0, 1.0, pf, bw) is None and roofline.bound(1e6, 1e5, None, pf, bw) is None
    assert roofline.intensity(200, 100) == 2 and roofline.achieved_flops(1e9, 1000) == 1e9


def test_parse_rate():
    assert roofline.parse_rate("1.5T") == 1.5e12 and roofline.parse_rate("200G") == 2e11
    assert roofline.parse_rate("200GB/s") == 2e11 and roofline.parse_rate("2e11") == 2e11
    with pytest.raises(ArchvizError):
        roofline.parse_rate("fast")


def test_peaks_cached_per_device_dtype_threads(monkeypatch, tmp_path):
    monkeypatch.setenv("ARCHVIZ_HOME", str(tmp_path))
    calls = []
    monkeypatch.setattr(peaks_mod, "microbenchmark",
                        lambda d, t: calls.append(t) or {"flops": 2e11, "bytes_per_s": 3e10})
    first = peaks_mod.device_peaks("cpu", "cpu: x", "float32", 1)
    again = peaks_mod.device_peaks("cpu", "cpu: x", "float32", 1)
    other = peaks_mod.device_peaks("cpu", "cpu: x", "float32", 2)
    assert first == again == other == {"flops": 2e11, "bytes_per_s": 3e10, "source": "microbenchmark"}
    assert len(calls) == 2 and (tmp_path / "peaks.json").is_file()
    flag = peaks_mod.device_peaks("cpu", "cpu: x", "float32", 1, peak_bw=5e9)
    assert flag == {"flops": 2e11, "bytes_per_s": 5e9, "source": "flag"} and len(calls) == 2


class FakeClock:
    """perf_counter for peaks.py: each timed call (a pair of reads) lasts the next of `durations`
    seconds, in turn. The microbenchmark's arithmetic, checked against a clock we control."""

    def __init__(self, durations):
        self.durations, self.reads, self.now = list(durations), 0, 100.0

    def perf_counter(self):
        if self.reads % 2:
            self.now += self.durations[(self.reads // 2) % len(self.durations)]
        self.reads += 1
        return self.now


def test_microbenchmark_rates_by_hand(monkeypatch):
    """Timed calls of 4, 2 and 3 ms: the best is 2 ms. A 1024 x 1024 float32 matmul is 2 * 1024^3
    FLOPs; the copy reads and writes 2^25 bytes (32 MiB) each way. With `seconds` 0 each run stops
    at its three timed calls."""
    import types

    clock = FakeClock([0.004, 0.002, 0.003])
    monkeypatch.setattr(peaks_mod, "time", types.SimpleNamespace(perf_counter=clock.perf_counter, time=peaks_mod.time.time))
    p = peaks_mod.microbenchmark("cpu", "float32", seconds=0.0)
    assert p == pytest.approx({"flops": 2 * 1024 ** 3 / 0.002, "bytes_per_s": 2 * 2 ** 25 / 0.002}, rel=1e-9)
    assert clock.reads == 2 * 3 * 2  # three timed calls in each of the two runs


def test_real_microbenchmark_runs():
    p = peaks_mod.microbenchmark("cpu", "float32", seconds=0.02)
    assert set(p) == {"flops", "bytes_per_s"} and all(math.isfinite(v) and v > 0 for v in p.values())


def test_measured_profile_is_stored_and_hit(monkeypatch, tmp_path):
    import archviz.measure as measure
    from archviz.service import get_measured_profile, get_profile
    from archviz.store import Store

    store = Store(tmp_path / "p.sqlite")
    opts = Options(repeat=3, threads=1, **FLAGS)
    first = get_measured_profile("resnet20", None, opts, store=store)
    # the root's latency is the sum of its leaves' (the attribution's identity), as measured
    assert first.layer("(model)")["latency_ms"] == pytest.approx(first.measurement["total"]["layer_sum_ms"])

    def boom(*a, **k):
        raise AssertionError("measured again")
    monkeypatch.setattr(measure, "profile_and_measure", boom)
    second = get_measured_profile("resnet20", None, opts, store=store)
    assert second.measurement == first.measurement
    other = get_measured_profile("resnet20", None, Options(repeat=3, threads=1, peak_flops=5e11,
                                                            peak_bw=1e10), store=store)
    assert other.measurement["peaks"]["flops"] == 5e11  # the roofline follows new flags on a hit
    with pytest.raises(AssertionError):  # another batch is another key
        get_measured_profile("resnet20", None, Options(batch=2, threads=1, **FLAGS), store=store)
    plain = get_profile("resnet20", store=store)  # unmeasured profiles are unaffected
    assert plain.measurement is None and "latency_ms" not in plain.layers[0]


def test_real_weights_are_finite():
    from archviz.build import build_model
    from archviz.catalog import resolve

    model = build_model(resolve("resnet20"), [1, 3, 32, 32])
    real_weights(model)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_cli_measure_json():
    res = run_cli("profile", f"{TOY}:toy", "-i", "2x64", "--measure", "--batch", "4", "--repeat", "3",
                  "--threads", "1", "-f", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    m = data["measurement"]
    assert {"device", "dtype", "batch", "threads", "repeat", "warmup", "peaks", "total"} <= set(m)
    assert {"eager_ms", "eager_spread_ms", "graph_ms", "launch_gap_ms", "layer_sum_ms", "gap_pct"} <= set(m["total"])
    # the peaks are the microbenchmark's, as kept in ARCHVIZ_HOME/peaks.json for this device
    from archviz.measure import peaks as peaks_file

    kept = peaks_file.read_cache()
    assert m["peaks"]["source"] == "microbenchmark"
    assert any(v["flops"] == m["peaks"]["flops"] and v["bytes_per_s"] == m["peaks"]["bytes_per_s"] for v in kept.values())
    assert m["batch"] == 4 and data["input_shape"] == [4, 64] and data["layers"][0]["macs"] == 4 * (64 * 128 + 128 + 128 * 10)  # + ReLU
    assert all({"latency_ms", "bytes", "intensity", "achieved_flops", "bound"} <= set(r) for r in data["layers"])
    table = run_cli("profile", f"{TOY}:toy", "-i", "2x64", "--measure", "--repeat", "3", "--threads", "1",
                    "--peak-flops", "1T", "--peak-bandwidth", "100G", env={"COLUMNS": "160"})
    assert table.returncode == 0 and "Bound" in table.stdout and "Sum of layer times" in table.stdout
    assert "1 TFLOP/s, 100 GB/s (flag)" in table.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cli_cuda_without_cuda_is_one_line():
    res = run_cli("profile", f"{TOY}:toy", "-i", "2x64", "--measure", "--device", "cuda")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "CUDA is not available" in res.stderr


def test_a_peak_below_the_fastest_layer_is_raised_and_said():
    """Hand numbers: a layer of 2e9 FLOPs in 10 ms reaches 2e11 FLOP/s; a microbenchmark peak of 1e11
    is raised to it (and says so); a peak given as a flag is kept."""
    from types import SimpleNamespace

    from archviz.measure import raised_to_observed

    prof = SimpleNamespace(layers=[{"name": "a", "flops": 2e9}, {"name": "b", "flops": 1e6}])
    peaks = {"flops": 1e11, "bytes_per_s": 1e10, "source": "microbenchmark"}
    raised = raised_to_observed(peaks, prof, {"a": 10.0, "b": 1.0})
    assert raised["flops"] == pytest.approx(2e11) and "raised to the fastest layer" in raised["source"]
    assert raised_to_observed({**peaks, "source": "flag"}, prof, {"a": 10.0})["flops"] == 1e11
    assert raised_to_observed({**peaks, "flops": 5e11}, prof, {"a": 10.0})["flops"] == 5e11
