"""Where the benchmarks run from and write to, and the PostgreSQL server they use.

HUSHCAST_BENCH_OUT moves the raw outputs and results.json, HUSHCAST_BENCH_PG the server.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# HUSHCAST_BENCH_OUT puts raw outputs and results.json elsewhere (and leaves
# BENCHMARKS.md alone), so two runs on one machine do not share files.
OUT = Path(os.environ.get("HUSHCAST_BENCH_OUT", ROOT / "bench" / "out"))
RESULTS = (
    OUT / "results.json" if "HUSHCAST_BENCH_OUT" in os.environ else ROOT / "bench" / "results.json"
)
PG_ADMIN = os.environ.get("HUSHCAST_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
