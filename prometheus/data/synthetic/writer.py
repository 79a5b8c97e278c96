"""Write a generated market as vendor files plus a ``truth/`` folder (byte-for-byte reproducible)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

from prometheus.core.errors import StoreError
from prometheus.data.synthetic.market import SyntheticMarket, SyntheticTruth
from prometheus.data.synthetic.schema import NEWS_TRUTH

#: Files under ``truth/``.
TRUTH_FILES = ("manifest.json", "market.parquet", "exposures.parquet", "signals.parquet", "news_tone.csv")


def _atomic(path: Path, write: object) -> None:
    """Write through a temporary name and rename, so a crash never leaves a half-written file visible."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)  # type: ignore[operator]
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot write {path}: {exc}") from exc


def _csv(frame: pl.DataFrame, path: Path) -> None:
    # ISO 8601 with an explicit Z: unambiguous UTC for any reader.
    _atomic(path, lambda p: frame.write_csv(p, datetime_format="%Y-%m-%dT%H:%M:%SZ", float_precision=None))


def _parquet(frame: pl.DataFrame, path: Path) -> None:
    _atomic(path, lambda p: frame.write_parquet(p, compression="zstd", statistics=False))


def write_vendor_files(market: SyntheticMarket, outdir: Path | str) -> list[Path]:
    """Write the vendor files and ``truth/`` under ``outdir`` (created); returns the paths written.

    Same market, same bytes: no timestamps of the run are written anywhere.
    """
    out = Path(outdir)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, frame in market.vendor_frames().items():
        _csv(frame, out / name)
        written.append(out / name)
    t = market.truth
    for name, frame in (
        ("market.parquet", t.market),
        ("exposures.parquet", t.exposures),
        ("signals.parquet", t.signals),
    ):
        _parquet(frame, out / "truth" / name)
    _csv(t.news_tone, out / "truth" / "news_tone.csv")
    text = json.dumps(t.manifest, indent=2, sort_keys=True) + "\n"
    _atomic(out / "truth" / "manifest.json", lambda p: p.write_text(text))
    written += [out / "truth" / name for name in TRUTH_FILES]
    return written


def read_truth(outdir: Path | str) -> SyntheticTruth:
    """The ground truth :func:`write_vendor_files` wrote under ``outdir/truth`` (for research: regimes, loadings,
    planted signals and news tones of the market that was ingested).

    Raises
    ------
    StoreError
        A truth file is missing (``outdir`` is not a synthetic delivery).
    """
    folder = Path(outdir) / "truth"
    missing = [name for name in TRUTH_FILES if not (folder / name).is_file()]
    if missing:
        raise StoreError(f"{folder}: no synthetic ground truth ({', '.join(missing)} missing)")
    tone = pl.read_csv(folder / "news_tone.csv", schema={c.name: c.dtype for c in NEWS_TRUTH.columns})
    return SyntheticTruth(
        market=pl.read_parquet(folder / "market.parquet"),
        exposures=pl.read_parquet(folder / "exposures.parquet"),
        signals=pl.read_parquet(folder / "signals.parquet"),
        news_tone=tone,
        manifest=json.loads((folder / "manifest.json").read_text()),
    )
