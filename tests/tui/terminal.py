"""A real terminal for end-to-end tests: a tmux session of its own, driven like a person
would (keys in, the screen read back, waiting for text rather than sleeping)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

__all__ = ["Terminal", "need_tmux"]


def need_tmux() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        if os.environ.get("OMS_REQUIRE_SERVICES") == "1":
            pytest.fail("tmux is required (OMS_REQUIRE_SERVICES=1) but not installed")
        pytest.skip(reason="tmux not installed")
    return tmux


class Terminal:
    """One tmux server and session, named `name`; `close()` ends both."""

    def __init__(self, tmux: str, name: str) -> None:
        self.tm, self.name = [tmux, "-L", name], name

    def start(self, command: str, env: dict[str, str], *, width: int = 120, height: int = 32,
              cwd: str | None = None) -> None:
        subprocess.run([*self.tm, "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), command],
                       check=True, env=env, cwd=cwd)

    def keys(self, *keys: str) -> None:
        """Press each key (tmux key names: "Enter", "Escape", "F2", "q")."""
        for key in keys:
            subprocess.run([*self.tm, "send-keys", "-t", self.name, key], check=True)

    def type(self, text: str) -> None:
        subprocess.run([*self.tm, "send-keys", "-t", self.name, "-l", text], check=True)

    def screen(self) -> str:
        return subprocess.run([*self.tm, "capture-pane", "-p", "-t", self.name], capture_output=True,
                              text=True).stdout

    def wait_for(self, text: str, timeout: float = 45.0) -> str:
        """The screen once `text` is on it (AssertionError with the screen if it never is)."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")

    def alive(self) -> bool:
        return subprocess.run([*self.tm, "has-session", "-t", self.name], capture_output=True).returncode == 0

    def wait_gone(self, timeout: float = 20.0) -> bool:
        """True once the session has ended (its command exited)."""
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        return not self.alive()

    def close(self) -> None:
        subprocess.run([*self.tm, "kill-server"], capture_output=True)
