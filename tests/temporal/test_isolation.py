"""Without the ``temporal`` extra nothing changes: the core SDK never imports temporalio.

Each check runs in a fresh interpreter (this one has imported temporalio already); these
tests run with or without the extra installed.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE_IMPORTS = [
    "import topview_async",
    "from topview_async import AsyncTopview; AsyncTopview(api_key='k', uid='u').marketing_videos",
    "import topview_async.webhooks",
    "from topview_async.webhooks import topview_webhook_router, NoticeReceiver",
    "import topview_async.jobs",
    "import topview_async.cli._app",  # `topview --help`: the temporal commands are registered
    "import topview_async.temporal",  # names only, until one is used
]


@pytest.mark.parametrize("code", CORE_IMPORTS)
def test_the_core_never_imports_temporalio(code: str) -> None:
    script = f"{code}\nimport sys\nprint('temporalio' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_the_temporal_commands_say_what_to_install_without_the_extra() -> None:
    """``topview temporal worker`` without temporalio: one line naming the extra, exit 2."""
    script = (
        "import sys; sys.modules['temporalio'] = None\n"
        "from topview_async.cli import main\n"
        "sys.exit(main(['temporal', 'worker']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    assert "pip install 'topview-async[temporal]'" in done.stderr
    assert "Traceback" not in done.stderr
