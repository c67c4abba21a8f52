"""Bounds and exits: every bad input is one line on stderr and a non-zero exit, within seconds, and
nothing huge is allocated before the memory budget is checked."""

import json

import pytest

from archviz.build import parse_input_shape
from archviz.errors import ArchvizError
from archviz.memory import budget_bytes, meta_activation_peak, parse_bytes
from conftest import run_cli

USER_CODE = '''
import sys
import torch.nn as nn

def exits():
    sys.exit(7)

def exits_zero():
    raise SystemExit

def interrupts():
    raise KeyboardInterrupt

def multiline():
    raise ValueError("first line\\nsecond line\\n\\nthird")

class ExitInForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        if x.device.type != "meta":
            sys.exit(5)
        return self.conv(x)

def exits_in_forward():
    return ExitInForward()

def tiny():
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())

class Odd(BaseException):
    pass

class Unprintable(Exception):
    def __str__(self):
        raise ValueError("str broke")

def odd_base():
    raise Odd("odd")

def generator_exit():
    raise GeneratorExit

def unprintable():
    raise Unprintable()

def noisy():
    print("chatter on stdout")
    return tiny()

class ShellInForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        import os
        os.system("echo from-the-forward")  # writes to file descriptor 1, below Python
        return self.conv(x)

class AllocatesInForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        import torch
        scratch = torch.ones(2 ** 29)  # 2 GiB of float32 on the CPU, whatever device x is on
        return self.conv(x) + scratch[:1].sum()

def allocates():
    return AllocatesInForward()

def shell():
    import os
    os.system("echo from-the-factory")
    return ShellInForward()
'''


@pytest.fixture(scope="module")
def user_code(tmp_path_factory):
    path = tmp_path_factory.mktemp("user") / "user_models.py"
    path.write_text(USER_CODE)
    return path


def one_error_line(r, code=None):
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("archviz: error: "), r.stderr
    assert r.returncode != 0 and (code is None or r.returncode == code), r.returncode
    return lines[0]


@pytest.mark.parametrize("fn,words,code", [
    ("exits", "called exit(7)", 1), ("exits_zero", "called exit(None)", 1),
    ("interrupts", "interrupted", 130), ("multiline", "first line | second line | third", 1),
    ("exits_in_forward", "called exit(5)", 1), ("odd_base", "Odd: odd", 1),
    ("generator_exit", "GeneratorExit", 1), ("unprintable", "(its message could not be printed)", 1),
])
def test_user_code_exits_and_interrupts_are_one_line(user_code, fn, words, code):
    r = run_cli("profile", f"{user_code}:{fn}", "--input", "1x3x16x16")
    assert words in one_error_line(r, code)


def test_huge_input_is_refused_at_once_without_allocating():
    r = run_cli("profile", "resnet18", "--input", "1x3x30000x30000", "--no-cache")
    line = one_error_line(r, 2)
    assert "alone needs 10.8 GB" in line and "ARCHVIZ_MEMORY_BUDGET" in line
    # activations, not the input, exceed the budget: found on the meta device, no storage made
    r = run_cli("profile", "vgg16", "--input", "1x3x4000x4000", "--no-cache")
    # By hand: the peak is at conv1_2, with the input (3 channels), conv1_1's output (64, made
    # in place by ReLU(inplace=True), so counted once) and conv1_2's output (64) live at 4000x4000
    # float32: 4 * (3 + 64 + 64) * 4000**2 = 8.384e9 bytes.
    assert f"needs about {4 * (3 + 64 + 64) * 4000**2 / 1e9:.1f} GB of activations" in one_error_line(r, 2)


@pytest.mark.parametrize("inplace", [True, False])
def test_in_place_output_is_counted_once(inplace):
    """Conv(3->16) -> ReLU -> Conv(16->16) at 1x3x32x32 float32, counted by hand: the input is
    3*32*32*4 = 12,288 bytes, each conv output 16*32*32*4 = 65,536. The peak is while the second
    conv writes: input + first conv's output (ReLU(inplace=True) returns that same storage; a
    plain ReLU's output replaces it, the first freed once ReLU returns) + second conv's output =
    12,288 + 2 * 65,536 = 143,360 bytes, in place or not."""
    import torch.nn as nn

    from archviz.memory import meta_activation_peak

    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(inplace=inplace),
                          nn.Conv2d(16, 16, 3, padding=1)).to("meta")
    assert meta_activation_peak(model, [1, 3, 32, 32]) == 3 * 32 * 32 * 4 + 2 * 16 * 32 * 32 * 4


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown"])
def test_user_code_writing_to_fd_1_never_reaches_stdout(user_code, fmt):
    r = run_cli("profile", f"{user_code}:shell", "--input", "1x3x16x16", "-f", fmt, "--no-cache")
    assert r.returncode == 0, r.stderr
    assert "from-the-factory" in r.stderr and "from-the-forward" in r.stderr
    assert "from-the" not in r.stdout
    if fmt == "json":
        assert json.loads(r.stdout)["totals"]["params"] == 3 * 8 * 9 + 8
    if fmt == "csv":
        assert r.stdout.splitlines()[0].startswith("name,")


def test_a_cpu_allocation_in_the_forward_is_refused_before_it_happens(user_code):
    """torch.ones(2**29) in a forward is 2**29 * 4 bytes = 2.1 GB (2 GiB): over a 1 GiB budget it
    is refused before it exists; the child's peak resident memory (counted by the kernel) stays
    far below it."""
    import os
    import subprocess
    import sys

    exe = os.path.join(os.path.dirname(sys.executable), "archviz")
    # a fresh parent whose one child is the CLI: its children's peak RSS is that run's alone
    probe = ("import json, resource, subprocess, sys\n"
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
             "print(json.dumps([r.returncode, r.stderr, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))")
    out = subprocess.run([sys.executable, "-c", probe, exe, "profile", f"{user_code}:allocates", "--input",
                          "1x3x16x16", "--no-cache"], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "ARCHVIZ_MEMORY_BUDGET": "1G"})
    code, stderr, peak_kib = json.loads(out.stdout)
    lines = stderr.splitlines()
    assert code == 2 and len(lines) == 1, stderr
    assert f"allocates {2 ** 29 * 4 / 1e9:.1f} GB on the CPU" in lines[0] and "budget of 1.1 GB" in lines[0]
    assert peak_kib * 1024 < 2 ** 29 * 4 / 2  # never held the 2 GiB (torch itself: a few hundred MB)


def test_budget_is_configurable_and_stated(user_code):
    r = run_cli("profile", f"{user_code}:tiny", "--input", "1x3x64x64", env={"ARCHVIZ_MEMORY_BUDGET": "100k"})
    line = one_error_line(r, 2)
    assert "over the memory budget of" in line
    r = run_cli("profile", f"{user_code}:tiny", "--input", "1x3x64x64", "-f", "json",
                env={"ARCHVIZ_MEMORY_BUDGET": "1G"})
    assert r.returncode == 0 and json.loads(r.stdout)["totals"]["params"] == 8 * 3 * 9 + 8
    r = run_cli("profile", f"{user_code}:tiny", env={"ARCHVIZ_MEMORY_BUDGET": "lots"})
    assert "is not a size" in one_error_line(r, 2)


def test_meta_peak_matches_hand_count():
    """conv 3->8 (3x3, no padding) on 1x3x64x64: the input (3*64*64) and output (8*62*62) live
    together, then the ReLU output (8*62*62) is made while the conv output is still held."""
    import torch.nn as nn

    import torch

    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
    peak = meta_activation_peak(model, [1, 3, 64, 64])
    assert peak == 4 * (3 * 64 * 64 + 8 * 62 * 62 + 8 * 62 * 62)


def test_parse_bytes_and_default_budget():
    assert parse_bytes("8G") == 8 * 2**30 and parse_bytes("512m") == 512 * 2**20
    assert parse_bytes("1000") == 1000 and parse_bytes("2GiB") == 2 * 2**30
    # the default: 8 GiB, or half the machine's memory where that is less (memory.budget_bytes)
    import os

    half = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    assert budget_bytes() == min(8 * 2**30, half) or "ARCHVIZ_MEMORY_BUDGET" in os.environ


@pytest.mark.parametrize("text,words", [
    ("1e999", "is not a finite size"), ("inf", "is not a finite size"), ("nan", "is not a finite size"),
    ("1e-9", "is less than one byte"), ("0", "is less than one byte"), ("-5G", "is less than one byte"),
    ("1e30", "is more than any machine holds"), ("eight", "is not a size such as 8G"),
])
def test_budget_values_get_their_own_message(text, words):
    with pytest.raises(ArchvizError, match=words):
        parse_bytes(text)
    r = run_cli("profile", "resnet18", "-f", "json", env={"ARCHVIZ_MEMORY_BUDGET": text})
    assert words in one_error_line(r, 2)


@pytest.mark.parametrize("text", ["1x3x123456789012345678901x3", "99999999999", "1x3x2147483648x2"])
def test_huge_integers_parse_cleanly(text):
    with pytest.raises(ArchvizError, match="too large"):
        parse_input_shape(text)
    r = run_cli("profile", "resnet18", "--input", text)
    assert "too large" in one_error_line(r, 2)


@pytest.mark.parametrize("args,words", [
    (("profile", "resnet18", "--depth", "-1"), "greater than or equal to 0"),
    (("profile", "resnet18", "-f", "xml"), "'xml' is not one of"),
    (("profile",), "Missing argument"),
    (("frobnicate",), "No such command"),
    (("dashboard", "--port", "0"), "--port"),
    (("profile", "resnet18", "--input", "1x3x0x4"), "must be positive"),
])
def test_usage_errors_are_one_line(args, words):
    assert words in one_error_line(run_cli(*args), 2)


def test_depth_zero_is_the_model_row_only():
    r = run_cli("profile", "resnet18", "--depth", "0", "-f", "json")
    assert r.returncode == 0
    assert [row["name"] for row in json.loads(r.stdout)["layers"]] == ["(model)"]


def test_user_prints_never_corrupt_machine_output(user_code):
    r = run_cli("profile", f"{user_code}:noisy", "--input", "1x3x16x16", "-f", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["totals"]["params"] == 8 * 3 * 9 + 8
    assert "chatter on stdout" in r.stderr  # the user's print is kept, on stderr


def test_a_comparison_of_a_model_with_itself_is_refused(tmp_path):
    r = run_cli("report", "vgg16", "VGG16", "-o", str(tmp_path / "x.html"))
    assert "vgg16 given twice" in one_error_line(r, 2)
    assert not (tmp_path / "x.html").exists()
