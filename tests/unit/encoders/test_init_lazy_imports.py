"""Heavy imports stay lazy: importing the encoders or profiles does not import torch."""

from __future__ import annotations

import subprocess
import sys


def test_import_when_encoders_imported_does_not_import_torch() -> None:
    code = (
        "import sys, prometheus.encoders, prometheus.encoders.numeric, prometheus.encoders.text, prometheus.profiles; "
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"
