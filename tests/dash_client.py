"""Start the dashboard as a real process on loopback, and call its callbacks over HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DashServer:
    def __init__(self, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).parent / "archviz"
        self.proc = subprocess.Popen([str(exe), "dashboard", "--port", str(self.port), *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 600
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/_dash-layout", timeout=2)
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.proc.stdout.read())
                time.sleep(0.3)
        raise RuntimeError("dashboard did not start")

    def stop(self) -> str:
        """Stop the server; returns what it printed."""
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=30)
        return out


def callback_payload(output: str, inputs: dict[str, object]) -> dict:
    """The body Dash's renderer sends for a callback with inputs {"id.prop": value}."""
    outs = [part for part in output.strip(".").split("...")]
    return {"output": output,
            "outputs": [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]} for o in outs],
            "inputs": [{"id": k.rsplit(".", 1)[0], "property": k.rsplit(".", 1)[1], "value": v}
                       for k, v in inputs.items()],
            "changedPropIds": [next(iter(inputs))],
            "state": [{"id": sid, "property": prop, "value": None if sid != "url" else ""}
                      for sid, prop in URL_STATE.get(output, ())]}


def post(url: str, body: bytes, headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, bytes]:
    """POST raw bytes to the callback endpoint: (status, body), error statuses included."""
    req = urllib.request.Request(url + "/_dash-update-component", data=body,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def call(url: str, output: str, inputs: dict[str, object], timeout: float = 60) -> dict:
    status, body = post(url, json.dumps(callback_payload(output, inputs)).encode(), timeout=timeout)
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {body[:200]!r}")
    return json.loads(body)["response"]


HISTORY_OUTPUT = ("..hist-message.children...hist-depth.figure...hist-ilsvrc.figure...hist-bubble.figure..."
                  "hist-url.search..")


def history_inputs(metric="macs", scale="log", variants=None) -> dict[str, object]:
    from archviz.catalog import HISTORY

    return {"hist-metric.value": metric, "hist-scale.value": scale,
            "hist-variants.value": list(HISTORY) if variants is None else variants}


EXPLORER_OUTPUT = ("..ex-message.children...ex-model-msg.children...ex-size-msg.children...ex-headline.children..."
                   "ex-graph-data.data...ex-graph.style...ex-depth.figure...ex-rf.figure...ex-channels.figure..."
                   "ex-share.figure...ex-table.data...ex-roofline.figure...ex-size-hint.children...ex-results.style..."
                   "ex-placeholder.children...ex-url.search...ex-roofline.style...ex-memory-cards.children..."
                   "ex-memory-chart.figure..")
HISTORY_MEASURED_OUTPUT = "..hist-measure-status.children...hist-measured.figure...hist-measure-poll.disabled.."
COMPARE_OUTPUT = ("..cmp-message.children...cmp-table.data...cmp-table.columns...cmp-depth.figure...cmp-rf.figure..."
                  "cmp-channels.figure...cmp-share.figure...cmp-results.style...cmp-table-box.style..."
                  "cmp-placeholder.children...cmp-url.search...cmp-graph-data.data...cmp-diff.children...cmp-diff-box.style..")
# The State their callbacks read: the address bar, and the link's raw values (used on a first draw only).
URL_STATE = {HISTORY_OUTPUT: [("url", "search")], EXPLORER_OUTPUT: [("url", "search"), ("ex-url-state", "data")],
             COMPARE_OUTPUT: [("url", "search"), ("cmp-url-state", "data")]}
LESSON_FIELDS = ("channels", "kernel", "width", "growth", "layers")
LESSONS_OUTPUT = ("..ls-message.children..." + "...".join(f"ls-{f}-msg.children" for f in LESSON_FIELDS)
                  + "...ls-cards.children...ls-figure.figure...ls-figure.style..")


def lesson_inputs(*values: object) -> dict[str, object]:
    return {f"ls-{f}.value": v for f, v in zip(LESSON_FIELDS, values)}


ATLAS_OUTPUT = ("..atlas-message.children...atlas-family-msg.children...atlas-search-msg.children..."
                "atlas-metric-msg.children...atlas-weights-msg.children...atlas-shown.children...atlas-year.figure..."
                "atlas-accuracy.figure..")
ATLAS_CLICK_OUTPUT = "..atlas-click.children...atlas-go.href.."
