"""The origin proxy: Caddy's own validator, and a real Caddy enforcing client certificates."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from components.edge import render_origin
from tests.conftest import real_tool
from tests.test_edge_settings import settings_with

HOSTS = ("grafana.example.com", "status.example.com")
SLUG = "acme"


def openssl(*args: str, cwd: Path) -> None:
    """Run the openssl command line tool in `cwd`."""
    subprocess.run([real_tool("openssl"), *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> None:
    """A throwaway CA `<name>.pem` with its key `<name>.key`."""
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-days", "1", "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.pem",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
        cwd=directory,
    )  # fmt: skip


def make_leaf(directory: Path, name: str, ca: str, extensions: str) -> None:
    """A certificate `<name>.pem` signed by CA `ca`, with its key `<name>.key`."""
    (directory / f"{name}.ext").write_text(extensions + "\n")
    openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.csr",
        cwd=directory,
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-days", "1", "-out", f"{name}.pem", "-extfile", f"{name}.ext",
        cwd=directory,
    )  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An origin certificate, a stand-in origin-pull CA with a client, and a rogue client."""
    directory = tmp_path_factory.mktemp("pki")
    make_ca(directory, "origin-ca")
    names = ",".join(f"DNS:{host}" for host in HOSTS)
    make_leaf(directory, "origin", "origin-ca", f"subjectAltName={names}")
    make_ca(directory, "pull-ca")
    make_leaf(directory, "cloudflare", "pull-ca", "extendedKeyUsage=clientAuth")
    make_ca(directory, "rogue-ca")
    make_leaf(directory, "rogue", "rogue-ca", "extendedKeyUsage=clientAuth")
    return directory


def tls_dir(pki: Path, client_ca: str) -> Path:
    """A directory laid out as the container's TLS directory, trusting `client_ca`."""
    directory = pki / f"tls-{client_ca}"
    directory.mkdir(exist_ok=True)
    (directory / render_origin.CERTIFICATE_FILE).write_text((pki / "origin.pem").read_text())
    (directory / render_origin.KEY_FILE).write_text((pki / "origin.key").read_text())
    (directory / render_origin.CLIENT_CA_FILE).write_text((pki / f"{client_ca}.pem").read_text())
    return directory


def free_port() -> int:
    """A TCP port nothing listens on right now, on the loopback address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_caddy_accepts_the_rendered_configuration(stack: str, pki: Path, tmp_path: Path) -> None:
    """`caddy validate` loads the stack's configuration with its certificates in place."""
    settings = settings_with(stack)
    directory = tls_dir(pki, "pull-ca")
    rendered = render_origin.render_caddy_config(settings).replace(
        render_origin.TLS_DIR, str(directory)
    )
    config = tmp_path / "caddy.json"
    config.write_text(rendered)

    result = subprocess.run(
        [real_tool("caddy"), "validate", "--config", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)},
    )

    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_caddy_rejects_a_configuration_with_a_misspelled_key(pki: Path, tmp_path: Path) -> None:
    """The validator is strict, so a passing run above means something."""
    # With the certificates in place, the misspelled key is the only thing wrong: Caddy loads
    # its apps in no fixed order, and a missing file would otherwise be reported first.
    config = render_origin.caddy_config(
        {"grafana.example.com": "grafana:3000"}, tls_dir=str(tls_dir(pki, "pull-ca"))
    )
    config["apps"]["http"]["servers"]["origin"]["tls_connection_policy"] = []
    path = tmp_path / "caddy.json"
    path.write_text(json.dumps(config))

    result = subprocess.run(
        [real_tool("caddy"), "validate", "--config", str(path)], capture_output=True, text=True
    )

    assert result.returncode != 0
    assert "unknown field" in result.stderr


def test_the_shipped_origin_pull_ca_is_cloudflares_intact_self_signed_certificate(
    tmp_path: Path,
) -> None:
    """openssl verifies its own signature and reads Cloudflare's subject and expiry."""
    path = tmp_path / "ca.pem"
    path.write_text(render_origin.ORIGIN_PULL_CA)

    verified = subprocess.run(
        [real_tool("openssl"), "verify", "-CAfile", str(path), str(path)],
        capture_output=True,
        text=True,
    )
    subject = subprocess.run(
        [real_tool("openssl"), "x509", "-in", str(path), "-noout", "-subject", "-enddate"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert verified.returncode == 0, verified.stderr
    assert "CN = origin-pull.cloudflare.net" in subject
    assert 'O = "CloudFlare, Inc."' in subject
    assert "notAfter=Nov  1 17:00:00 2029 GMT" in subject


def test_the_origin_routes_each_public_host_name_to_its_container() -> None:
    """Prod's proxy sends the app, API and Grafana whole, and the status host to Uptime Kuma."""
    settings = settings_with("prod", status_page={"slug": SLUG})

    assert render_origin.origin_routes(settings) == {
        "app.example.com": "frontend:3000",
        "api.example.com": "backend:8000",
        "grafana.example.com": "grafana:3000",
    }
    assert render_origin.status_page_route(settings) == render_origin.StatusPageRoute(
        hostname="status.example.com", upstream="uptime-kuma:3001", slug=SLUG
    )


def test_a_stack_without_the_status_page_has_no_status_route() -> None:
    """With components.status_page off, the status host name is not served at all."""
    settings = settings_with("prod", components={"status_page": False})

    assert render_origin.status_page_route(settings) is None
    assert "status.example.com" not in render_origin.render_caddy_config(settings)


def test_the_status_host_name_passes_only_the_configured_status_page() -> None:
    """The proxied paths name the configured slug and no setup, login or socket.io path."""
    settings = settings_with("prod", status_page={"slug": SLUG})
    config = json.loads(render_origin.render_caddy_config(settings))
    (status,) = [
        route
        for route in config["apps"]["http"]["servers"]["origin"]["routes"]
        if route.get("match") == [{"host": ["status.example.com"]}]
    ]
    redirect, proxied, refused = status["handle"][0]["routes"]

    assert redirect["handle"][0]["headers"] == {"Location": [f"/status/{SLUG}"]}
    assert proxied["match"][0]["method"] == ["GET", "HEAD"]
    paths = proxied["match"][0]["path"]
    assert f"/api/status-page/heartbeat/{SLUG}" in paths
    assert not [path for path in paths if "setup" in path or "socket.io" in path]
    assert not [path for path in paths if path.startswith("/status/") and SLUG not in path]
    assert refused == {
        "handle": [{"handler": "static_response", "status_code": 404}],
        "terminal": True,
    }


class _Upstream(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"upstream saw host {self.headers['Host']} path {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def running_proxy(pki: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Caddy on the loopback address with the rendered configuration; yields its TLS port."""
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    upstream_address = f"127.0.0.1:{upstream.server_address[1]}"

    home = tmp_path_factory.mktemp("caddy-home")
    port, health = free_port(), free_port()
    config = render_origin.caddy_config(
        {"grafana.example.com": upstream_address},
        status_page=render_origin.StatusPageRoute("status.example.com", upstream_address, SLUG),
        tls_dir=str(tls_dir(pki, "pull-ca")),
        listen=f"127.0.0.1:{port}",
        health_listen=f"127.0.0.1:{health}",
    )
    path = home / "caddy.json"
    path.write_text(json.dumps(config))
    process = subprocess.Popen(
        [real_tool("caddy"), "run", "--config", str(path)],
        env={**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", health), timeout=1):
                    break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(
                        f"caddy exited: {process.stderr.read().decode() if process.stderr else ''}"
                    )
                time.sleep(0.1)
        else:
            pytest.fail("caddy did not open its health port within 20 s")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        upstream.shutdown()


def https_get(
    port: int,
    server_name: str,
    client: str | None,
    pki: Path,
    host: str | None = None,
    path: str = "/",
    method: str = "GET",
    headers: str = "",
) -> str:
    """The raw response to a request over TLS to `server_name`, with the `client` certificate."""
    context = ssl.create_default_context(cafile=str(pki / "origin-ca.pem"))
    if client is not None:
        context.load_cert_chain(str(pki / f"{client}.pem"), str(pki / f"{client}.key"))
    request = (
        f"{method} {path} HTTP/1.1\r\nHost: {host or server_name}\r\n{headers}"
        "Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        tls.sendall(request.encode())
        response = b""
        while chunk := tls.recv(4096):
            response += chunk
    return response.decode()


@pytest.mark.e2e
def test_a_request_with_cloudflares_client_certificate_reaches_the_upstream(
    running_proxy: int, pki: Path
) -> None:
    """Authenticated origin pulls succeed, and the upstream sees the public host name."""
    response = https_get(running_proxy, "grafana.example.com", "cloudflare", pki)

    assert response.startswith("HTTP/1.1 200")
    assert "upstream saw host grafana.example.com" in response


@pytest.mark.e2e
@pytest.mark.parametrize("client", [None, "rogue"])
def test_a_request_without_cloudflares_client_certificate_is_refused(
    running_proxy: int, pki: Path, client: str | None
) -> None:
    """No certificate, or one from another CA: the TLS handshake fails, nothing is served."""
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        https_get(running_proxy, "status.example.com", client, pki)


@pytest.mark.e2e
def test_a_host_header_the_origin_does_not_serve_is_misdirected(
    running_proxy: int, pki: Path
) -> None:
    """Even with Cloudflare's certificate, a foreign Host header gets 421, not an upstream."""
    response = https_get(
        running_proxy, "grafana.example.com", "cloudflare", pki, host="other.example.com"
    )

    assert response.startswith("HTTP/1.1 421")
    assert "upstream saw" not in response


@pytest.mark.e2e
@pytest.mark.parametrize(
    "path",
    [
        f"/status/{SLUG}",
        f"/status/{SLUG}/rss",
        f"/api/status-page/{SLUG}",
        f"/api/status-page/{SLUG}/manifest.json",
        f"/api/status-page/heartbeat/{SLUG}?maxBeats=50",
        "/api/badge/1/status",
        "/assets/index-4f2a.js",
        "/upload/logo1.png",
        "/icon.svg",
        "/favicon.ico",
    ],
)
def test_the_status_page_and_what_it_loads_reach_uptime_kuma(
    running_proxy: int, pki: Path, path: str
) -> None:
    """A visitor's browser gets the page, its data, badges, assets and icons from upstream."""
    response = https_get(running_proxy, "status.example.com", "cloudflare", pki, path=path)

    assert response.startswith("HTTP/1.1 200")
    assert f"upstream saw host status.example.com path {path}" in response


@pytest.mark.e2e
@pytest.mark.parametrize(
    "path",
    [
        "/setup",
        "/dashboard",
        "/manage-status-page",
        "/settings/security",
        "/socket.io/?EIO=4&transport=polling",
        "/api/push/token?status=up",
        "/metrics",
        "/status/another-page",
        "/api/status-page/another-page",
        "/assets/../setup",
        "/assets/%2e%2e/socket.io/?EIO=4&transport=polling",
        "//socket.io/?EIO=4&transport=polling",
    ],
)
def test_uptime_kumas_admin_side_is_refused_on_the_status_host_name(
    running_proxy: int, pki: Path, path: str
) -> None:
    """Setup, login, dashboard, socket.io, push and metrics get 404, never the upstream."""
    response = https_get(running_proxy, "status.example.com", "cloudflare", pki, path=path)

    assert response.startswith("HTTP/1.1 404")
    assert "upstream saw" not in response


@pytest.mark.e2e
def test_a_socket_io_websocket_upgrade_is_refused_on_the_status_host_name(
    running_proxy: int, pki: Path
) -> None:
    """The admin UI's websocket never reaches Uptime Kuma through the public host name."""
    upgrade = (
        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    )
    response = https_get(
        running_proxy,
        "status.example.com",
        "cloudflare",
        pki,
        path="/socket.io/?EIO=4&transport=websocket",
        headers=upgrade,
    )

    assert response.startswith("HTTP/1.1 404")


@pytest.mark.e2e
def test_writes_to_the_status_pages_own_paths_are_refused(running_proxy: int, pki: Path) -> None:
    """Only GET and HEAD pass, even on the status page's paths."""
    response = https_get(
        running_proxy,
        "status.example.com",
        "cloudflare",
        pki,
        path=f"/api/status-page/{SLUG}",
        method="POST",
    )

    assert response.startswith("HTTP/1.1 404")
    assert "upstream saw" not in response


@pytest.mark.e2e
def test_the_status_host_names_root_redirects_to_the_status_page(
    running_proxy: int, pki: Path
) -> None:
    """`/` answers 302 with the configured slug's page, without asking Uptime Kuma."""
    response = https_get(running_proxy, "status.example.com", "cloudflare", pki, path="/")

    assert response.startswith("HTTP/1.1 302")
    assert f"\r\nLocation: /status/{SLUG}\r\n" in response
    assert "upstream saw" not in response
