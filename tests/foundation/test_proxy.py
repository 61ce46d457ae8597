"""The reverse proxy's configuration (deploy/Caddyfile) run for real in front of a stub
upstream: the client's address, the body limits and the health listener. Skips without a
`caddy` binary (Debian: apt-get install caddy); the compose file runs the pinned image."""

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CADDY = shutil.which("caddy")
BASE_DOMAIN = "matmis.test"
BODY_LIMIT = 1000
UPLOAD_LIMIT = 5000

pytestmark = pytest.mark.skipif(CADDY is None, reason="caddy is not installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EchoUpstream(BaseHTTPRequestHandler):
    """Answers with the headers it was sent and how much body it read (gunicorn's place)."""

    def _read_chunked(self) -> bytes:
        body = b""
        while size := int(self.rfile.readline().split(b";")[0], 16):
            body += self.rfile.read(size)
            self.rfile.readline()
        self.rfile.readline()  # the empty trailer
        return body

    def _answer(self):
        # Like gunicorn, read the whole body before answering: a stub that answered a
        # chunked request before reading it would race the proxy's own limit.
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
        answer = json.dumps({"headers": dict(self.headers), "read": len(body)}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # the proxy hangs up on a refused body mid-way: expected here


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    """(public port, health port) of Caddy running deploy/Caddyfile with web:8000 replaced
    by the stub upstream, and small body limits."""
    upstream = QuietServer(("127.0.0.1", 0), EchoUpstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    folder = tmp_path_factory.mktemp("caddy")
    public, health = free_port(), free_port()
    config = (
        (ROOT / "deploy" / "Caddyfile")
        .read_text()
        .replace("reverse_proxy web:8000", f"reverse_proxy 127.0.0.1:{upstream.server_port}")
        .replace("http://:8081", f"http://:{health}")
        .replace("/etc/caddy/tls", str(folder / "tls"))
    )
    assert f"127.0.0.1:{upstream.server_port}" in config and f":{health}" in config
    (folder / "tls").mkdir()
    (folder / "Caddyfile").write_text(config)
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(folder / "data"),
        "XDG_CONFIG_HOME": str(folder / "config"),
        "BASE_DOMAIN": BASE_DOMAIN,
        "MAX_REQUEST_BODY_BYTES": str(BODY_LIMIT),
        "MATMIS_REGISTER_UPLOAD_BODY_BYTES": str(UPLOAD_LIMIT),
        "MATMIS_PROXY_ADDRESS": f":{public}",
    }
    process = subprocess.Popen(
        [CADDY, "run", "--config", str(folder / "Caddyfile"), "--adapter", "caddyfile"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", public), timeout=0.2).close()
                socket.create_connection(("127.0.0.1", health), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    pytest.fail(f"caddy did not start: {process.stderr.read().decode()}")
                time.sleep(0.1)
        yield public, health
    finally:
        process.terminate()
        process.wait(timeout=10)
        upstream.shutdown()


def send(port: int, host: str, path: str, body: bytes | None = None, headers=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, headers={"Host": host, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (http://127.0.0.1 only)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def test_the_client_address_replaces_whatever_the_client_wrote(proxy):
    public, _ = proxy
    status, seen = send(
        public, f"trust.{BASE_DOMAIN}", "/", headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert status == 200
    # One entry, written by the proxy: MATMIS_TRUSTED_PROXIES=1 reads exactly it.
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert seen["headers"]["X-Forwarded-Proto"] == "http"
    assert seen["headers"]["Host"] == f"trust.{BASE_DOMAIN}"  # the site's host, unchanged


def test_the_forwarded_scheme_cannot_be_claimed_by_the_client(proxy):
    public, _ = proxy
    _, seen = send(public, BASE_DOMAIN, "/", headers={"X-Forwarded-Proto": "https"})
    assert seen["headers"]["X-Forwarded-Proto"] == "http"


def test_bodies_over_the_applications_limit_are_refused_by_the_proxy(proxy):
    public, _ = proxy
    status, seen = send(public, f"trust.{BASE_DOMAIN}", "/x", b"a" * BODY_LIMIT)
    assert (status, seen["read"]) == (200, BODY_LIMIT)
    assert send(public, f"trust.{BASE_DOMAIN}", "/x", b"a" * (BODY_LIMIT + 1))[0] == 413
    # Chunked, with no declared length: cut off at the limit as it is read.
    chunks = iter([b"a" * (BODY_LIMIT + 1)])
    assert send(public, BASE_DOMAIN, "/x", chunks, {"Transfer-Encoding": "chunked"})[0] == 413


def test_only_the_register_upload_on_the_platform_host_may_send_more(proxy):
    public, _ = proxy
    between = b"a" * (BODY_LIMIT + 1)
    assert send(public, BASE_DOMAIN, "/imports/", between)[0] == 200
    assert send(public, BASE_DOMAIN, "/imports/", b"a" * (UPLOAD_LIMIT + 1))[0] == 413
    # The same path on a site's host, or another path on the platform host: the usual limit.
    assert send(public, f"trust.{BASE_DOMAIN}", "/imports/", between)[0] == 413
    assert send(public, BASE_DOMAIN, "/imports/1/", between)[0] == 413


def test_the_health_listener_keeps_the_host_it_is_sent(proxy):
    _, health = proxy
    status, seen = send(health, BASE_DOMAIN, "/healthz")
    assert status == 200
    assert seen["headers"]["Host"] == BASE_DOMAIN
