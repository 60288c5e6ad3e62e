"""Evaluation splits. Each one is a pure function of the events and a seed, so the exact
split can be rebuilt anywhere (docs in models/movielens-100k/eval/SPLITS.md).

- `ms_stratified`: Microsoft Recommenders' `python_stratified_split(ratio=0.75, seed=42)`,
  re-implemented: draw `numpy.random.RandomState(seed).rand(n)` in the original row order,
  sort each user's events by that number, and put an event in train when
  `rank / count <= ratio` (rank 1-based). MovieLens' row order is u.data's, so the
  split is the one their benchmark table was measured on.
- `leave_last_out`: per user, the last event in (timestamp, item index) order is the test.
- `cold_start_users`: a seeded random subset of users held out of training altogether.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def ms_stratified(events: pd.DataFrame, ratio: float = 0.75, seed: int = 42) -> np.ndarray:
    """Boolean mask over `events` rows: True = train. `events["row"]` is the source order."""
    order = np.argsort(events["row"].to_numpy(), kind="stable")
    rand = np.empty(len(events))
    rand[order] = np.random.RandomState(seed).rand(len(events))
    df = pd.DataFrame({"user": events["user"].to_numpy(), "r": rand, "pos": np.arange(len(events))})
    df = df.sort_values(["user", "r"], kind="stable")
    g = df.groupby("user", sort=False)
    rank = (g.cumcount() + 1).to_numpy() / g["user"].transform("count").to_numpy()
    train = np.zeros(len(events), bool)
    train[df["pos"].to_numpy()] = rank <= ratio
    return train


def leave_last_out(events: pd.DataFrame) -> np.ndarray:
    """Boolean mask: True = train (every event but each user's last)."""
    df = pd.DataFrame({
        "user": events["user"].to_numpy(), "ts": events["timestamp"].to_numpy(),
        "item": events["item"].to_numpy(), "pos": np.arange(len(events)),
    }).sort_values(["user", "ts", "item"], kind="stable")
    last = df.groupby("user", sort=False)["pos"].transform("last").to_numpy() == df["pos"].to_numpy()
    train = np.ones(len(events), bool)
    train[df["pos"].to_numpy()[last]] = False
    return train


def cold_start_users(num_users: int, fraction: float, seed: int) -> np.ndarray:
    """Sorted dense indices of the users held out of training for the cold-start track:
    the first round(fraction * num_users) of `RandomState(seed).permutation(num_users)`."""
    n = int(round(fraction * num_users))
    return np.sort(np.random.RandomState(seed).permutation(num_users)[:n])
