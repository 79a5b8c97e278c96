"""Runs ``prometheus execute`` in its own process (the crash tests kill it with SIGKILL at chosen moments).

``python -m tests.support.execute_worker --market US_EQ --session D --targets FILE --wait S`` with the
``PROMETHEUS_*`` environment of a PAPER run; the command is the CLI's own (not yet registered under
``prometheus``, so it is called through its module).
"""

from __future__ import annotations

from prometheus_cli.execute import app

if __name__ == "__main__":
    app(prog_name="prometheus execute")
