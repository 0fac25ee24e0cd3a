"""Loopback-only helpers for browser tests: a static file server, a site whose media needs a login
cookie, a counting proxy, and a site of misbehaving media servers."""

from __future__ import annotations

import contextlib
import http.server
import socket
import socketserver
import struct
import threading
import time
import zlib
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


class _LoopbackSite:
    """A handler class served on 127.0.0.1 (ephemeral port) in a thread until ``close()``."""

    def _serve(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        self.server = _Server(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class LoginGatedMedia(_LoopbackSite):
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

        self._serve(Handler)


class CountingProxy(_LoopbackSite):
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

        self._serve(Handler)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gzip_bomb(unpacked: int = 2 * 1024**3) -> bytes:
    """Zeros, gzip-compressed: ~2 MB that unpack to ``unpacked`` bytes (2 GiB). After a full
    flush deflate forgets its history, so one 16 MB block compressed once is repeated."""
    block = bytes(16 * 1024 * 1024)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    once = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(unpacked // len(block)):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    trailer = struct.pack("<II", crc, unpacked % 2**32)
    return header + once * (unpacked // len(block)) + end + trailer


class BadAudioSite(_LoopbackSite):
    """Servers that misbehave as found in issue 18, one path each (all on one loopback port):

    ``/silent`` accepts and never sends headers; ``/trickle`` a WAV of 5 MB sent at 1 byte/s;
    ``/huge`` declares 50 GB and sends at 1 byte/s; ``/radio`` an endless chunked Ogg stream at
    ``radio_rate`` bytes/s; ``/icy`` the same with an Icecast's ICY headers; ``/bomb`` 2 MB of
    gzip that unpack to 2 GiB; ``/to-file`` redirects to ``file:///etc/hostname``;
    ``/to-closed`` to a closed port; ``/loop`` to itself; ``/to-404`` to ``localhost`` (another
    host name), which answers 404; ``/one-hz.wav`` a WAV declaring 1 Hz.
    ``hits`` counts requests per path. Every endless answer ends when ``close()`` is called."""

    def __init__(self, radio_rate: int = 8 * 1024 * 1024) -> None:
        self.hits: dict[str, int] = {}
        self.stop = threading.Event()
        self.closed = closed_port()
        site = self
        bomb = gzip_bomb()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _head(self, status: int, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Access-Control-Allow-Origin", "*")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()

            def _slowly(self, total: int) -> None:
                for _ in range(total):
                    if site.stop.wait(1.0):
                        return
                    self.wfile.write(b"\0")
                    self.wfile.flush()

            def _endless(self, rate: int) -> None:
                # Chunked transfer coding: what a live stream without a length is sent as.
                piece = b"OggS" + bytes(64 * 1024 - 4)
                pause = len(piece) / rate
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                    if site.stop.wait(pause):
                        return

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                site.hits[path] = site.hits.get(path, 0) + 1
                try:
                    if path == "/silent":
                        site.stop.wait()
                    elif path == "/trickle":
                        self._head(200, {"Content-Type": "audio/wav", "Content-Length": str(5_000_000)})
                        self._slowly(5_000_000)
                    elif path == "/huge":
                        self._head(200, {"Content-Type": "audio/wav", "Content-Length": str(50 * 10**9)})
                        self._slowly(50 * 10**9)
                    elif path == "/radio":
                        self._head(200, {"Content-Type": "audio/ogg", "Transfer-Encoding": "chunked"})
                        self._endless(radio_rate)
                    elif path == "/icy":
                        # As Icecast sends them, readable cross-origin.
                        icy = {"icy-name": "Test FM", "icy-br": "128", "icy-metaint": "16000"}
                        expose = {"Access-Control-Expose-Headers": ", ".join(icy)}
                        self._head(200, {"Content-Type": "audio/mpeg", "Transfer-Encoding": "chunked", **icy, **expose})
                        self._endless(16 * 1024)
                    elif path == "/bomb":
                        headers = {"Content-Type": "audio/wav", "Content-Encoding": "gzip"}
                        self._head(200, {**headers, "Content-Length": str(len(bomb))})
                        self.wfile.write(bomb)
                    elif path == "/to-file":
                        self._head(302, {"Location": "file:///etc/hostname", "Content-Length": "0"})
                    elif path == "/to-closed":
                        self._head(302, {"Location": f"http://127.0.0.1:{site.closed}/song.wav", "Content-Length": "0"})
                    elif path == "/loop":
                        self._head(302, {"Location": f"/loop?{site.hits[path]}", "Content-Length": "0"})
                    elif path == "/to-404":  # to another host name, whose answer is 404
                        port = site.server.server_address[1]
                        self._head(302, {"Location": f"http://localhost:{port}/missing", "Content-Length": "0"})
                    elif path == "/missing":
                        self._head(404, {"Content-Type": "text/plain", "Content-Length": "0"})
                    elif path == "/one-hz.wav":
                        body = one_hz_wav()
                        self._head(200, {"Content-Type": "audio/wav", "Content-Length": str(len(body))})
                        self.wfile.write(body)
                    else:
                        self.send_error(404)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the browser gave up, as it should

            def log_message(self, *args) -> None:
                pass

        self._serve(Handler)

    def close(self) -> None:
        self.stop.set()
        super().close()


def one_hz_wav(frames: int = 1000) -> bytes:
    """A 16-bit mono WAV whose header declares a sample rate of 1 Hz."""
    data = bytes(2 * frames)
    fmt = struct.pack("<HHIIHH", 1, 1, 1, 2, 2, 16)
    riff = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    return riff + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data


class StreamSite(_LoopbackSite):
    """Loopback servers of real audio without a Content-Length (issue #34), chunked as a live
    stream or a server that does not know a file's length sends it. ``ogg`` and ``mp3`` are
    repeated without end (each repeat a new link of the Ogg chain, or more MP3 frames):

    ``/ogg-icy`` at ``rate`` bytes/s with an Icecast's ``icy-*`` headers, which CORS hides from
    a page without a host grant (no ``Access-Control-Expose-Headers``); ``/ogg`` the same without
    them; ``/mp3`` the MP3 at ``rate``; ``/ogg-fast`` the Ogg as fast as loopback takes it;
    ``/song`` the finite ``song`` once, as fast; ``/song-4x`` once, at 4 times its own byte rate
    (``song_seconds`` long). Endless answers end when the browser lets go or ``close()``."""

    def __init__(self, ogg: bytes, mp3: bytes, song: bytes, song_seconds: float, rate: int = 16_000) -> None:
        self.stop = threading.Event()
        site = self
        piece = 4096

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, body: bytes, content_type: str, rate: float | None, endless: bool, extra=None) -> None:
                self.send_response(200)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Type", content_type)
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Cache-Control", "no-cache")
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                start = time.monotonic()
                sent = 0
                at = 0
                while not site.stop.is_set():
                    if at >= len(body):
                        if not endless:
                            break
                        at = 0
                    size = piece if rate else 64 * 1024
                    part = body[at : at + size]
                    at += len(part)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    sent += len(part)
                    if rate:
                        self.wfile.flush()
                        site.stop.wait(max(0.0, start + sent / rate - time.monotonic()))
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            def do_GET(self) -> None:
                icy = {"icy-name": "Test FM", "icy-br": "128", "icy-genre": "test"}
                routes = {
                    "/ogg-icy": lambda: self._send(ogg, "audio/ogg", rate, True, icy),
                    "/ogg": lambda: self._send(ogg, "audio/ogg", rate, True),
                    "/mp3": lambda: self._send(mp3, "audio/mpeg", rate, True),
                    "/ogg-fast": lambda: self._send(ogg, "audio/ogg", None, True),
                    "/song": lambda: self._send(song, "audio/ogg", None, False),
                    "/song-4x": lambda: self._send(song, "audio/ogg", 4 * len(song) / song_seconds, False),
                }
                route = routes.get(self.path.split("?")[0])
                if not route:
                    self.send_error(404)
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the browser let go
                    route()

            def log_message(self, *args) -> None:
                pass

        self._serve(Handler)

    def close(self) -> None:
        self.stop.set()
        super().close()
