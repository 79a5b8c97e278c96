"""Driving a running Dagster UI in the end-to-end tests: a free port, GraphQL queries, waiting for the graph, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_dagster_dev(root: Path, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """``dagster dev -w workspace.yaml`` from the repository ``root`` on 127.0.0.1:``port`` in its own process
    group (stop it with :func:`stop`), output to ``log``."""
    dagster = str(Path(sys.executable).with_name("dagster"))
    with log.open("w") as out:
        return subprocess.Popen(
            [dagster, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


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


LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { stepKey invalidOutputName }
    ... on UnauthorizedError { message }
  }
}
"""

BACKFILL_QUERY = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      id status title endTimestamp
      tags { key value }
      assetSelection { path }
      runs(limit: 100) { runId status jobName }
    }
    ... on PythonError { message }
  }
}
"""


def graphql_vars(port: int, query: str, variables: dict) -> dict:
    """The ``data`` of ``query`` with ``variables``; fails on GraphQL errors."""
    response = requests.post(
        f"http://127.0.0.1:{port}/graphql", json={"query": query, "variables": variables}, timeout=60
    )
    response.raise_for_status()
    body = response.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]


def launch_asset_backfill(port: int, assets: list[str], partitions: list[str], tags: dict[str, str]) -> str:
    """Launch a backfill of ``assets`` (``us_eq/backtest_daily``) over ``partitions`` through the
    ``launchPartitionBackfill`` mutation, as the UI's "Materialize" dialog does; returns the backfill id."""
    params = {
        "assetSelection": [{"path": a.split("/")} for a in assets],
        "partitionNames": partitions,
        "tags": [{"key": k, "value": v} for k, v in tags.items()],
    }
    result = graphql_vars(port, LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    return result["backfillId"]


def backfill(port: int, backfill_id: str) -> dict:
    """The backfill ``backfill_id`` as the UI shows it: status, tags, asset selection and runs."""
    found = graphql_vars(port, BACKFILL_QUERY, {"id": backfill_id})["partitionBackfillOrError"]
    assert found["__typename"] == "PartitionBackfill", found
    return found


def wait_for_backfill(port: int, backfill_id: str, proc: subprocess.Popen, log: Path, timeout: float = 300) -> dict:
    """The backfill once the daemon has finished it (any terminal status)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the UI exited early:\n{log.read_text()[-4000:]}"
        found = backfill(port, backfill_id)
        if found["status"] not in {"REQUESTED", "CANCELING", "FAILING"}:
            return found
        time.sleep(3)
    raise AssertionError(f"backfill {backfill_id} did not finish within {timeout} s:\n{log.read_text()[-4000:]}")
