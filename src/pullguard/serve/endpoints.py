"""The plain-HTTP endpoints: /metrics on the metrics address, /healthz and /readyz on the probe address.

Addresses are written as controller-runtime's flags take them: `:8080` (every
interface), `127.0.0.1:8080`, or `0` to turn the endpoint off.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

Route = Callable[[dict[str, list[str]]], tuple[int, str, bytes]]


def parse_address(text: str) -> tuple[str, int] | None:
    """`:8080` -> ("0.0.0.0", 8080); `0` -> None (disabled); `[::1]:8080` -> ("::1", 8080)."""
    text = text.strip()
    if text in ("0", ""):
        return None
    host, _, port = text.rpartition(":")
    if not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:  # "²".isdigit() is True
        raise ValueError(f"{text!r} is not an address: use :PORT, HOST:PORT, or 0 to disable")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


class Endpoints:
    """One HTTP server with a few GET routes, in a daemon thread."""

    def __init__(self, address: tuple[str, int], routes: dict[str, Route]) -> None:
        server_routes = routes

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                route = server_routes.get(path)
                status, content_type, body = (
                    route(parse_qs(query)) if route else (404, "text/plain", b"not found\n")
                )
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        family = ThreadingHTTPServer
        if ":" in address[0]:
            import socket

            class Server6(ThreadingHTTPServer):
                address_family = socket.AF_INET6

            family = Server6
        self.server = family(address, Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def metrics_route(registry: CollectorRegistry) -> Route:
    def metrics(query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        names = query.get("name[]")  # as prometheus_client's own handler: only these metric families
        return (
            200,
            CONTENT_TYPE_LATEST,
            generate_latest(registry.restricted_registry(names) if names else registry),
        )

    return metrics


def check_route(check: Callable[[], str | None]) -> Route:
    """200 "ok", or 500 with the reason (controller-runtime's healthz answers the same way)."""

    def route(_query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        problem = check()
        if problem is None:
            return 200, "text/plain; charset=utf-8", b"ok\n"
        return 500, "text/plain; charset=utf-8", f"{problem}\n".encode()

    return route
