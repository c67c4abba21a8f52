"""Start the dashboard as a real process on loopback, and call its callbacks over HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DashServer:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).parent / "archviz"
        self.proc = subprocess.Popen([str(exe), "dashboard", "--port", str(self.port)], env=env,
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

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def callback_payload(output: str, inputs: dict[str, object]) -> dict:
    """The body Dash's renderer sends for a callback with inputs {"id.prop": value}."""
    outs = [part for part in output.strip(".").split("...")]
    return {"output": output,
            "outputs": [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]} for o in outs],
            "inputs": [{"id": k.rsplit(".", 1)[0], "property": k.rsplit(".", 1)[1], "value": v}
                       for k, v in inputs.items()],
            "changedPropIds": [next(iter(inputs))], "state": []}


def call(url: str, output: str, inputs: dict[str, object], timeout: float = 60) -> dict:
    body = json.dumps(callback_payload(output, inputs)).encode()
    req = urllib.request.Request(url + "/_dash-update-component", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())["response"]


HISTORY_OUTPUT = "..hist-depth.figure...hist-ilsvrc.figure...hist-bubble.figure.."


def history_inputs(metric="macs", scale="log", variants=None) -> dict[str, object]:
    from archviz.catalog import HISTORY

    return {"hist-metric.value": metric, "hist-scale.value": scale,
            "hist-variants.value": list(HISTORY) if variants is None else variants}
