"""The `archviz` command line (typer + rich). Thin: parse, call the service, hand to a renderer."""

from __future__ import annotations

import functools
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Callable, List, Optional

import warnings

import typer
from typer.core import TyperCommand, TyperGroup

from .build import stdout_to_stderr
from .files import check_target
from .render.numbers import printable
from .errors import ArchvizError, describe

MAX_TIMEOUT = 7 * 24 * 3600.0  # a week: seconds one sweep profile may take (inf or 1e10 is refused)

# torch warns that jit tracing is deprecated; the counting backend seam is where that is handled.
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", message=".*TorchScript.*")


class PlainHelp:
    """Help that reads well: flags show no '<bool>' type (typer shows a set metavar instead)."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class PlainHelpCommand(PlainHelp, TyperCommand):
    """...and arguments appear in the usage line by their metavar (MODEL), not as '{model}'."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = param.metavar or param.name.upper()
                if param.nargs != 1 and not name.endswith("..."):
                    name += "..."
                pieces.append(name if param.required else f"[{name}]")
        return pieces


class PlainHelpGroup(PlainHelp, TyperGroup):
    """The root command: its --help and --version without '<bool>'."""


class OneLineTyper(typer.Typer):
    """Usage errors (bad option values, unknown options) as one line on stderr, exit 2, like every
    other error: click's framed multi-line box is not used."""

    def __call__(self, *args, **kwargs):
        import importlib

        # click's exceptions, wherever this typer keeps them (recent typer vendors click)
        errors = importlib.import_module(typer.BadParameter.__module__)
        kwargs["standalone_mode"] = False
        try:
            rv = super().__call__(*args, **kwargs)
        except getattr(errors, "NoArgsIsHelpError", ()) as exc:
            exc.show()  # the help text, as click prints it
            sys.exit(exc.exit_code)
        except errors.UsageError as exc:
            where = f" (see 'archviz {exc.ctx.info_name} --help')" if exc.ctx and exc.ctx.parent else ""
            print(f"archviz: error: {one_line(exc.format_message())}{where}", file=sys.stderr)
            sys.exit(exc.exit_code)
        except typer.Abort:
            print("archviz: error: aborted", file=sys.stderr)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def command(self, *args, **kwargs):
        kwargs.setdefault("cls", PlainHelpCommand)
        return super().command(*args, **kwargs)


app = OneLineTyper(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                   cls=PlainHelpGroup,
                   help="Take a convolutional network apart: numbers, diagrams, reports, dashboard.")


def versions_line() -> str:
    """'archviz 0.1.0 (torch …, torchvision …, fvcore …)' from package metadata: no torch import."""
    from .catalog import installed_versions

    v = installed_versions(("archviz", "torch", "torchvision", "fvcore"), missing="not installed")
    deps = ", ".join(f"{name} {v[name]}" for name in ("torch", "torchvision", "fvcore"))
    return f"archviz {v['archviz']} ({deps})"


def show_version(value: bool) -> None:
    if value:
        print(versions_line())
        raise typer.Exit(0)


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=show_version,
                                 help="Print the versions of archviz, torch, torchvision and fvcore, and exit."),
) -> None:
    # Options for every command go here (the app's help text is set on `app`).
    pass


def one_line(message: str) -> str:
    """A message as one terminal line: line breaks joined, control characters shown escaped."""
    parts = [p.strip() for p in str(message).splitlines() if p.strip()]
    return printable(" | ".join(parts) or "(no message)")


def fail(message: str, code: int) -> None:
    print(f"archviz: error: {one_line(message)}", file=sys.stderr)
    raise typer.Exit(code)


def check_environment() -> None:
    """Settings read from the environment are checked when any command starts, hit or miss: a bad
    ARCHVIZ_MEMORY_BUDGET is one line even when the answer comes from the store."""
    if os.environ.get("ARCHVIZ_MEMORY_BUDGET"):
        from .memory import budget_bytes

        budget_bytes()


def friendly(fn: Callable) -> Callable:
    """Bad input ends in one line and a non-zero exit, never a traceback (ARCHVIZ_DEBUG=1 shows it)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            check_environment()
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except ArchvizError as exc:
            if os.environ.get("ARCHVIZ_DEBUG"):
                raise
            fail(describe(exc, with_type=False), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except SystemExit:
            raise  # a deliberate exit (rich on a broken pipe); user code's exits are caught earlier
        except BaseException as exc:  # a bug or an environment problem: still one line
            if os.environ.get("ARCHVIZ_DEBUG"):
                raise
            fail(f"{describe(exc)} (set ARCHVIZ_DEBUG=1 for the traceback)", 1)
    return wrapper


def console():
    """A rich console as wide as the terminal, or COLUMNS; off a terminal without COLUMNS, 120.
    Tables are fitted to that width (render.table), never padded out to it."""
    from rich.console import Console

    from .render.table import PIPE_WIDTH

    c = Console()
    if c.is_terminal or os.environ.get("COLUMNS", "").strip().isdigit():
        return c
    return Console(width=PIPE_WIDTH)


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


QUIET_HELP = "No progress display on stderr (it shows only on a terminal, for work over a second)"


class Source(str, Enum):
    torchvision = "torchvision"
    timm = "timm"
    all = "all"


class Weights(str, Enum):
    best = "best"
    v1 = "v1"


@app.command("list")
@friendly
def list_models(all_models: bool = typer.Option(False, "--all", help="Every model: torchvision's and the papers' nets archviz defines."),
                quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
                source: Source = typer.Option(Source.torchvision, "--source", metavar="SOURCE",
                                              help="torchvision (default), timm (names to profile as "
                                                   "timm:NAME; needs archviz\\[timm]) or all"),
                pattern: Optional[str] = typer.Option(None, "--pattern", "-p", metavar="GLOB",
                                                      help="Only names matching GLOB, e.g. 'convnext_*'"),
                weights: Weights = typer.Option(Weights.v1, "--weights", metavar="WEIGHTS",
                                                help="Which torchvision weights Acc@1 comes from: v1 (the "
                                                     "original IMAGENET1K_V1 recipe where it exists; the "
                                                     "default, as in every view) or best (torchvision's "
                                                     "DEFAULT, often a later recipe)")):
    """The catalogue: the 2012-2016 history set with published figures, or every torchvision model."""
    import fnmatch

    from .catalog import HISTORY, PAPER_HISTORY, TIMM_MISSING, timm_models, torchvision_models
    from .progress import stage_reporter
    from .render.table import history_rows, history_table

    timm_names: list[str] = []
    with stage_reporter(quiet) as report, stdout_to_stderr():  # user code never writes our stdout
        if source != Source.timm:
            report("reading the torchvision catalogue (first run only)")
            names, rows = torchvision_models(), history_rows(weights.value)
        if source != Source.torchvision:
            report("reading the timm catalogue")
            try:
                timm_names = timm_models(pattern)
            except ArchvizError as exc:
                if source == Source.timm or str(exc) != TIMM_MISSING:
                    raise
                print(f"archviz: note: {TIMM_MISSING} (listing torchvision only)", file=sys.stderr)
    out = console()
    if source != Source.timm and (all_models or pattern or source == Source.all):
        for name in names:
            if not pattern or fnmatch.fnmatchcase(name, pattern):
                out.print(name + ("  [dim](history)[/dim]" if name in HISTORY else ""))
        for name, h in PAPER_HISTORY.items():
            if not pattern or fnmatch.fnmatchcase(name, pattern):
                out.print(f"{name}  [dim](as published: {h.label})[/dim]")
    elif source != Source.timm:
        out.print(history_table(rows, out.width, weights.value))
    for name in timm_names:
        out.print(f"timm:{name}", markup=False, highlight=False, emoji=False)


MODEL_HELP = "torchvision name (resnet50), package.module:factory or file.py:factory"
INPUT_HELP = "Input shape, e.g. 1x3x224x224 (default: the model's usual input)"
LAYOUT_HELP = ("How --input is read: NCHW, NCL (Conv1d: 1-D receptive field), NLC (tokens: no "
               "receptive field) or CHW (batch 1 added). Default from the count: 4 numbers NCHW, "
               "2 NC, 3 CxHxW for catalogue models and NxCxL for factories")
NO_CACHE_HELP = "Trace again; neither read nor write the profile store"


@app.command()
@friendly
def profile(
    model: str = typer.Argument(..., metavar="MODEL", help=MODEL_HELP),
    input: Optional[str] = typer.Option(None, "--input", "-i", metavar="SHAPE", help=INPUT_HELP),
    layout: Optional[str] = typer.Option(None, "--layout", metavar="LAYOUT", help=LAYOUT_HELP),
    format: Format = typer.Option(Format.table, "--format", "-f", metavar="FORMAT",
                                  help="table, csv, json or markdown"),
    depth: Optional[int] = typer.Option(None, "--depth", "-d", min=0, metavar="N",
                                        help="Collapse the module tree below this level (0 = the model "
                                             "only; table default 2, others all)"),
    columns: Optional[str] = typer.Option(None, "--columns", "-c", metavar="NAMES",
                                          help="Table columns, comma-separated, from name,type,output,"
                                               "params,macs,flops,act,rf,stride,depth,block "
                                               "(default: all that fit the terminal)"),
    no_cache: bool = typer.Option(False, "--no-cache", help=NO_CACHE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
    measure: bool = typer.Option(False, "--measure", help="Also time every layer with torch.profiler "
                                 "(real weights): latency, bytes, intensity, roofline bound"),
    device: str = typer.Option("cpu", "--device", metavar="DEVICE", help="With --measure: cpu or cuda"),
    batch: Optional[int] = typer.Option(None, "--batch", min=1, metavar="N",
                                        help="With --measure or --train: batch size (default: the input's)"),
    dtype: str = typer.Option("float32", "--dtype", metavar="DTYPE",
                              help="With --measure or --train: float32, bfloat16 or float16"),
    repeat: int = typer.Option(10, "--repeat", min=1, metavar="N",
                               help="With --measure: at least N timed runs (more until the median settles); "
                                    "a stored run with fewer is measured again"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, metavar="N",
                                          help="With --measure: torch threads for the run"),
    peak_flops: Optional[str] = typer.Option(None, "--peak-flops", metavar="RATE",
                                             help="With --measure: device FLOP/s, e.g. 1.5T "
                                                  "(default: a microbenchmark)"),
    peak_bandwidth: Optional[str] = typer.Option(None, "--peak-bandwidth", metavar="RATE",
                                                 help="With --measure: device bytes/s, e.g. 200G "
                                                      "(default: a microbenchmark)"),
    max_time: float = typer.Option(10.0, "--max-time", metavar="S",
                                   help="With --measure: seconds of repeats, after --repeat, to bring the "
                                        "median's 95% interval within 5%"),
    train: bool = typer.Option(False, "--train", help="Also meter one training step on the meta device: "
                               "peak memory and its split, saved-for-backward bytes, forward and backward FLOPs"),
    optimizer: str = typer.Option("sgd", "--optimizer", metavar="NAME",
                                  help="With --train: sgd (momentum), adam or adamw"),
    amp: bool = typer.Option(False, "--amp", help="With --train: autocast (fp32 master weights, "
                             "--dtype activations; bfloat16 when --dtype is float32)"),
):
    """Per-layer parameters, MACs/FLOPs, activations, receptive field, stride and depth; inference
    memory (weights, live activations), and a training step's memory and FLOPs (--train)."""
    from .progress import stage_reporter
    from .render.table import FORMATS, MEASURED_TABLE_COLUMNS, TRAINING_TABLE_COLUMNS, parse_columns, rich_table
    from .service import get_profile

    chosen = None if columns is None else parse_columns(columns)
    if chosen is not None and format != Format.table:
        fail(f"--columns applies to --format table, not {format.value}", 2)
    measured_only = [c for c in chosen or () if c in MEASURED_TABLE_COLUMNS]
    if measured_only and not measure:
        fail(f"--columns {measured_only[0]} is a measured figure: add --measure", 2)
    trained_only = [c for c in chosen or () if c in TRAINING_TABLE_COLUMNS]
    if trained_only and not train:
        fail(f"--columns {trained_only[0]} is a training figure: add --train", 2)
    options = train_options = None
    if train:
        if measure:
            fail("--train and --measure are separate runs: give one of them", 2)
        train_options = step_options(True, optimizer, dtype, amp)
    elif optimizer != "sgd" or amp:
        fail(f"{'--amp' if amp else '--optimizer'} applies to a training step: add --train", 2)
    if measure:
        from .measure import Options
        from .measure.roofline import parse_rate

        options = Options(device=device.strip().lower(), dtype=dtype.strip().lower(), batch=batch,
                          repeat=repeat, threads=threads, max_seconds=max_time,
                          peak_flops=None if peak_flops is None else parse_rate(peak_flops),
                          peak_bw=None if peak_bandwidth is None
                          else parse_rate(peak_bandwidth, "--peak-bandwidth")).check()
    out = console() if format == Format.table else None  # measured on the real stdout
    with stage_reporter(quiet) as report, stdout_to_stderr():  # user code never writes our stdout
        if options is not None:
            from .service import get_measured_profile

            prof = get_measured_profile(model, input, options, use_cache=not no_cache,
                                        progress=report, layout=layout)
        elif train_options is not None:
            from .service import get_trained_profile

            prof = get_trained_profile(model, input, train_options, batch, use_cache=not no_cache,
                                       progress=report, layout=layout)
        else:
            prof = get_profile(model, input, use_cache=not no_cache, progress=report, layout=layout)
        report("rendering")
        if format == Format.table:
            answer = rich_table(prof, 2 if depth is None else depth, out.width, chosen)
        else:
            answer = FORMATS[format.value](prof, depth)
    if format == Format.table:  # printed once the progress line is gone
        out.print(answer)
    else:
        sys.stdout.write(answer)


def step_options(train: bool, optimizer: str, dtype: str, amp: bool, foreach: bool = True):
    """The meta step's options (archviz.training), checked: a bad value is one line."""
    from .training import StepOptions

    return StepOptions(train=train, optimizer=optimizer.strip().lower(), dtype=dtype.strip().lower(),
                       amp=amp, foreach=foreach).check()


@app.command()
@friendly
def fit(
    model: str = typer.Argument(..., metavar="MODEL", help=MODEL_HELP),
    memory: str = typer.Option(..., "--memory", "-m", metavar="SIZE",
                               help="Device memory to fit, e.g. 24GiB, 24G, 512MiB (powers of 1024)"),
    train: bool = typer.Option(False, "--train", help="Fit a training step (forward, backward, optimizer "
                               "step) instead of an inference forward"),
    input: Optional[str] = typer.Option(None, "--input", "-i", metavar="SHAPE",
                                        help="Input shape; its batch is what is searched (default: the "
                                             "model's usual input)"),
    layout: Optional[str] = typer.Option(None, "--layout", metavar="LAYOUT", help=LAYOUT_HELP),
    optimizer: str = typer.Option("sgd", "--optimizer", metavar="NAME",
                                  help="With --train: sgd (momentum), adam or adamw"),
    dtype: str = typer.Option("float32", "--dtype", metavar="DTYPE", help="float32, bfloat16 or float16"),
    amp: bool = typer.Option(False, "--amp", help="With --train: autocast (fp32 master weights)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
):
    """The largest batch whose peak memory fits SIZE, found by exponential search and bisection
    over meta-device steps (nothing allocated), with the headroom left."""
    from .progress import stage_reporter
    from .render.fit import fit_lines
    from .training import fit as fit_batch
    from .training import parse_memory

    size = parse_memory(memory)
    if not train and optimizer.strip().lower() != "sgd":
        fail("--optimizer applies to a training step: add --train", 2)
    options = step_options(train, optimizer, dtype, amp)
    with stage_reporter(quiet) as report, stdout_to_stderr():  # user code never writes our stdout
        report("building")
        result = fit_batch(model, size, input, options, layout)
    if result.batch == 0:
        fail(fit_lines(model, result)[0], 1)
    print("\n".join(fit_lines(model, result)))


class Level(str, Enum):
    blocks = "blocks"
    layers = "layers"


class Rankdir(str, Enum):
    TB = "TB"
    LR = "LR"


@app.command()
@friendly
def diagram(
    model: str = typer.Argument(..., metavar="MODEL", help=MODEL_HELP),
    output: Optional[Path] = typer.Option(None, "-o", "--output", metavar="FILE",
                                          help="FILE.svg, .png, .pdf or .dot (default MODEL.svg)"),
    level: Level = typer.Option(Level.blocks, "--level", metavar="LEVEL",
                                help="blocks (one node per block) or layers (one node per layer)"),
    rankdir: Rankdir = typer.Option(Rankdir.TB, "--rankdir", metavar="DIR",
                                    help="TB (top to bottom) or LR (left to right)"),
    fold: bool = typer.Option(True, "--fold/--unfold",
                              help="Fold consecutive blocks of one type into one xN node, or open every run"),
    expand: Optional[str] = typer.Option(None, "--expand", "-e", metavar="NAMES",
                                         help="Modules to open, comma-separated (e.g. layer3,layer4.0): each "
                                              "and every group above it, as clicking them in the graph view"),
    color: str = typer.Option("macs", "--color", "--colour", metavar="FIGURE",
                              help="Fill by macs, params, activations, rf, depth; or latency, achieved, bound "
                                   "(from the stored measurement: archviz profile MODEL --measure)"),
    shapes: bool = typer.Option(False, "--shapes", help="Write tensor shapes on the edges"),
    input: Optional[str] = typer.Option(None, "--input", "-i", metavar="SHAPE", help=INPUT_HELP),
    layout: Optional[str] = typer.Option(None, "--layout", metavar="LAYOUT", help=LAYOUT_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
):
    """Diagram of the architecture graph (the graph view's folding rule), exported by FILE's suffix."""
    from .progress import stage_reporter
    from .render.diagram import check_output, check_colour, write_diagram
    from .service import get_profile, normalise

    name = normalise(model, None)[0]  # the profile's model name, as the default file name
    target = output or Path(f"{name.replace('/', '_').replace(':', '_')}.svg")
    check_target(target)  # a folder in its place first: it has no suffix to complain about
    check_output(target)  # a bad suffix, a missing 'dot' or an unknown colour fails before any profiling
    measured = check_colour(color)
    names = [n.strip() for n in (expand or "").split(",") if n.strip()]
    with stage_reporter(quiet) as report, stdout_to_stderr():  # user code never writes our stdout
        prof = _measured_or_plain(model, input, layout, report) if measured else \
            get_profile(model, input, progress=report, layout=layout)
        report("rendering")
        written = write_diagram(prof, target, level.value, rankdir=rankdir.value, fold=fold, expand=names,
                                colour=color, shapes=shapes)
    print(written)


def _measured_or_plain(model: str, input: Optional[str], layout: Optional[str], report):
    """The stored measured profile for a measured overlay; never a new measurement (that is
    `archviz profile MODEL --measure`, with its own options)."""
    from .service import get_measured_profile

    prof = get_measured_profile(model, input, layout=layout, progress=report, lookup_only=True)
    if prof is None:
        raise ArchvizError(f"no stored measurement of {printable(model)} for a measured colour: run "
                           f"archviz profile {printable(model)} --measure first", 2)
    return prof


@app.command()
@friendly
def report(
    models: Optional[List[str]] = typer.Argument(None, metavar="MODEL...",
                                                 help="One model for a report, several for a comparison"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", metavar="FILE",
                                          help="FILE.html (default reports/MODEL.html, reports/atlas.html)"),
    atlas: bool = typer.Option(False, "--atlas", help="The Atlas of every model in the profile store "
                               "(by year, accuracy vs MACs, a table) instead of a model's report"),
    input: Optional[str] = typer.Option(None, "--input", "-i", metavar="SHAPE", help=INPUT_HELP),
    layout: Optional[str] = typer.Option(None, "--layout", metavar="LAYOUT", help=LAYOUT_HELP),
    no_cache: bool = typer.Option(False, "--no-cache", help=NO_CACHE_HELP),
    measure: bool = typer.Option(False, "--measure", help="Also time every layer on this machine's CPU "
                                 "(float32, the input's batch) and add the Measured speed section"),
    batch: Optional[str] = typer.Option(None, "--batch", metavar="N,N...",
                                        help="With --measure: batch sizes, e.g. 1,8,32,64: a latency and "
                                             "images/s curve"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
):
    """A self-contained HTML report (opens from disk, no network)."""
    from .progress import stage_reporter
    from .render.report import write_report
    from .service import get_measured_profile, get_profiles, normalise

    if output is not None and output.is_dir():
        fail(f"{printable(output)} is a folder: give a file name ending in .html", 2)
    if output is not None and output.suffix.lower() not in (".html", ".htm"):
        fail(f"report output must end in .html, not {output.suffix or '(none)'!r}", 2)
    if output is not None:
        check_target(output)  # a folder in its place, or one that cannot be written: before any work
    if atlas or not models:
        if not atlas:
            fail("give a MODEL (or --atlas for every model in the store)", 2)
        if models or input or layout or measure or no_cache:
            fail("--atlas reads every stored model: it takes no MODEL, --input, --layout, --measure or --no-cache", 2)
        from .atlas import load_rows
        from .render.atlas import write_atlas

        print(write_atlas(load_rows(), output))
        return
    batches = None
    if batch is not None:
        from .measure.throughput import parse_batches

        if not measure:
            fail("--batch draws measured throughput: add --measure", 2)
        batches = parse_batches(batch)
    seen = [normalise(m, None)[0] for m in models]
    twice = sorted({m for m in seen if seen.count(m) > 1})
    if twice:
        fail(f"{', '.join(twice)} given twice: a comparison needs different models", 2)
    with stage_reporter(quiet) as report, stdout_to_stderr():  # user code never writes our stdout
        if measure:
            profiles = [get_measured_profile(m, input, None, use_cache=not no_cache, progress=report,
                                             layout=layout) for m in models]
            if batches:
                from .measure import Options
                from .service import throughput_of

                profiles = [throughput_of(p, input, batches, Options(), report, layout) for p in profiles]
        else:
            profiles = get_profiles(models, input, use_cache=not no_cache, progress=report, layout=layout)
        report("rendering")
        path = write_report(profiles, output)
    print(path)


class DiffFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    html = "html"


@app.command()
@friendly
def diff(
    a: str = typer.Argument(..., metavar="A", help="The model before (as for 'archviz profile')"),
    b: str = typer.Argument(..., metavar="B", help="The model after"),
    input: Optional[str] = typer.Option(None, "--input", "-i", metavar="SHAPE", help=INPUT_HELP),
    format: DiffFormat = typer.Option(DiffFormat.table, "--format", "-f", metavar="FORMAT",
                                      help="table, json, markdown or html"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", metavar="FILE",
                                          help="Write to FILE (atomically) instead of stdout"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
):
    """Two networks compared layer by layer: layers added, removed and changed (type, kernel, stride,
    padding, channels), and per block and in total what each change cost (params, MACs, activations,
    field, depth)."""
    from .diff import diff as compare
    from .files import write_atomic
    from .progress import stage_reporter
    from .render.diff import FORMATS as DIFF_FORMATS
    from .service import get_profiles

    if output is not None:
        check_target(output)
    with stage_reporter(quiet) as report, stdout_to_stderr():  # user code never writes our stdout
        pa, pb = get_profiles([a, b], input, progress=report)
        report("aligning")
        text = DIFF_FORMATS[format.value](compare(pa, pb))
    if output is not None:
        write_atomic(output, text.encode())
        print(output)
    else:
        sys.stdout.write(text)


class LessonFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


@app.command()
@friendly
def lessons(
    format: LessonFormat = typer.Option(LessonFormat.table, "--format", "-f", metavar="FORMAT",
                                        help="table, json or markdown"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
):
    """The design lessons, measured on torch.nn modules: 3x3 stacks, 1x1 bottlenecks, add vs concat,
    AlexNet's 11x11 first layer, and gradient flow at initialisation (the dashboard's Lessons page)."""
    from .progress import stage_reporter
    from .render.lessons import FORMATS, lessons_data, rich_lessons

    with stage_reporter(quiet) as report, stdout_to_stderr():  # user code never writes our stdout
        data = lessons_data(report)
    if format == LessonFormat.table:  # printed once the progress line is gone
        out = console()
        out.print(rich_lessons(data, out.width))
    else:
        sys.stdout.write(FORMATS[format.value](data))


class ExecutorKind(str, Enum):
    local = "local"
    dask = "dask"


@app.command()
@friendly
def sweep(
    models: Optional[List[str]] = typer.Argument(None, metavar="MODELS...",
                                                 help="Models to profile (as for 'archviz profile')"),
    history: bool = typer.Option(False, "--history", help="Add the 2012-2016 history set"),
    torchvision: bool = typer.Option(False, "--torchvision", help="Add every torchvision classifier"),
    timm: Optional[str] = typer.Option(None, "--timm", metavar="PATTERN",
                                       help="Add timm's models matching PATTERN (e.g. 'resnet*', "
                                            "'*' for all), as timm:NAME"),
    input: List[str] = typer.Option([], "--input", "-i", metavar="SHAPE",
                                    help="Input shape (repeatable: every model at each); default: "
                                         "each model's usual input"),
    layout: Optional[str] = typer.Option(None, "--layout", metavar="LAYOUT", help=LAYOUT_HELP),
    executor: ExecutorKind = typer.Option(ExecutorKind.local, "--executor", metavar="KIND",
                                          help="local (worker processes here) or dask"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                            help="With --executor dask: a running scheduler, e.g. "
                                                 "tcp://10.0.0.5:8786 (default: a LocalCluster)"),
    workers: int = typer.Option(os.cpu_count() or 1, "--workers", "-w", min=1, max=512, metavar="N",
                                help="Worker processes (local, or the LocalCluster's)"),
    retries: int = typer.Option(1, "--retries", min=0, max=10, metavar="N",
                                help="Tries again a model that timed out or whose worker died"),
    timeout: float = typer.Option(300.0, "--timeout", min=0, max=MAX_TIMEOUT, metavar="S",
                                  help="Seconds one profile may take before its worker is killed "
                                       "(0: no limit)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar on stderr (failures "
                               "are still listed)"),
):
    """Profile many models into the store, on worker processes or a Dask cluster; skips what is
    stored (resumable), lists failures with their reason, exits 1 when any failed."""
    from .render.sweep import SweepDisplay, summary_table
    from .sweep import check_names, make_executor, select_models
    from .sweep import sweep as run_sweep

    chosen = select_models(models or [], history, torchvision, timm)
    check_names(chosen)
    runner = make_executor(executor.value, workers, timeout or None, retries, scheduler)
    with SweepDisplay(quiet) as display:
        result = run_sweep(chosen, input or [None], layout, runner, watcher=display)
    out = console()
    out.print(summary_table(result, out.width))
    raise typer.Exit(result.exit_code)


@app.command()
@friendly
def peaks(
    measure: bool = typer.Option(False, "--measure", help="Measure the roofs again now (best of --runs runs each) "
                                 "and keep them"),
    device: str = typer.Option("cpu", "--device", metavar="DEVICE", help="With --measure: cpu or cuda"),
    dtype: str = typer.Option("float32", "--dtype", metavar="DTYPE", help="With --measure: float32, bfloat16 or float16"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, metavar="N",
                                          help="With --measure: torch threads (default: torch's)"),
    runs: int = typer.Option(5, "--runs", min=2, max=50, metavar="N", help="With --measure: short runs per roof"),
):
    """The kept device peaks (compute and memory roofs, date, spread, history); --measure measures again."""
    from .measure import Options, num_threads
    from .measure.peaks import device_name, measure_and_keep, read_cache
    from .progress import stage_reporter
    from .render.bench import peaks_lines

    if not measure:
        kept = read_cache()
        if not kept:
            fail("no peaks kept yet: run archviz peaks --measure (or archviz profile MODEL --measure)", 1)
        print("\n".join(line for key, entry in kept.items() for line in peaks_lines(key, entry)))
        return
    opts = Options(device=device.strip().lower(), dtype=dtype.strip().lower(), threads=threads).check()
    with stage_reporter(False) as report, num_threads(opts.threads):
        report("measuring device peaks")
        name = device_name(opts.device)
        entry = measure_and_keep(opts.device, name, opts.dtype, opts.resolved_threads(), runs)
    from .measure.peaks import cache_key

    print("\n".join(peaks_lines(cache_key(name, opts.dtype, opts.resolved_threads()), entry)))


@app.command()
@friendly
def bench(
    models: List[str] = typer.Argument(..., metavar="MODEL...", help="Models to time (catalogue names, timm:NAME, file.py:factory)"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", metavar="FILE",
                                          help="FILE.csv (default: the CSV on stdout)"),
    input: Optional[str] = typer.Option(None, "--input", "-i", metavar="SHAPE", help=INPUT_HELP),
    batch: str = typer.Option("32", "--batch", metavar="N[,N...]",
                              help="Batch sizes, e.g. 1,8,32,64: one row per model and batch (default 32)"),
    device: str = typer.Option("cpu", "--device", metavar="DEVICE", help="cpu or cuda"),
    dtype: str = typer.Option("float32", "--dtype", metavar="DTYPE", help="float32, bfloat16 or float16"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, metavar="N", help="torch threads"),
    repeat: int = typer.Option(10, "--repeat", min=1, metavar="N", help="At least N timed runs per batch"),
    max_time: float = typer.Option(10.0, "--max-time", metavar="S",
                                   help="Seconds of repeats per batch, after --repeat, to settle the median's interval"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
):
    """Inference throughput as CSV in timm benchmark.py's columns (model, infer_img_size,
    infer_samples_per_sec, infer_step_time, infer_batch_size, param_count, infer_gmacs, infer_macts),
    then archviz's interval and grade: it joins timm's published results tables."""
    from .measure import Options
    from .measure.throughput import parse_batches
    from .progress import stage_reporter
    from .render.bench import bench_csv
    from .service import bench as run_bench

    if output is not None and output.is_dir():
        fail(f"{printable(output)} is a folder: give a file name ending in .csv", 2)
    if output is not None and output.suffix.lower() != ".csv":
        fail(f"bench output must end in .csv, not {output.suffix or '(none)'!r}", 2)
    if output is not None:
        check_target(output)
    batches = parse_batches(batch)
    opts = Options(device=device.strip().lower(), dtype=dtype.strip().lower(), repeat=repeat, threads=threads,
                   max_seconds=max_time).check()
    with stage_reporter(quiet) as report, stdout_to_stderr():
        rows = run_bench(models, input, batches, opts, report)
    text = bench_csv(rows)
    noisy = sum(r["quality"] == "noisy" for r in rows)
    if output is None:
        sys.stdout.write(text)
    else:
        from .files import write_atomic

        write_atomic(output, text.encode())
        print(output)
    if noisy:
        print(f"archviz: {noisy} of {len(rows)} rows were graded noisy (a wide interval or spread, or a busy "
              "machine): see their quality column", file=sys.stderr)


@app.command()
@friendly
def dashboard(
    host: str = typer.Option("127.0.0.1", "--host", metavar="ADDRESS", help="Address to bind (loopback by default)"),
    port: int = typer.Option(8050, "--port", min=1, max=65535, metavar="PORT", help="TCP port"),
    threads: int = typer.Option(8, "--threads", min=1, max=256, metavar="N",
                                help="Worker threads of the WSGI server"),
    backlog: int = typer.Option(2048, "--backlog", min=16, max=65535, metavar="N",
                                help="Listen queue for connections waiting to be accepted"),
    allow_host: List[str] = typer.Option([], "--allow-host", metavar="HOST",
                                         help="Also accept requests for this Host name (repeatable); "
                                              "only for deliberate exposure"),
):
    """The Dash dashboard (History, Explorer, Compare, Lessons), served by waitress."""
    from rich.progress import Progress

    from .catalog import HISTORY
    from .dashboard import logic
    from .dashboard.app import create_app, warm_history
    from .dashboard.serve import ServerOptions, check_port, serve

    check_port(host, port)  # a busy port is one line, before the history is warmed
    with Progress(transient=True) as progress:
        task = progress.add_task("profiling the history set (first start only)", total=len(HISTORY))
        warm_history(lambda name: progress.update(task, advance=1, description=f"profiled {name}"))
    options = ServerOptions(host=host, port=port, threads=threads, backlog=backlog,
                            allow_hosts=tuple(allow_host))
    serve(create_app(logic.model_names()), options)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
