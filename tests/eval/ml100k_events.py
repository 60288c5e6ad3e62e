"""Writes training/.cache/movielens-100k/events.csv for `attune eval`: the split table
of models/movielens-100k/eval/SPLITS.md joined with each rating's value, which the
onboarding picks (`+picks` rows, the ranking models' `pref:` features) need.

Nothing here is committed: the ratings may not be redistributed (GroupLens terms). Run
from the repository root with the training venv:

    .venv/bin/python tests/eval/ml100k_events.py

It first runs `python -m attune_training data` (in training/) when splits.csv is
missing, then checks the split's sha256 against eval/splits.sha256.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "training" / ".cache" / "movielens-100k"


def main() -> int:
    splits = CACHE / "splits.csv"
    if not splits.exists():
        subprocess.run([sys.executable, "-m", "attune_training", "data"], cwd=ROOT / "training", check=True)
    want = (ROOT / "models/movielens-100k/eval/splits.sha256").read_text().split()[0]
    got = hashlib.sha256(splits.read_bytes()).hexdigest()
    if got != want:
        print(f"splits.csv sha256 {got} != {want} (eval/splits.sha256)", file=sys.stderr)
        return 1
    table = pd.read_csv(splits, dtype={"user_id": str, "item_id": str})
    ratings = pd.read_parquet(CACHE / "MovieLens100k_data.parquet.brotli")
    ratings = pd.DataFrame({"user_id": ratings["user_id"].astype(str), "item_id": ratings["movie_id"].astype(str),
                            "rating": ratings["rating"].astype(int)})
    out = table.merge(ratings, on=["user_id", "item_id"], how="left", validate="one_to_one")
    if out["rating"].isna().any():
        print("some split rows have no rating", file=sys.stderr)
        return 1
    out = out[["user_id", "item_id", "timestamp", "rating", "ms", "loo", "cold"]]
    dest = CACHE / "events.csv"
    out.to_csv(dest, index=False, lineterminator="\n")
    print(f"wrote {dest.relative_to(ROOT)}: {len(out)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
