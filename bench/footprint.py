"""Preview wall time and peak memory, and the resources each stack asks of its Docker host."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from config.base import seconds
from preview.harness import ROOT, Preview, run_preview

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
        print(f"  {stack:<8} {total:>5} MiB in {len(limits)} containers{verdict}")
        for name, mib in sorted(limits.items(), key=lambda item: -item[1]):
            print(f"      {name:<28} {mib:>5} MiB")

    print("\nDisk bounded by retention")
    for stack in stacks:
        metrics = preview_of(stack).named("metrics-prometheus").inputs["command"]
        flags = dict(flag.split("=", 1) for flag in metrics if "=" in flag)
        size = flags["--storage.tsdb.retention.size"]
        days = seconds(flags["--storage.tsdb.retention.time"]) / 86400
        print(f"  {stack:<8} Prometheus at most {size_bytes(size) / 1e9:.1f} GB or {days:g} days")
