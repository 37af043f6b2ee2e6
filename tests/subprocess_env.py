"""Run manage.py in a child process with a chosen environment, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Variables the test plugin sets for the test process itself; a child starts from a clean slate.
_TEST_ONLY = ("DJANGO_DEBUG", "DJANGO_SECURE_SSL_REDIRECT", "DJANGO_SECURE_COOKIES", "DJANGO_SECRET_KEY")


def run_python(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    child_env = {key: value for key, value in os.environ.items() if key not in _TEST_ONLY}
    child_env.update(env)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=timeout
    )


def run_manage(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return run_python(["manage.py", *args], env, timeout)
