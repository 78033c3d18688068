"""Node.js scripts as test peers: skip without the tool on a developer machine, fail in CI.

CI (`.ci/run`) installs Node packages and Chromium first, so a missing tool there is a broken
setup, not a reason to skip.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(what: str, present: bool, how: str) -> None:
    """Skip when `what` is missing, with `how` to get it; fail instead under CI."""
    if present:
        return
    message = f"{what} is missing: {how}"
    if in_ci():
        pytest.fail(f"{message} (CI sets it up in .ci/run)", pytrace=False)
    pytest.skip(message)


def node_workspace(name: str) -> tuple[str, Path]:
    """`node` and a workspace under the repo with its packages installed."""
    node = shutil.which("node")
    require("node", node is not None, "install Node.js 20 or newer")
    workspace = ROOT / name
    require(f"{name}/node_modules", (workspace / "node_modules").is_dir(), f"run `npm ci` in {name}/")
    assert node is not None
    return node, workspace


class NodeProcess:
    """A running script whose stdout is read line by line; JSON lines are kept parsed."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self.messages: list[dict[str, Any]] = []
        self._new: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict):
                self.messages.append(message)
                self._new.put(message)

    def wait_for(self, match: Callable[[dict[str, Any]], bool], timeout: float = 30) -> dict[str, Any]:
        """The first JSON line (from now on) that `match`es."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self._new.get(timeout=min(left, 0.2))
            except queue.Empty:
                if self.process.poll() is not None and self._new.empty():
                    break
                continue
            if match(message):
                return message
        output = "\n".join(self.lines[-40:])
        raise AssertionError(f"{self.process.args!r} gave no matching line (exit {self.process.poll()}):\n{output}")


@contextmanager
def node_process(node: str, workspace: Path, script: str, args: Sequence[str] = ()) -> Iterator[NodeProcess]:
    """Run `node script args` in `workspace` until the block ends."""
    process = subprocess.Popen(
        [node, script, *args], cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env={**os.environ, "NODE_ENV": "production"},
    )
    try:
        yield NodeProcess(process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
