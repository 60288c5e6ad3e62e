"""Onboarding topic picks derived from ratings, for training and for the cold-start track.

A simulated onboarding screen: the user picks the `n` topics (genres) they rate highest.
"Rate highest" is the user's mean rating over the items carrying the topic, shrunk
towards the user's overall mean rating with `prior` pseudo-ratings so that one 5-star
film does not make a favourite genre:

    score(t) = (sum of ratings on items with t + prior * user_mean) / (count(t) + prior)

Only topics the user rated at least once qualify. Ties: larger count(t), then the
smaller topic index. Events without ratings (value all 1.0) reduce this to "the most
consumed topics".
"""

from __future__ import annotations

import numpy as np


def derive_picks(items: np.ndarray, values: np.ndarray, item_topics: np.ndarray,
                 n: int = 3, prior: float = 5.0) -> list[int]:
    """Topic indices of one user's `n` picks (fewer if they rated fewer topics)."""
    if len(items) == 0:
        return []
    t = item_topics[items]                      # [m, T]
    cnt = t.sum(0)
    tot = (t * values[:, None]).sum(0)
    mean = float(values.mean())
    score = (tot + prior * mean) / (cnt + prior)
    cand = [j for j in range(t.shape[1]) if cnt[j] > 0]
    cand.sort(key=lambda j: (-score[j], -cnt[j], j))
    return cand[:n]


def picks_vector(picks: list[int], num_topics: int) -> np.ndarray:
    """The `preferences` input for a set of picks: 1.0 for each picked topic, else 0."""
    v = np.zeros(num_topics, np.float32)
    v[list(picks)] = 1.0
    return v
