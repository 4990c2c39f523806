"""`crm import FILE`: a year of history straight into PostgreSQL, with progress and a rejections file."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO

from adapters.history_import import BATCH, HistoryImport, ImportReport
from cli.database import open_store
from crm.settings import Settings


async def import_history(settings: Settings, path: Path, rejections: Path | None, batch: int = BATCH) -> int:
    if not path.is_file():
        print(f"crm import: no file {path}", file=sys.stderr)
        return 2
    rejections = rejections or path.with_name(path.name + ".rejections.jsonl")
    started, out = time.perf_counter(), _LazyFile(rejections)
    try:
        def rejected(line: int, reason: str, text: str) -> None:
            out.write(json.dumps({"line": line, "reason": reason, "input": text[:2000]}) + "\n")

        def progress(report: ImportReport) -> None:
            if sys.stderr.isatty():
                rate = report.lines / max(time.perf_counter() - started, 1e-9)
                print(f"\r  {report.lines:,} lines: {report.accepted:,} new, {report.duplicates:,} already stored, "
                      f"{report.rejected:,} rejected ({rate:,.0f} lines/s)", end="", file=sys.stderr, flush=True)

        async with open_store(settings) as store:
            await store.migrate()  # importing into a fresh database is how many installations begin
            report = await HistoryImport(store.pool).run(path, rejected, progress, batch)
    finally:
        out.close()
    seconds = time.perf_counter() - started
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if report.resumed_after:
        print(f"resumed after line {report.resumed_after:,} (committed by an earlier run)")
    print(f"imported {path}: {report.lines:,} lines in {seconds:.1f} s ({report.lines / max(seconds, 1e-9):,.0f} lines/s)")
    print(f"  accepted {report.accepted:,} new events, {report.duplicates:,} already stored, "
          f"{report.rejected:,} rejected" + (f" (see {rejections})" if report.rejected else ""))
    print(f"  profiles rebuilt for {report.profiles_rebuilt:,} players"
          + (f"; {report.profiles_live:,} are live, their workflow keeps the profile" if report.profiles_live else ""))
    return 1 if report.rejected else 0


class _LazyFile:
    """The rejections file appears only when there is something to put in it."""

    def __init__(self, path: Path) -> None:
        self._path, self._file = path, None  # type: tuple[Path, IO[str] | None]

    def write(self, text: str) -> None:
        if self._file is None:
            self._file = self._path.open("w")
        self._file.write(text)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
