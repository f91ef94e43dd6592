"""Preview wall time and peak memory, and the resources each stack asks of its Docker host."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from bench import plural
from config.base import seconds
from config.settings import Settings
from preview.harness import ROOT, Preview, run_preview, stack_settings

GOAL_PREVIEW_SECONDS = 10.0
GOAL_MEMORY_MIB = {"staging": 3 * 1024, "prod": 4 * 1024}
_SIZE_UNITS = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15}


@dataclass(frozen=True)
class PreviewRun:
    """One `python -m preview <stack>` in a fresh process."""

    stack: str
    wall_seconds: float
    peak_rss_mib: float


def time_preview(stack: str) -> PreviewRun:
    """Run the preview of a stack in a child process; measure wall time and peak memory."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "preview", stack, "--out", out],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"the preview of {stack} failed; run `make preview STACK={stack}`")
    return PreviewRun(stack, wall, usage.ru_maxrss / 1024)


@functools.cache
def preview_of(stack: str) -> Preview:
    """The in-process preview of a stack, computed once."""
    return run_preview(stack)


def memory_limits_mib(stack: str) -> dict[str, int]:
    """Each container's memory limit in MiB, by container name."""
    return {
        resource.inputs["name"]: int(resource.inputs["memory"])
        for resource in preview_of(stack).of_type("docker:index/container:Container")
    }


def size_bytes(size: str) -> float:
    """A Prometheus-style size such as `20GB`, in bytes."""
    for unit in sorted(_SIZE_UNITS, key=len, reverse=True):
        if size.endswith(unit):
            return float(size[: -len(unit)]) * _SIZE_UNITS[unit]
    raise ValueError(f"not a size: {size}")


def report(stacks: tuple[str, ...] = ("prod", "staging")) -> None:
    """Print preview time, peak memory, memory limits and retention bounds per stack."""
    print("Preview (fresh process each; goal: prod under 10 s on two cores)")
    for stack in stacks:
        runs = sorted((time_preview(stack) for _ in range(3)), key=lambda run: run.wall_seconds)
        median = runs[1]
        print(
            f"  {stack:<8} median wall {median.wall_seconds:5.2f} s   "
            f"peak RSS {median.peak_rss_mib:6.1f} MiB   "
            f"(runs: {', '.join(f'{run.wall_seconds:.2f}' for run in runs)})"
        )

    print("\nContainer memory limits (goal: staging under 3 GiB, prod under 4 GiB)")
    for stack in stacks:
        limits = memory_limits_mib(stack)
        total = sum(limits.values())
        goal = GOAL_MEMORY_MIB.get(stack)
        verdict = "" if goal is None else ("  within goal" if total < goal else "  OVER GOAL")
        print(f"  {stack:<8} {total:>5} MiB in {plural(len(limits), 'container')}{verdict}")
        for name, mib in sorted(limits.items(), key=lambda item: -item[1]):
            print(f"      {name:<28} {mib:>5} MiB")

    print("\nDisk bounded by retention, where metrics, logs and backups accumulate")
    for stack in stacks:
        settings = stack_settings(stack)
        rows = [
            ("Prometheus", *prometheus_bound(stack)),
            ("Loki", *loki_bound(settings)),
            ("backups", *backups_bound(settings)),
        ]
        for first, (store, where, bound) in zip([stack, "", ""], rows, strict=True):
            print(f"  {first:<8} {store:<10} {where:<13} {bound}")


def days(duration: str) -> str:
    """A duration such as `720h`, in days."""
    return plural(seconds(duration) / 86400, "day")


def prometheus_bound(stack: str) -> tuple[str, str]:
    """Where Prometheus keeps samples and its size and time bounds, from its rendered flags."""
    command = preview_of(stack).named("metrics-prometheus").inputs["command"]
    flags = dict(flag.split("=", 1) for flag in command if "=" in flag)
    size = size_bytes(flags["--storage.tsdb.retention.size"]) / 1e9
    kept_for = days(flags["--storage.tsdb.retention.time"])
    return "volume", f"{size:.1f} GB or {kept_for}, whichever comes first"


def loki_bound(settings: Settings) -> tuple[str, str]:
    """Where Loki keeps log entries and how long; Loki here has no size bound."""
    logging = settings.logging
    where = "volume" if logging.storage == "filesystem" else "S3 bucket"
    ordinary = days(logging.retention_for(settings.environment))
    audit = days(logging.audit_retention_for(settings.environment))
    return where, f"by time only: {ordinary}, audit events {audit}"


def backups_bound(settings: Settings) -> tuple[str, str]:
    """Where backups are kept and for how long, from the bucket's lifecycle settings."""
    backups = settings.backups
    where = "S3 bucket" if backups.replica_region is None else "S3 + replica"
    kept = (
        f"daily {plural(backups.daily_keep_days, 'day')}, "
        f"weekly {plural(backups.weekly_keep_weeks, 'week')}, "
        f"old versions {plural(backups.noncurrent_version_days, 'day')} more"
    )
    lock = backups.lock_days(settings.prod)
    # A governance lock matters only where it outlasts a daily backup's expiry and old version.
    if lock is not None and lock > backups.daily_keep_days + backups.noncurrent_version_days:
        kept += f", locked {plural(lock, 'day')}"
    return where, kept
