"""Serving the dashboard: a production WSGI server (waitress: pure Python, a thread pool) behind a
Host-header check, so a web page the user visits cannot reach the dashboard by DNS rebinding."""

from __future__ import annotations

import ipaddress
import re
import logging
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})


@dataclass(frozen=True)
class ServerOptions:
    """What `archviz dashboard` passes to waitress; the defaults hold 500 simultaneous connections."""

    host: str = "127.0.0.1"
    port: int = 8050
    threads: int = 8
    backlog: int = 2048
    connection_limit: int = 1000
    # Idle connections are closed after `channel_timeout` seconds without a byte, checked every
    # `cleanup_interval`: a thousand idle sockets cannot hold the connection limit for long
    # (waitress's defaults, 120 s and 30 s, let 1,050 idle sockets lock everyone out).
    channel_timeout: int = 15
    cleanup_interval: int = 3
    allow_hosts: tuple[str, ...] = field(default_factory=tuple)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(bound: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """Host names a request may carry. Bound to loopback: localhost and the loopback address only.
    Bound to one address: that address. Bound to all interfaces: loopback names plus --allow-host."""
    names = {h.strip().lower().strip("[]") for h in extra if h.strip()}
    bound = bound.strip().lower().strip("[]")
    if is_loopback(bound):  # the bound address too: the URL printed for 127.0.0.2 must be served
        names |= {"localhost", "127.0.0.1", bound}
    elif bound in WILDCARDS:
        names |= {"localhost", "127.0.0.1"}
    else:
        names.add(bound)
    return frozenset(names)


_HOST = re.compile(r"^(?:\[(?P<v6>[0-9a-f.]*:[0-9a-f:.]*)\]|(?P<name>[a-z0-9.-]+))(?::(?P<port>\d{1,5}))?$")


def host_name(header: str | None) -> str:
    """'example.com:8050' -> 'example.com'; '[::1]:8050' -> '::1' (lower case, port dropped).
    Anything that is not a valid Host value (an empty port, text after the port, brackets around
    a name) gives '' and is refused."""
    m = _HOST.match((header or "").strip().lower())
    return (m.group("v6") or m.group("name")) if m else ""


_ABSOLUTE = re.compile(r"^[a-z][a-z0-9+.-]*://(?P<authority>[^/?#]*)", re.IGNORECASE)


def request_authority(uri: str) -> str | None:
    """The host[:port] of a request line in absolute form ('http://evil:80/x' -> 'evil:80', any
    user info dropped), None for the usual origin form ('/x')."""
    m = _ABSOLUTE.match(uri or "")
    return m.group("authority").rsplit("@", 1)[-1] if m else None


def guard_hosts(server: Any, allowed: frozenset[str]) -> None:
    """Refuse (403) every request whose Host header is not one of `allowed`."""
    from flask import Response, request

    @server.before_request
    def _check_host():
        name = host_name(request.headers.get("Host"))
        authority = request_authority(request.environ.get("REQUEST_URI", ""))
        if authority is not None and host_name(authority) not in allowed:
            name = host_name(authority)  # absolute form (GET http://evil/): judged by its authority
        if name not in allowed:
            return Response(f"archviz dashboard: Host {name[:100]!r} is not allowed "
                            "(start it with --allow-host NAME to serve that name)\n",
                            status=403, mimetype="text/plain")
        return None


def guard_errors(server: Any) -> None:
    """A request Dash cannot parse gets a 400 with one line, never a 500 or a traceback."""
    from flask import Response
    from werkzeug.exceptions import HTTPException

    @server.errorhandler(Exception)
    def _bad_request(exc: Exception):
        if isinstance(exc, HTTPException):
            return exc
        logging.getLogger("archviz.dashboard").warning("refused a malformed request: %s: %s",
                                                       type(exc).__name__, str(exc)[:200])
        return Response("archviz dashboard: malformed request\n", status=400, mimetype="text/plain")


def check_port(host: str, port: int) -> None:
    """Refuse, before any banner or work, an address and port this process cannot listen on (one
    line naming --port), instead of waitress's traceback after the banner."""
    import errno
    import socket

    from ..errors import ArchvizError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress binds
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ArchvizError(f"port {port} on {host} is already in use: pick another with --port", 2) from None
            if exc.errno == errno.EACCES:
                raise ArchvizError(f"no permission to listen on port {port}: pick one above 1023 with --port", 2) from None
            raise ArchvizError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (check --host and --port)", 2) from None


def serve(app: Any, options: ServerOptions) -> None:
    """Run `app` (a Dash app) under waitress until interrupted."""
    from waitress import serve as waitress_serve

    check_port(options.host, options.port)
    guard_hosts(app.server, allowed_hosts(options.host, options.allow_hosts))
    guard_errors(app.server)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" under load
    print(f"archviz dashboard: http://{_url_host(options.host)}:{options.port}/ "
          f"(waitress, {options.threads} threads)", flush=True)
    sys.stdout.flush()
    raise_file_limit(options.connection_limit + options.backlog // 4 + 64)
    waitress_serve(app.server, host=options.host, port=options.port, threads=options.threads,
                   backlog=options.backlog, connection_limit=options.connection_limit,
                   channel_timeout=options.channel_timeout, cleanup_interval=options.cleanup_interval,
                   ident="archviz", _quiet=True)


def raise_file_limit(want: int) -> int:
    """The soft limit on open files raised towards `want` (at most the hard limit): each connection
    is a descriptor, and a soft limit of 1,024 would make the connection limit a lie. Returns the
    limit in force."""
    try:
        import resource
    except ImportError:  # not on this platform
        return want
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
        except (ValueError, OSError):
            pass
    return soft


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
