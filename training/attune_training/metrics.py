"""Ranking metrics, defined precisely enough to re-implement bit-for-bit elsewhere.

Conventions (shared with the Rust reimplementation; see models/movielens-100k/eval/METRICS.md):

- A *ranking* for a user is a list of distinct item indices, best first; rank r is 1-based.
- Rankings are built from scores by :func:`top_k`: higher score first, ties broken by the
  smaller item index, excluded items (e.g. the user's training items) never appear.
- Relevance is binary: an item is relevant when it is in the user's test set R_u.
- Every metric is computed per user, then averaged with equal weight over the users that
  have at least one test item (users without test items are skipped, not counted as 0).
- log is the natural logarithm; nDCG does not depend on the base.

Per user with top-k list L (|L| = k unless fewer items were rankable) and test set R:

    hits      = |L ∩ R|
    P@k       = hits / k                      (k, not |L|: Spark / MS Recommenders)
    Recall@k  = hits / |R|
    HR@k      = 1 if hits > 0 else 0
    DCG@k     = Σ_{r: L[r] ∈ R} 1 / ln(1 + r)
    IDCG@k    = Σ_{r=1}^{min(|R|, k)} 1 / ln(1 + r)
    nDCG@k    = DCG@k / IDCG@k
    AP        = (1 / |R|)        · Σ_{r: L[r] ∈ R} (hits among L[1..r]) / r     -> "MAP"
    AP@k      = (1 / min(|R|,k)) · Σ_{r: L[r] ∈ R} (hits among L[1..r]) / r     -> "MAP@k"

"MAP" is what the Microsoft Recommenders benchmark table reports (their `map`, formerly
`map_at_k`, divides by |R|). With a single test item (leave-last-out) HR@k = Recall@k
and nDCG@k = ln 2 / ln(1 + rank).
"""

from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, k: int, exclude: list[np.ndarray] | np.ndarray | None = None) -> np.ndarray:
    """int64[U, k] rankings from float scores[U, I]; ties -> smaller index; `exclude[u]`
    lists item indices never to return for user u (rows padded with -1 when fewer than k
    items remain, which cannot happen on MovieLens)."""
    s = np.array(scores, dtype=np.float64, copy=True)
    if s.ndim == 1:
        s = s[None, :]
    if exclude is not None:
        for u, ex in enumerate(exclude):
            if len(ex):
                s[u, np.asarray(ex, dtype=np.int64)] = -np.inf
    num_items = s.shape[1]
    k = min(k, num_items)
    # lexsort: last key is primary. Primary = -score, secondary = item index.
    idx = np.broadcast_to(np.arange(num_items), s.shape)
    out = np.empty((s.shape[0], k), np.int64)
    for u in range(s.shape[0]):
        order = np.lexsort((idx[u], -s[u]))[:k]
        out[u] = np.where(s[u, order] > -np.inf, order, -1)
    return out


def per_user(ranking: np.ndarray, relevant: set[int] | np.ndarray, k: int) -> dict[str, float]:
    """All metrics for one user. `ranking` may be longer than k; only the first k count."""
    rel = set(int(x) for x in relevant)
    if not rel:
        raise ValueError("a user without test items has no metrics")
    lst = [int(x) for x in ranking[:k] if int(x) >= 0]
    hits = 0
    dcg = 0.0
    ap_sum = 0.0
    first_hit_rank = 0
    for r, item in enumerate(lst, start=1):
        if item in rel:
            hits += 1
            dcg += 1.0 / np.log(1.0 + r)
            ap_sum += hits / r
            if first_hit_rank == 0:
                first_hit_rank = r
    idcg = sum(1.0 / np.log(1.0 + r) for r in range(1, min(len(rel), k) + 1))
    return {
        "precision": hits / k,
        "recall": hits / len(rel),
        "hit_rate": 1.0 if hits else 0.0,
        "ndcg": dcg / idcg,
        "map": ap_sum / len(rel),
        "map_at_k": ap_sum / min(len(rel), k),
        "mrr": 1.0 / first_hit_rank if first_hit_rank else 0.0,
    }


def evaluate(rankings: np.ndarray, relevant: list, k: int) -> dict[str, float]:
    """Mean of :func:`per_user` over users with a non-empty test set; adds `users`."""
    acc: dict[str, float] = {}
    n = 0
    for u, rel in enumerate(relevant):
        if rel is None or len(rel) == 0:
            continue
        m = per_user(rankings[u], rel, k)
        for key, v in m.items():
            acc[key] = acc.get(key, 0.0) + v
        n += 1
    out = {key: v / n for key, v in acc.items()}
    out["users"] = n
    return out


def recall_curve(rankings: np.ndarray, relevant: list, ks: list[int]) -> list[float]:
    """Mean Recall@k for each k in ks (rankings must be at least max(ks) long)."""
    return [evaluate(rankings, relevant, k)["recall"] for k in ks]


def coverage(rankings: np.ndarray, num_items: int, k: int) -> float:
    """Catalog coverage@k: share of all items that appear in at least one user's top k."""
    top = rankings[:, :k]
    return len(set(int(x) for x in top.ravel() if x >= 0)) / num_items


def popularity_bias(rankings: np.ndarray, item_counts: np.ndarray, k: int) -> dict[str, float]:
    """Average recommendation popularity: mean over all recommended slots of the item's
    share of training interactions, plus the share of slots taken by the 10 % most
    popular items (by training count, ties -> smaller index)."""
    top = rankings[:, :k].ravel()
    top = top[top >= 0]
    share = item_counts / max(1, item_counts.sum())
    n_head = max(1, int(round(0.1 * len(item_counts))))
    head = set(np.lexsort((np.arange(len(item_counts)), -item_counts))[:n_head].tolist())
    return {
        "mean_popularity_share": float(share[top].mean()),
        "head10_share": float(np.mean([int(x) in head for x in top])),
    }
