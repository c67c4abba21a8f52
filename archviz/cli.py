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

from .errors import ArchvizError

# torch warns that jit tracing is deprecated; the counting backend seam is where that is handled.
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", message=".*TorchScript.*")

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


app = OneLineTyper(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                   help="Take a convolutional network apart: numbers, diagrams, reports, dashboard.")


def one_line(message: str) -> str:
    """A message as one terminal line: line breaks joined, control characters shown escaped."""
    parts = [p.strip() for p in str(message).splitlines() if p.strip()]
    text = " | ".join(parts) or "(no message)"
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def fail(message: str, code: int) -> None:
    print(f"archviz: error: {one_line(message)}", file=sys.stderr)
    raise typer.Exit(code)


def friendly(fn: Callable) -> Callable:
    """Bad input ends in one line and a non-zero exit, never a traceback (ARCHVIZ_DEBUG=1 shows it)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except ArchvizError as exc:
            if os.environ.get("ARCHVIZ_DEBUG"):
                raise
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except SystemExit as exc:  # user code called exit() outside the places that catch it
            fail(f"user code called exit({exc.code!r})", 1 if exc.code in (0, None) else 3)
        except Exception as exc:  # a bug or an environment problem: still one line
            if os.environ.get("ARCHVIZ_DEBUG"):
                raise
            first = (str(exc).strip().splitlines() or [""])[0]
            fail(f"{type(exc).__name__}: {first} (set ARCHVIZ_DEBUG=1 for the traceback)", 1)
    return wrapper


def console():
    """A rich console; off a terminal it is wide enough that tables never fold."""
    from rich.console import Console

    c = Console()
    return c if c.is_terminal else Console(width=200)


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


@app.command("list")
@friendly
def list_models(all_models: bool = typer.Option(False, "--all", help="Every torchvision model, not only the history set.")):
    """The catalogue: the 2012-2016 history set with published figures, or every torchvision model."""
    from rich.table import Table

    from .catalog import HISTORY, published, history_info, torchvision_models
    from .render.numbers import grouped

    out = console()
    if all_models:
        for name in torchvision_models():
            out.print(name + ("  [dim](history)[/dim]" if name in HISTORY else ""))
        return
    t = Table(title="History set (published figures from torchvision's weights meta)", header_style="bold cyan")
    for col in ("Model", "Name", "Year", "Key idea", "ILSVRC top-5", "Params", "GFLOPS (MACs)", "Acc@1"):
        t.add_column(col)
    for name in HISTORY:
        h, pub = history_info(name), published(name) or {}
        il = h["ilsvrc"]
        t.add_row(name, h["label"], str(h["year"]), h["key_idea"],
                  f"{il['top5_error']}% ({il['year']}, #{il['place']})" if il else "-",
                  grouped(pub.get("num_params")), str(pub.get("gflops", "-")), str(pub.get("acc@1", "-")))
    out.print(t)


@app.command()
@friendly
def profile(
    model: str = typer.Argument(..., help="torchvision name, package.module:factory or file.py:factory"),
    input: Optional[str] = typer.Option(None, "--input", "-i", help="Input shape, e.g. 1x3x224x224"),
    format: Format = typer.Option(Format.table, "--format", "-f"),
    depth: Optional[int] = typer.Option(None, "--depth", "-d", min=0,
                                        help="Collapse the module tree below this level (0 = the model only)"),
    no_cache: bool = typer.Option(False, "--no-cache", help="Trace again; neither read nor write the store"),
):
    """Per-layer parameters, MACs/FLOPs, activations, receptive field, stride and depth."""
    from .render.table import FORMATS, rich_table
    from .service import get_profile

    prof = get_profile(model, input, use_cache=not no_cache)
    if format == Format.table:
        console().print(rich_table(prof, 2 if depth is None else depth))
    else:
        sys.stdout.write(FORMATS[format.value](prof, depth))


class Level(str, Enum):
    blocks = "blocks"
    layers = "layers"


class Rankdir(str, Enum):
    TB = "TB"
    LR = "LR"


@app.command()
@friendly
def diagram(
    model: str = typer.Argument(..., help="torchvision name or factory spec"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="FILE.svg|.png|.pdf|.dot (default MODEL.svg)"),
    level: Level = typer.Option(Level.blocks, "--level"),
    rankdir: Rankdir = typer.Option(Rankdir.TB, "--rankdir"),
    fold: bool = typer.Option(True, "--fold/--unfold", help="Fold consecutive blocks of one type into xN"),
    input: Optional[str] = typer.Option(None, "--input", "-i"),
):
    """Block diagram of the dataflow graph, exported by FILE's suffix."""
    from .render.diagram import check_output, write_diagram
    from .service import get_profile, normalise

    name = normalise(model, None)[0]  # the profile's model name, as the default file name
    target = output or Path(f"{name.replace('/', '_').replace(':', '_')}.svg")
    check_output(target)  # a bad suffix or a missing 'dot' fails before any profiling
    prof = get_profile(model, input)
    print(write_diagram(prof, target, level.value, rankdir=rankdir.value, fold=fold))


@app.command()
@friendly
def report(
    models: List[str] = typer.Argument(..., help="One model for a report, several for a comparison"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Default reports/<model>.html"),
    input: Optional[str] = typer.Option(None, "--input", "-i"),
    no_cache: bool = typer.Option(False, "--no-cache"),
):
    """A self-contained HTML report (opens from disk, no network)."""
    from .render.report import write_report
    from .service import get_profiles

    if output is not None and output.suffix.lower() not in (".html", ".htm"):
        fail(f"report output must end in .html, not {output.suffix or '(none)'!r}", 2)
    path = write_report(get_profiles(models, input, use_cache=not no_cache), output)
    print(path)


@app.command()
@friendly
def dashboard(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)"),
    port: int = typer.Option(8050, "--port", min=1, max=65535, help="TCP port"),
    threads: int = typer.Option(8, "--threads", min=1, max=256, help="Worker threads of the WSGI server"),
    backlog: int = typer.Option(2048, "--backlog", min=16, max=65535,
                                help="Listen queue for connections waiting to be accepted"),
    allow_host: List[str] = typer.Option([], "--allow-host",
                                         help="Also accept requests for this Host name (repeatable); "
                                              "only for deliberate exposure"),
):
    """The Dash dashboard (History, Explorer, Compare, Lessons), served by waitress."""
    from rich.progress import Progress

    from .catalog import HISTORY
    from .dashboard import logic
    from .dashboard.app import create_app, warm_history
    from .dashboard.serve import ServerOptions, serve

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
