"""Loopback-only helpers for browser tests: a static file server, a site whose media needs a login
cookie, and a counting proxy."""

from __future__ import annotations

import http.server
import socketserver
import threading
from functools import partial
from pathlib import Path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        # Like a CDN serving media to any page: readable cross-origin.
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cross-Origin-Resource-Policy", "cross-origin")
        super().end_headers()

    def log_message(self, *args) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve_directory(root: Path) -> tuple[_Server, str]:
    """Serve ``root`` on 127.0.0.1 (ephemeral port); returns (server, base URL). Call shutdown()."""
    server = _Server(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class LoginGatedMedia:
    """A site whose media needs its session cookie, like audio behind a login: ``/login`` sets
    the cookie; ``/song.flac`` answers 403 without it. No CORS headers, as such sites send none.
    ``cookies`` records the Cookie header of each media request."""

    def __init__(self, media: bytes, content_type: str = "audio/flac") -> None:
        self.cookies: list[str | None] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/login":
                    self.send_response(200)
                    self.send_header("Set-Cookie", "session=member; Path=/; SameSite=Lax; HttpOnly")
                    self.send_header("Content-Type", "text/html")
                    self.end_headers()
                    self.wfile.write(b"<!doctype html><title>Signed in</title><p>Signed in</p>")
                    return
                if self.path != "/song.flac":
                    self.send_error(404)
                    return
                cookie = self.headers.get("Cookie")
                site.cookies.append(cookie)
                if "session=member" not in (cookie or ""):
                    self.send_error(403, "sign in first")
                    return
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(media)))
                self.end_headers()
                self.wfile.write(media)

            def log_message(self, *args) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class CountingProxy:
    """An HTTP proxy on 127.0.0.1 that refuses every request and counts it (CONNECT included).

    Point Chromium at it with ``--proxy-server`` and ``--proxy-bypass-list=<-loopback>`` so that
    every request the browser attempts, to any host, arrives here.
    """

    def __init__(self) -> None:
        self.requests: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _refuse(self) -> None:
                proxy.requests.append(f"{self.command} {self.path}")
                self.send_error(403, "blocked by test proxy")

            do_GET = do_POST = do_HEAD = do_PUT = do_CONNECT = do_OPTIONS = _refuse  # noqa: N815

            def log_message(self, *args) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
