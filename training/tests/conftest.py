"""Shared fixtures: a tiny synthetic data set and a config sized for seconds, not minutes."""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from attune_training import data  # noqa: E402


def synthetic_dataset(num_users=30, num_items=40, num_topics=4, seed=0) -> data.Dataset:
    """Users prefer one topic; items carry 1-2 topics; ratings 1-5; timestamps increasing."""
    rng = np.random.default_rng(seed)
    item_topics = [sorted(set(rng.choice(num_topics, size=rng.integers(1, 3), replace=False).tolist()))
                   for _ in range(num_items)]
    rows = []
    for u in range(num_users):
        fav = u % num_topics
        liked = [i for i in range(num_items) if fav in item_topics[i]]
        n = int(rng.integers(6, 15))
        pool = np.array(liked + list(rng.choice(num_items, 5, replace=False)))
        items = rng.choice(np.unique(pool), size=min(n, len(np.unique(pool))), replace=False)
        for t, i in enumerate(items):
            rows.append((u, int(i), 1000 + 10 * t, float(rng.integers(1, 6))))
    ev = pd.DataFrame(rows, columns=["user", "item", "timestamp", "value"])
    ev.insert(0, "row", np.arange(len(ev)))
    ev["user_id"] = "u" + ev["user"].astype(str)
    ev["item_id"] = "i" + ev["item"].astype(str)
    labels = [f"Topic {j}" for j in range(num_topics)]
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(num_items)],
                          "title": [f"Item {i}" for i in range(num_items)],
                          "topics": item_topics, "published": [None] * num_items})
    return data.Dataset("synthetic", ev, items, [data.topic_id(x) for x in labels], labels,
                        source={"dataset": "synthetic", "citation": "none"})


def tiny_config(tmp: Path) -> dict:
    return {
        "seed": 1, "dataset": "synthetic", "cache_dir": str(tmp / "cache"),
        "onboarding": {"picks": 2, "prior": 5.0, "representative_items": 2},
        "eval": {"k": 5, "ms_ratio": 0.75, "ms_seed": 42, "cold_fraction": 0.2, "cold_seed": 7,
                 "recall_curve_k": [1, 5, 10]},
        "sequence": {"history_len": 8, "embed_dim": 4, "init": "ease", "ease_lambda": 10.0, "epochs": 3,
                     "batch_size": 16, "top_k": 5},
        "ranking": {"embed_dim": 4, "hidden_dim": 8, "epochs": 1, "batch_size": 64},
        "bundle": {"version": "0.0.1", "k": 5, "diversity": 0.0, "exploration": 0.0,
                   "signing_seed_hex": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"},
    }


@pytest.fixture(scope="session")
def ds():
    return synthetic_dataset()


@pytest.fixture(scope="session")
def built(tmp_path_factory, ds):
    """Train both tiny models on the ms track and write both bundles once per session."""
    from attune_training import pipeline

    tmp = tmp_path_factory.mktemp("bundles")
    cfg = tiny_config(tmp)
    track = pipeline.make_track(ds, cfg, "ms")
    trained = pipeline.train_models(ds, cfg, track)
    trained["_train"] = track.train
    golden = pipeline.golden_inputs(ds, cfg, track, trained)
    card = {"summary": "test", "evaluations": [{"protocol": "ms-recommenders", "k": 5,
                                                "rows": [{"model": "sequence", "ndcg": 0.5, "users": 3}]}]}
    manifests = {kind: pipeline.write_bundle(ds, cfg, trained, kind, tmp / kind, card, golden)
                 for kind in ("sequence", "ranking")}
    return {"dir": tmp, "cfg": cfg, "track": track, "trained": trained, "manifests": manifests}
