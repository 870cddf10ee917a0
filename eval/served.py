"""``gouji serve`` as a real process on 127.0.0.1, for the tests and the benchmark: started
on a port the system picks, its address read from the line it prints, stopped or killed as a
user would."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

_ADDRESS = re.compile(r"gouji serve 在 (http://\S+?) 监听")


class Served:
    """One server: ``url`` once started; its stderr (the log) in ``log``."""

    def __init__(
        self, args: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        self.args, self.log = args, log
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.process: subprocess.Popen | None = None
        self.url = ""

    def start(self, timeout: float = 60) -> Served:
        seen = self.log.stat().st_size if self.log.exists() else 0  # a restart appends
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gouji.cli", "serve", "--port", "0", *self.args],
                stdout=out,
                stderr=out,
                env=self.env,
                cwd=self.cwd,
            )
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline and self.process.poll() is None:
            text = self.log.read_bytes()[seen:].decode("utf-8", "replace")
            if "Application startup complete" in text:
                break
            time.sleep(0.05)
        found = _ADDRESS.findall(text)
        if self.process.poll() is not None or not found:
            self.stop()
            raise RuntimeError(f"gouji serve did not start: {self.text()}")
        self.url = found[-1]
        return self

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 30) -> int:
        """Ctrl-C, as a person stops it; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no chance to tidy up."""
        self.process.kill()
        self.process.wait()

    def __enter__(self) -> Served:
        return self.start()

    def __exit__(self, *_) -> None:
        self.stop()
