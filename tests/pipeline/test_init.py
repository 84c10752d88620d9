"""Process-wide settings made when the package is imported."""

import os
import subprocess
import sys

CAPACITY = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"


def _capacity_after_import(environment: dict[str, str]) -> str:
    code = f"import os, pipeline; print(os.environ['{CAPACITY}'])"
    finished = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    return finished.stdout.strip()


def test_init_bounds_onednn_primitive_cache():
    environment = {k: v for k, v in os.environ.items() if k != CAPACITY}
    assert _capacity_after_import(environment) == "32"


def test_init_keeps_a_users_onednn_cache_setting():
    assert _capacity_after_import({**os.environ, CAPACITY: "256"}) == "256"
