"""Driving a running Dagster UI in the end-to-end tests: a free port, GraphQL queries, waiting for the graph, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    """The ``data`` of ``query`` against the UI's GraphQL endpoint."""
    response = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=30)
    response.raise_for_status()
    return response.json()["data"]


def wait_for_assets(port: int, query: str, proc: subprocess.Popen, log: Path, timeout: float = 240) -> list[dict]:
    """The ``assetNodes`` of ``query`` once the UI serves any (fails early when the process exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the UI exited early:\n{log.read_text()[-4000:]}"
        try:
            nodes = graphql(port, query)["assetNodes"]
            if nodes:
                return nodes
        except (requests.RequestException, KeyError, TypeError):
            pass
        time.sleep(2)
    raise AssertionError(f"the UI did not serve assets within {timeout} s:\n{log.read_text()[-4000:]}")


def stop(proc: subprocess.Popen) -> None:
    """Stop the UI's process group (TERM, then KILL after 30 s)."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
