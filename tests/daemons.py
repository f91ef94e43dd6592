"""Debian's Prometheus, Alertmanager and exporters on 127.0.0.1, run with a stack's rendered files.

Used by the end-to-end test and the outage benchmark. Every process is started here, stopped by
its own pid, and every wait is bounded.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import yaml

from components.metrics import render_alertmanager, render_blackbox, render_prometheus
from config.base import seconds
from preview import Preview, run_preview
from preview.harness import stack_settings

LOOPBACK = "127.0.0.1"
PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
BLACKBOX_EXPORTER = "/usr/bin/prometheus-blackbox-exporter"
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"

RESEND_DELAY_SECONDS = 60.0
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

T = TypeVar("T")


def free_ports(count: int) -> list[int]:
    """Distinct TCP ports on 127.0.0.1 that nothing listens on right now."""
    sockets = []
    try:
        for _ in range(count):
            listener = socket.socket()
            listener.bind((LOOPBACK, 0))
            sockets.append(listener)
        return [listener.getsockname()[1] for listener in sockets]
    finally:
        for listener in sockets:
            listener.close()


def wait_until(condition: Callable[[], T | None], *, timeout: float, what: str) -> T:
    """Poll `condition` until it returns a value other than None or False, at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes] | None:
    """The status and body of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return None


@dataclass
class Daemon:
    """One started process, its log, and how to stop it."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        """The process id this daemon is stopped by."""
        return self.process.pid

    def running(self) -> bool:
        """True while the process has not exited."""
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM by pid, then SIGKILL by pid if it outlives `timeout`."""
        if not self.running():
            return
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait(timeout)

    def log_tail(self, lines: int = 20) -> str:
        """The end of the daemon's log, for failure messages."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class Daemons:
    """The daemons of one run; leaving the `with` block stops each by its pid, newest first."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[Daemon] = []

    def start(self, name: str, argv: list[str], *, ready_url: str) -> Daemon:
        """Start a daemon and wait until `ready_url` answers 200; its output goes to a log."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                argv,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        daemon = Daemon(name, process, log)
        self.started.append(daemon)

        def ready() -> bool:
            if not daemon.running():
                raise RuntimeError(f"{name} exited early:\n{daemon.log_tail()}")
            answer = http_get(ready_url, timeout=1.0)
            return answer is not None and answer[0] == 200

        try:
            wait_until(ready, timeout=READY_TIMEOUT, what=f"{name} at {ready_url}")
        except TimeoutError as error:
            raise TimeoutError(f"{error}\n{daemon.log_tail()}") from None
        return daemon

    def stop_all(self) -> None:
        """Stop every daemon started here, newest first, each by its own pid."""
        while self.started:
            self.started.pop().stop()

    def __enter__(self) -> Daemons:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class HttpService:
    """A tiny HTTP service on 127.0.0.1 in a thread; stopping it closes its port."""

    def __init__(self, port: int, handle: Callable[[str], tuple[int, bytes]]) -> None:
        self.port = port
        self._handle = handle
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while the port accepts connections."""
        return self._server is not None

    def start(self) -> None:
        """Listen and answer until stopped."""
        handle = self._handle

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = handle(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server((LOOPBACK, self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop answering and close the port, so connections are refused."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)
        self._server = None
        self._thread = None


METRICS_STUB = b"# A stand-in for an exporter Debian does not ship.\nstub_up 1\n"


class MonitoredService(HttpService):
    """A stand-in for one product service: its health URL and its metrics endpoint."""

    def __init__(self, port: int, health_path: str) -> None:
        super().__init__(port, self._answer)
        self.health_path = health_path
        self._failures_left = 0
        self._lock = threading.Lock()

    def fail_next_health_checks(self, count: int) -> None:
        """Answer the next `count` health checks with 503, then healthy again."""
        with self._lock:
            self._failures_left = count

    @property
    def failures_left(self) -> int:
        """Health checks still to be failed."""
        with self._lock:
            return self._failures_left

    def _answer(self, path: str) -> tuple[int, bytes]:
        if urllib.parse.urlsplit(path).path != self.health_path:
            return 200, METRICS_STUB
        with self._lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                return 503, b"unhealthy\n"
        return 200, b"ok\n"


@dataclass(frozen=True)
class Notification:
    """One webhook call from Alertmanager."""

    received_at: float
    receiver: str
    status: str
    alerts: tuple[dict[str, Any], ...]

    def names(self, status: str) -> set[str]:
        """Alert names in this notification with the given status (firing or resolved)."""
        return {
            alert["labels"].get("alertname", "")
            for alert in self.alerts
            if alert.get("status") == status
        }


class WebhookReceiver:
    """Records Alertmanager webhook notifications; each receiver posts to its own path."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.notifications: list[Notification] = []
        self._lock = threading.Lock()
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received._record(self.path.strip("/"), json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server((LOOPBACK, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, receiver: str) -> str:
        """Where the named Alertmanager receiver posts."""
        return f"http://{LOOPBACK}:{self.port}/{receiver}"

    def _record(self, receiver: str, payload: dict[str, Any]) -> None:
        notification = Notification(
            received_at=time.monotonic(),
            receiver=receiver,
            status=str(payload.get("status")),
            alerts=tuple(payload.get("alerts", [])),
        )
        with self._lock:
            self.notifications.append(notification)

    def received(self) -> list[Notification]:
        """Every notification so far, oldest first."""
        with self._lock:
            return list(self.notifications)

    def wait_for(
        self,
        alertname: str,
        status: str,
        *,
        after: float,
        timeout: float,
        receiver: str | None = None,
    ) -> Notification:
        """The first notification after `after` that carries `alertname` with `status`."""

        def found() -> Notification | None:
            for notification in self.received():
                if (
                    notification.received_at >= after
                    and alertname in notification.names(status)
                    and receiver in (None, notification.receiver)
                ):
                    return notification
            return None

        return wait_until(found, timeout=timeout, what=f"{alertname} {status} at the webhook")

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(STOP_TIMEOUT)


def pipeline_overrides(
    stack: str, speedup: float = 1.0, changes: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """Overrides for whole settings sections: the stack's own, every interval, `for` and
    Alertmanager timing divided by `speedup`, then the keys in `changes` replaced.

    Ratios stay as in the stack file (a `for` of two probe intervals stays two probe
    intervals), so a faster run shows the stack's own behaviour, only sooner.
    """
    settings = stack_settings(stack)
    overrides: dict[str, Any] = {}
    for section in ("metrics", "alerts", "routing", *(changes or {})):
        values = getattr(settings, section).model_dump(mode="json", exclude_none=True)
        for key, value in values.items():
            if isinstance(value, str) and _is_duration(value) and not key.startswith("retention"):
                values[key] = _duration(seconds(value) / speedup)
            elif isinstance(value, float) and key.endswith("_seconds"):
                values[key] = value / speedup
        overrides[section] = {**values, **(changes or {}).get(section, {})}
    return overrides


def _is_duration(value: str) -> bool:
    return re.fullmatch(r"(?:\d+(?:ms|s|m|h|d|w|y))+", value) is not None


def _duration(value: float) -> str:
    milliseconds = max(1, round(value * 1000))
    if milliseconds % 1000 == 0:
        return f"{milliseconds // 1000}s"
    return f"{milliseconds}ms"


@dataclass
class Ports:
    """The loopback port of each daemon and stand-in of one run."""

    prometheus: int
    alertmanager: int
    blackbox: int
    node_exporter: int
    webhook: int
    stub: int
    services: dict[str, int] = field(default_factory=dict)


class MetricsPipeline:
    """A stack's rendered Prometheus, rules, Blackbox and Alertmanager, run for real on loopback.

    Only addresses change: every scrape, probe and Alertmanager target is mapped to a loopback
    port, and every Alertmanager receiver posts to the local webhook instead of its integration
    (the route tree, timings and inhibition stay as rendered). Services are stand-ins that can
    be stopped, restarted or made to fail single health checks.
    """

    def __init__(
        self,
        stack: str,
        workdir: Path,
        *,
        speedup: float = 1.0,
        changes: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.stack = stack
        self.workdir = workdir
        self.speedup = speedup
        overrides = pipeline_overrides(stack, speedup, changes)
        self.settings = stack_settings(stack, overrides)
        self.preview: Preview = run_preview(stack, overrides=overrides)
        names = [service.name for service in self.settings.services]
        prometheus, alertmanager, blackbox, node_exporter, webhook, stub, *services = free_ports(
            6 + len(names)
        )
        self.ports = Ports(
            prometheus=prometheus,
            alertmanager=alertmanager,
            blackbox=blackbox,
            node_exporter=node_exporter,
            webhook=webhook,
            stub=stub,
            services=dict(zip(names, services, strict=True)),
        )
        self.daemons = Daemons(workdir / "logs")
        self.webhook = WebhookReceiver(self.ports.webhook)
        self.stub = HttpService(self.ports.stub, lambda path: (200, METRICS_STUB))
        self.services = {
            service.name: MonitoredService(
                self.ports.services[service.name],
                urllib.parse.urlsplit(service.health_url).path or "/",
            )
            for service in self.settings.services
        }

    # Addresses and files -------------------------------------------------------------------

    def loopback_addresses(self) -> dict[str, str]:
        """Each address the rendered files name, and the loopback address standing in for it.

        Daemons Debian ships run for real; any other container on the stack network (cAdvisor,
        Grafana, Loki, ...) is answered by a stub that serves a minimal metrics page.
        """
        ports = self.ports
        addresses = {
            f"{self.settings.ports.gateway}:{render_prometheus.NODE_EXPORTER_PORT}": (
                ports.node_exporter
            ),
            render_prometheus.PROMETHEUS_ADDRESS: ports.prometheus,
            render_prometheus.ALERTMANAGER_ADDRESS: ports.alertmanager,
            render_prometheus.BLACKBOX_ADDRESS: ports.blackbox,
        }
        for service in self.settings.services:
            if service.metrics_target:
                addresses[service.metrics_target] = ports.services[service.name]
        rendered = yaml.safe_load(self._file("prometheus", render_prometheus.CONFIG_PATH))
        for target in _static_targets(rendered):
            if target not in addresses and _on_stack_network(target):
                addresses[target] = ports.stub
        return {address: f"{LOOPBACK}:{port}" for address, port in addresses.items()}

    def health_urls(self) -> dict[str, str]:
        """Each service's health URL, and the loopback URL of its stand-in."""
        urls = {}
        for service in self.settings.services:
            parts = urllib.parse.urlsplit(service.health_url)
            urls[service.health_url] = urllib.parse.urlunsplit(
                ("http", f"{LOOPBACK}:{self.ports.services[service.name]}", *parts[2:])
            )
        return urls

    def _file(self, role: str, path: str) -> str:
        return self.preview.file(f"{self.stack}-{role}", path)

    def _rooted(self, path: str) -> Path:
        return self.workdir / path.lstrip("/")

    def _write(self, path: str, text: str) -> Path:
        target = self._rooted(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return target

    def _to_loopback(self, text: str) -> str:
        # Longest first, so a health URL is replaced whole before any address inside it.
        replacements = {**self.health_urls(), **self.loopback_addresses()}
        for original in sorted(replacements, key=len, reverse=True):
            text = text.replace(original, replacements[original])
        return text

    def write_prometheus_files(self) -> Path:
        """prometheus.yml and its rule files under the work directory, targets on loopback."""
        for (owner, path), content in self.preview.files().items():
            if owner == f"{self.stack}-prometheus" and path != render_prometheus.CONFIG_PATH:
                # Rules may name a target's address; they must name the address scraped here.
                self._write(path, self._to_loopback(content))

        config = yaml.safe_load(
            self._to_loopback(self._file("prometheus", render_prometheus.CONFIG_PATH))
        )
        config["rule_files"] = [str(self._rooted(path)) for path in config.get("rule_files", [])]
        unmapped = sorted(target for target in _static_targets(config) if not _on_loopback(target))
        if unmapped:
            raise ValueError(f"no loopback stand-in for the targets {unmapped}")
        return self._write(render_prometheus.CONFIG_PATH, yaml.safe_dump(config))

    def write_alertmanager_config(self) -> Path:
        """alertmanager.yml with every receiver posting to the local webhook instead."""
        config = yaml.safe_load(self._file("alertmanager", render_alertmanager.CONFIG_PATH))
        config["receivers"] = [
            {
                "name": receiver["name"],
                "webhook_configs": [
                    {"url": self.webhook.url(receiver["name"]), "send_resolved": True}
                ],
            }
            if any(key.endswith("_configs") for key in receiver)
            else receiver
            for receiver in config["receivers"]
        ]
        return self._write(render_alertmanager.CONFIG_PATH, yaml.safe_dump(config))

    def write_blackbox_config(self) -> Path:
        """The Blackbox Exporter's modules, as rendered."""
        return self._write(
            render_blackbox.CONFIG_PATH, self._file("blackbox", render_blackbox.CONFIG_PATH)
        )

    # Processes ---------------------------------------------------------------------------

    def _flags(self, flags: list[str]) -> list[str]:
        # The product's flags, with absolute paths moved under the work directory.
        moved = []
        for flag in flags:
            name, _, value = flag.partition("=")
            moved.append(f"{name}={self._rooted(value)}" if value.startswith("/") else flag)
        return moved

    def start(self) -> MetricsPipeline:
        """Start the stand-ins, the exporters, Alertmanager and Prometheus; wait until ready."""
        ports = self.ports
        self.webhook.__enter__()
        self.stub.start()
        for service in self.services.values():
            service.start()

        self.daemons.start(
            "node-exporter",
            [
                NODE_EXPORTER,
                f"--web.listen-address={LOOPBACK}:{ports.node_exporter}",
                # Debian's build logs a dbus error on every scrape without systemd.
                "--no-collector.systemd",
            ],
            ready_url=f"http://{LOOPBACK}:{ports.node_exporter}/metrics",
        )
        self.daemons.start(
            "blackbox",
            [
                BLACKBOX_EXPORTER,
                f"--config.file={self.write_blackbox_config()}",
                f"--web.listen-address={LOOPBACK}:{ports.blackbox}",
            ],
            ready_url=f"http://{LOOPBACK}:{ports.blackbox}/-/healthy",
        )
        self.write_alertmanager_config()
        self.daemons.start(
            "alertmanager",
            [
                ALERTMANAGER,
                *self._flags(render_alertmanager.alertmanager_flags()),
                f"--web.listen-address={LOOPBACK}:{ports.alertmanager}",
            ],
            ready_url=f"http://{LOOPBACK}:{ports.alertmanager}/-/ready",
        )
        self.write_prometheus_files()
        self.daemons.start(
            "prometheus",
            [
                PROMETHEUS,
                *self._flags(render_prometheus.prometheus_flags(self.settings)),
                # Prometheus resends firing alerts this often (1m by default); an alert that
                # fired before it found Alertmanager waits this long.
                f"--rules.alert.resend-delay={_duration(RESEND_DELAY_SECONDS / self.speedup)}",
                f"--web.listen-address={LOOPBACK}:{ports.prometheus}",
            ],
            ready_url=f"http://{LOOPBACK}:{ports.prometheus}/-/ready",
        )
        return self

    def stop(self) -> None:
        """Stop every daemon by its pid, then the stand-ins and the webhook."""
        try:
            self.daemons.stop_all()
        finally:
            for service in self.services.values():
                service.stop()
            self.stub.stop()
            self.webhook.__exit__()

    def __enter__(self) -> MetricsPipeline:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Queries -----------------------------------------------------------------------------

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant vector Prometheus returns for a query."""
        url = f"http://{LOOPBACK}:{self.ports.prometheus}/api/v1/query?" + urllib.parse.urlencode(
            {"query": promql}
        )
        answer = http_get(url, timeout=5.0)
        if answer is None or answer[0] != 200:
            raise RuntimeError(f"Prometheus did not answer {promql!r}: {answer}")
        result: list[dict[str, Any]] = json.loads(answer[1])["data"]["result"]
        return result

    def wait_for_targets_up(self, timeout: float) -> None:
        """Wait until Prometheus has scraped every target successfully at least once."""

        def all_up() -> bool:
            samples = self.query("up")
            return bool(samples) and all(sample["value"][1] == "1" for sample in samples)

        wait_until(all_up, timeout=timeout, what="every scrape target to be up")


def _static_targets(config: dict[str, Any]) -> Iterator[str]:
    for scrape in config.get("scrape_configs", []):
        for static in scrape.get("static_configs", []):
            yield from static.get("targets", [])
        for relabel in scrape.get("relabel_configs", []):
            if relabel.get("target_label") == "__address__" and "replacement" in relabel:
                yield relabel["replacement"]
    for alerting in config.get("alerting", {}).get("alertmanagers", []):
        for static in alerting.get("static_configs", []):
            yield from static.get("targets", [])


def _on_stack_network(target: str) -> bool:
    # A Docker alias such as `grafana:3000`: a bare name, a port, no scheme.
    return re.fullmatch(r"[a-z][a-z0-9-]*:\d+", target) is not None


def _on_loopback(target: str) -> bool:
    host = urllib.parse.urlsplit(target).hostname if "://" in target else target.split(":")[0]
    return host == LOOPBACK
