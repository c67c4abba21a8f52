"""The command line as a user meets it: exit codes, one-line errors, the JSON contract."""

import json

from conftest import FIXTURES, run_cli

TOYS = str(FIXTURES / "toy_models.py")


def assert_one_line_error(result, code, *needles):
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("archviz: error:")]
    assert len(lines) == 1, result.stderr
    for n in needles:
        assert n in lines[0]


def test_unknown_model_names_closest_matches():
    r = run_cli("profile", "resnet5")
    assert_one_line_error(r, 2, "unknown model", "resnet50")


def test_malformed_input_shape():
    assert_one_line_error(run_cli("profile", "vgg16", "--input", "1x3xabc"), 2, "malformed --input")


def test_factory_that_raises():
    assert_one_line_error(run_cli("profile", f"{TOYS}:raises"), 1, "factory exploded on purpose")


def test_factory_missing_and_not_a_module():
    assert_one_line_error(run_cli("profile", f"{TOYS}:nope"), 2, "no callable 'nope'")
    assert_one_line_error(run_cli("profile", f"{TOYS}:not_a_module"), 1, "not a torch.nn.Module")
    assert_one_line_error(run_cli("profile", "no/such/file.py:f"), 2, "not found")


def test_trace_failure_names_the_module():
    r = run_cli("profile", f"{TOYS}:bad_forward", "--input", "1x3x8x8")
    assert_one_line_error(r, 1, "failed in module 'head'")


def test_input_too_small_for_model():
    r = run_cli("profile", "vgg11", "--input", "1x3x8x8", "--no-cache")
    assert_one_line_error(r, 1, "failed in module 'features.")


def test_json_contract_for_user_factory():
    r = run_cli("profile", f"{TOYS}:hand_cnn", "--input", "1x3x16x16", "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["input_shape"] == [1, 3, 16, 16]
    assert set(data["totals"]) >= {"params", "macs", "flops", "conv_linear_macs", "activations",
                                   "receptive_field", "effective_stride", "depth"}
    layer_keys = {"name", "type", "output_shape", "params", "macs", "flops", "activations",
                  "receptive_field", "effective_stride", "depth", "block"}
    assert all(layer_keys <= set(layer) for layer in data["layers"])
    assert {"uncounted_ops", "conventions", "versions"} <= set(data)
    assert "multiply-add" in data["conventions"]["macs"]
    assert data["totals"]["flops"] == 2 * data["totals"]["macs"]
    assert data["totals"]["depth"] == 3


def test_csv_markdown_and_table_formats():
    base = ("profile", f"{TOYS}:hand_cnn", "--input", "1x3x16x16")
    csv = run_cli(*base, "--format", "csv")
    lines = csv.stdout.splitlines()
    assert csv.returncode == 0 and lines[0].startswith("name,type,level,parent,output_shape")  # header first
    import io

    import pandas as pd

    df = pd.read_csv(io.StringIO(csv.stdout))
    assert int(df.loc[df["name"] == "conv1", "macs"].iloc[0]) == 16 * 16 * 8 * 27
    md = run_cli(*base, "--format", "markdown", "--depth", "1")
    assert md.returncode == 0 and "| conv1 | Conv2d | 1x8x16x16 |" in md.stdout
    table = run_cli(*base)
    assert table.returncode == 0 and "FLOPs" in table.stdout and "conv2" in table.stdout


def test_list_shows_history_with_published_figures():
    r = run_cli("list", env={"COLUMNS": "250"})  # room for every column, Params as whole digits
    assert r.returncode == 0
    assert "DenseNet-201" in r.stdout and "138,357,544" in r.stdout


def test_import_archviz_is_light():
    import subprocess
    import sys

    code = "import sys, archviz; print(sorted(m for m in ('torch', 'torchvision', 'fvcore', 'plotly', 'dash') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "[]"


def test_help_and_errors_a_newcomer_meets(tmp_path):
    """issue 20, item 12: `[timm]` survives rich's markup in help; a measured column without
    --measure is one line saying so; a busy port is one line naming --port, with no banner."""
    import socket

    help_text = run_cli("list", "--help", env={"COLUMNS": "200"}).stdout
    assert "needs archviz[timm])" in help_text
    r = run_cli("profile", "resnet18", "--columns", "name,latency")
    assert r.returncode == 2 and r.stderr.strip() == "archviz: error: --columns latency is a measured figure: add --measure"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = run_cli("dashboard", "--port", str(port), env={"ARCHVIZ_HOME": str(tmp_path)})
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == f"archviz: error: port {port} on 127.0.0.1 is already in use: pick another with --port"
