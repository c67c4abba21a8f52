"""The dashboard as a hostile client meets it: over real HTTP against a running server, every value is
data (never code), bad fields get their own message and never a 500, foreign Host headers are refused,
hits never wait behind tracing, and 500 simultaneous connections are all answered."""

import json
import os
import socket
import threading
import time
import urllib.request

import pytest

from archviz.errors import ArchvizError

from archviz.dashboard import logic, serve
from dash_client import (COMPARE_OUTPUT, EXPLORER_OUTPUT, HISTORY_OUTPUT, LESSONS_OUTPUT, DashServer, call,
                         callback_payload, lesson_inputs, post)


@pytest.fixture(scope="module")
def server(history_profiles):
    srv = DashServer(env=dict(os.environ))
    yield srv
    srv.printed = srv.stop()


def explorer(url, model, size=None):
    return call(url, EXPLORER_OUTPUT, {"ex-model.value": model, "ex-size.value": size})


def text_of(component) -> str:
    """The text of a rendered Dash component dict (message divs)."""
    if component is None:
        return ""
    if isinstance(component, str):
        return component
    children = component.get("props", {}).get("children")
    return " ".join(text_of(c) for c in children) if isinstance(children, list) else text_of(children)


# ---- code is never run -----------------------------------------------------------------------
def test_factory_specs_are_refused_and_never_imported(server, tmp_path):
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.py"
    evil.write_text(f"open({str(marker)!r}, 'w').write('x')\ndef f():\n    open({str(marker)!r}, 'w')\n")
    for spec in ("os:abort", f"{evil}:f", "evil:f", "archviz.cli:main", "tests/fixtures/toy_models.py:tiny"):
        r = explorer(server.url, spec)
        msg = text_of(r["ex-model-msg"]["children"])
        assert "not a catalogue model" in msg and "does not load code" in msg, (spec, msg)
        assert r["ex-table"]["data"] == []
    assert not marker.exists()
    assert server.proc.poll() is None  # os:abort did not kill it
    cmp = call(server.url, COMPARE_OUTPUT, {"cmp-models.value": ["vgg16", f"{evil}:f"]})
    assert "not a catalogue model" in text_of(cmp["cmp-message"]["children"])
    assert not marker.exists()


# ---- wrong values and wrong types: a message per field, never a 500 --------------------------
@pytest.mark.parametrize("model,size,field,words", [
    (123, None, "ex-model-msg", "catalogue name"),
    (["resnet18"], None, "ex-model-msg", "catalogue name"),
    ("resnet18", float("inf"), "ex-size-msg", "whole number"),
    ("resnet18", "abc", "ex-size-msg", "whole number"),
    ("resnet18", 4.5, "ex-size-msg", "whole number"),
    ("resnet18", 100000, "ex-size-msg", "out of range"),
    ("resnet18", True, "ex-size-msg", "whole number"),
    ("resnt18", None, "ex-model-msg", "closest: resnet18"),
])
def test_explorer_bad_fields_get_their_own_message(server, model, size, field, words):
    r = explorer(server.url, model, size)
    assert words in text_of(r[field]["children"])
    other = "ex-size-msg" if field == "ex-model-msg" else "ex-model-msg"
    assert r[other]["children"] is None  # only the bad field is marked


def test_raw_json_overflow_and_structural_garbage(server):
    """1e309 in the raw body (Python reads it as inf) gets a message; a body Dash cannot parse gets
    a 400 with one line, never a 500."""
    body = json.dumps(callback_payload(EXPLORER_OUTPUT, {"ex-model.value": "resnet18", "ex-size.value": 1}))
    status, raw = post(server.url, body.replace('"value": 1}', '"value": 1e309}').encode())
    assert status == 200 and b"whole number" in raw
    for garbage in (b"[]", b"{}", b"not json", b'{"output": 5, "inputs": 7}', b'{"output": "..x.y..", "outputs": []}'):
        status, raw = post(server.url, garbage)
        assert status == 400, (garbage, status, raw)
        assert b"Traceback" not in raw
    r = call(server.url, HISTORY_OUTPUT, {"hist-metric.value": "bogus", "hist-scale.value": 7,
                                          "hist-variants.value": ["vgg16", {"x": 1}]})
    msg = text_of(r["hist-message"]["children"])
    assert "'bogus' is not one of macs, flops" in msg and "7 is not one of log, linear" in msg
    assert r["hist-bubble"]["figure"]["data"]  # fell back to the defaults, still drawn


def test_lessons_fields_each_get_a_message_that_clears(server):
    r = call(server.url, LESSONS_OUTPUT, lesson_inputs(1_000_000, 4, "x", None, 1e308))
    msgs = {f: text_of(r[f"ls-{f}-msg"]["children"]) for f in ("channels", "kernel", "width", "growth", "layers")}
    assert "channels 1000000 is out of range" in msgs["channels"]
    assert "large kernel 4 is even: use an odd number" in msgs["kernel"]  # in range, not out of it
    assert "not 'x'" in msgs["width"] and "not None" in msgs["growth"]
    assert "layers" in msgs["layers"] and r["ls-cards"]["children"] is None
    fixed = call(server.url, LESSONS_OUTPUT, lesson_inputs(64, 5, 16, 8, 2))
    assert all(fixed[f"ls-{f}-msg"]["children"] is None for f in ("channels", "kernel", "width", "growth", "layers"))
    assert fixed["ls-message"]["children"] is None
    too_wide = call(server.url, LESSONS_OUTPUT, lesson_inputs(64, 5, 65, 8, 2))
    assert "more than the 64 channels" in text_of(too_wide["ls-width-msg"]["children"])


# ---- Host header (DNS rebinding) -------------------------------------------------------------
def get_status(url: str, host: str | None) -> int:
    req = urllib.request.Request(url + "/_dash-layout", headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_foreign_host_headers_are_refused(server):
    port = server.port
    assert get_status(server.url, None) == 200
    assert get_status(server.url, f"localhost:{port}") == 200
    assert get_status(server.url, f"127.0.0.1:{port}") == 200
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}", f"[::2]:{port}"):
        assert get_status(server.url, host) == 403, host
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:  # no Host header at all
        s.sendall(b"GET /_dash-layout HTTP/1.0\r\n\r\n")
        assert b" 403 " in s.recv(64)
    status, _ = post(server.url, b"{}", headers={"Host": "rebind.attacker.test"})
    assert status == 403


def test_an_absolute_form_request_line_is_judged_by_its_authority(server):
    """GET http://evil/ with an allowed Host header: the request line's authority is what a proxy
    or the server would route by, so it is checked too."""
    port = server.port

    def status_of(line: str) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(f"{line}\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
            return s.recv(64).split(b" ")[1]

    assert status_of("GET http://evil.example/_dash-layout HTTP/1.1") == b"403"
    assert status_of(f"GET http://user@evil.example:{port}/_dash-layout HTTP/1.1") == b"403"
    assert status_of(f"GET http://127.0.0.1:{port}/_dash-layout HTTP/1.1") == b"200"
    assert status_of("GET /_dash-layout HTTP/1.1") == b"200"


def test_allow_host_admits_a_named_host(history_profiles):
    srv = DashServer(env=dict(os.environ), args=("--allow-host", "archviz.lan"))
    try:
        assert get_status(srv.url, f"archviz.lan:{srv.port}") == 200
        assert get_status(srv.url, f"other.lan:{srv.port}") == 403
    finally:
        srv.stop()


def test_allowed_hosts_rules():
    assert serve.allowed_hosts("127.0.0.1") == {"localhost", "127.0.0.1"}
    assert serve.allowed_hosts("::1") == {"localhost", "127.0.0.1", "::1"}
    assert serve.allowed_hosts("192.168.1.5", ["Box.lan"]) == {"192.168.1.5", "box.lan"}
    assert serve.allowed_hosts("0.0.0.0") == {"localhost", "127.0.0.1"}
    assert serve.host_name("[::1]:8050") == "::1" and serve.host_name("Example.COM:80") == "example.com"
    for malformed in ("localhost:evil", "[localhost]evil", "[127.0.0.1]:1", "localhost:", "a b", "x:1:2"):
        assert serve.host_name(malformed) == "", malformed  # not a Host value: refused


# ---- production server and concurrency -------------------------------------------------------
def test_serves_with_waitress_without_development_warning(history_profiles):
    srv = DashServer(env=dict(os.environ))
    out = srv.stop()
    assert "waitress" in out and "development server" not in out.lower() and "Traceback" not in out


def test_500_simultaneous_connections_are_all_answered(server):
    """Open 500 connections before sending anything, then send on all and read every answer: no
    connection is reset and every answer is a 200 (the listen queue and connection limit hold)."""
    request = (f"GET /_dash-layout HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
               "Connection: close\r\n\r\n").encode()
    socks = [socket.create_connection(("127.0.0.1", server.port), timeout=120) for _ in range(500)]
    errors, statuses = [], []
    try:
        for s in socks:
            s.sendall(request)
        for s in socks:
            try:
                head = s.recv(64)
                statuses.append(head.split(b" ")[1] if head.startswith(b"HTTP/1.1") else head)
            except OSError as exc:
                errors.append(repr(exc))
    finally:
        for s in socks:
            s.close()
    assert errors == [] and statuses == [b"200"] * 500


def test_store_hit_never_waits_behind_tracing(history_profiles):
    """With the torch lock held (a trace or a Lessons run in progress), a stored profile is still
    served; a miss waits for the lock."""
    logic.load("resnet18")  # stored
    done = {}

    def hit():
        done["hit"] = logic.explore("resnet18", None)["profile"].totals["params"]

    def miss():
        done["miss"] = logic.explore("resnet18", 40)["profile"].totals["params"]

    with logic._torch_lock:
        t_hit, t_miss = threading.Thread(target=hit), threading.Thread(target=miss)
        t_hit.start(), t_miss.start()
        t_hit.join(timeout=120)
        assert done.get("hit") == 11_689_512  # answered while the lock was held
        time.sleep(0.5)
        assert "miss" not in done and t_miss.is_alive()  # the miss is queued behind the trace
    t_miss.join(timeout=120)
    assert done["miss"] == 11_689_512


def test_one_key_is_traced_once_under_concurrent_misses(history_profiles, monkeypatch):
    import archviz.profiler

    calls = []
    real = archviz.profiler.profile
    monkeypatch.setattr(archviz.profiler, "profile", lambda *a, **k: calls.append(a) or real(*a, **k))
    answers = []

    def one():
        try:
            answers.append(logic.load("squeezenet1_1", 64).totals["params"])
        except ArchvizError as exc:
            answers.append(str(exc))

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert len(calls) == 1 and len(answers) == 6
    # each got the profile (torchvision's published count), or was told at once it is being made
    assert all(a == 1_235_496 or "is being computed for another request" in str(a) for a in answers), answers


def test_a_burst_for_one_missing_key_holds_no_thread(history_profiles):
    """Ten requests for a profile another request is computing (its key's lock held here) are each
    told so at once, instead of waiting on the lock with a server thread each; a stored profile is
    still served meanwhile. (The speed of a stored request under such a burst: bench_load.py.)"""
    logic.load("resnet18")
    lock = logic._key_locks.get(("resnet18", 48))
    answers = []
    with lock:
        threads = [threading.Thread(target=lambda: answers.append(logic.explore("resnet18", 48))) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)  # a guard: with the old lock wait they would still be waiting here
        assert [t.is_alive() for t in threads] == [False] * 10
        assert [("being computed" in a.get("error", "")) for a in answers] == [True] * 10
        assert logic.explore("resnet18", None)["profile"].totals["params"] == 11_689_512
    assert logic.explore("resnet18", 48)["profile"].totals["params"] == 11_689_512  # once free, made


def test_downloads_take_a_heavy_slot_and_are_rendered_once(history_profiles, monkeypatch):
    import archviz.render.report as report

    logic._rendered.cache_clear()
    renders = []
    real = report.render_html
    monkeypatch.setattr(report, "render_html", lambda *a, **k: renders.append(1) or real(*a, **k))
    held = [logic._heavy_slots.acquire(blocking=False) for _ in range(logic.HEAVY_SLOTS)]
    try:
        assert "busy" in logic.download("report", "resnet18", None)["error"]  # no slot: told at once
    finally:
        for _ in held:
            logic._heavy_slots.release()
    first = logic.download("report", "resnet18", None)
    for _ in range(5):
        assert logic.download("report", "resnet18", None) == first
    assert len(renders) == 1 and first["filename"] == "resnet18.html"


def test_heavy_work_is_bounded_and_hits_still_served(history_profiles):
    """With every heavy slot taken (traces, lessons, measurements in progress), new heavy requests
    are told the server is busy at once, and stored profiles are still served."""
    logic.load("resnet18")
    held = [logic._heavy_slots.acquire(blocking=False) for _ in range(logic.HEAVY_SLOTS)]
    try:
        assert all(held)
        busy = logic.lesson_results(96, 7, 24, 24, 3)  # values no earlier request cached
        assert busy["errors"] == {} and "busy" in busy["error"]
        assert "busy" in logic.explore("resnet18", 72)["error"]  # a miss
        assert logic.explore("resnet18", None)["profile"].totals["params"] == 11_689_512  # a hit
    finally:
        for _ in held:
            logic._heavy_slots.release()
    assert "profile" in logic.explore("resnet18", 72)


def test_on_demand_traces_are_bounded():
    from conftest import torchvision_meta

    r = logic.explore("vgg16", 512)
    # the budget's estimate: torchvision's published GMACs at its 224 px crop, scaled by area
    estimate = torchvision_meta("vgg16")["gflops"] * (512 / 224) ** 2  # 15.47 * 5.22 = 80.8
    assert f"about {estimate:.0f} GMACs" in r["error"] and "archviz profile vgg16 --input 512" in r["error"]
    assert f"({logic.TRACE_BUDGET_GMACS:.0f})" in r["error"]
    assert "GMACs" in logic.compare(["vgg16", "vit_h_14"])["error"]


def test_malformed_trigger_leaves_the_table_style_alone(server):
    """A non-string changedPropIds makes Dash fail inside the highlight callback: nothing changes
    (no message lands in an output that expects styles)."""
    payload = callback_payload("..ex-table.style_data_conditional...ex-selected.children...ex-table.page_current..",
                               {"ex-depth.clickData": {"points": [{"customdata": "conv1"}]}, "ex-rf.clickData": None})
    payload["changedPropIds"] = ["nonexist.prop", 5, None]
    payload["state"] = [{"id": "ex-table", "property": "data", "value": []}]
    status, raw = post(server.url, json.dumps(payload).encode())
    assert status in (200, 204, 400), raw[:300]
    assert b"Internal error" not in raw and b"Traceback" not in raw


def test_a_failing_callback_writes_its_message_only_into_a_message_slot():
    from dash import no_update

    from archviz.dashboard.app import guarded

    def broken(*_):
        raise AttributeError("boom")

    assert guarded(3, message_slot=False)(broken)() == (no_update,) * 3
    first, *rest = guarded(3)(broken)()
    assert "Internal error (AttributeError)" in str(first) and rest == [no_update] * 2


def test_waitress_reaps_idle_connections_and_the_printed_url_is_served(monkeypatch, capsys):
    """Idle sockets are closed after 15 s without a byte (checked every 3 s), not waitress's 120 s,
    and the open-files limit covers the connection limit; the URL printed for a loopback address
    other than 127.0.0.1 is one the Host check lets through. (Load: benchmarks/bench_load.py.)"""
    import resource

    import waitress

    from archviz.dashboard import serve as serve_mod

    got, real_limit = {}, serve_mod.raise_file_limit
    monkeypatch.setattr(waitress, "serve", lambda app, **kw: got.update(kw))
    monkeypatch.setattr(serve_mod, "raise_file_limit", lambda want: got.setdefault("files", want))
    options = serve_mod.ServerOptions(host="127.0.0.2", port=8123)
    serve_mod.serve(create_app_for_test(), options)
    assert (got["channel_timeout"], got["cleanup_interval"], got["connection_limit"]) == (15, 3, 1000)
    assert got["files"] == 1000 + 2048 // 4 + 64
    url = capsys.readouterr().out.split()[2]
    assert url == "http://127.0.0.2:8123/"
    assert "127.0.0.2" in serve_mod.allowed_hosts("127.0.0.2")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert real_limit(min(soft, 64)) == soft  # never lowered


def create_app_for_test():
    from archviz.dashboard.app import create_app

    return create_app(["resnet18", "vgg16"])
