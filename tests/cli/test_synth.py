"""``prometheus synth``: writes the files and reports bad options as one-line errors."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from prometheus_cli.synth import app


def test_synth_when_given_outdir_writes_vendor_files_and_truth(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [str(tmp_path / "out"), "--names", "30", "--years", "1", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "prices.csv").is_file()
    assert (tmp_path / "out" / "truth" / "manifest.json").is_file()
    assert "30 names" in result.output


def test_synth_when_names_too_small_exits_2_with_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [str(tmp_path), "--names", "3"])
    assert result.exit_code == 2
    assert "n_names" in result.output


def test_synth_when_start_malformed_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [str(tmp_path), "--start", "2014-13-01"])
    assert result.exit_code == 2
    assert "--start" in result.output
