"""Next-item sequence model: last-N history + onboarding topic preferences -> catalog scores.

Architecture (one forward, shared by training and export so both compute the same math):

    mask[n]  = history[n] != pad                          history: most recent first
    w[n]     = mask[n] * exp(recency[n])                  learned recency weights
    pooled   = Σ_n w[n] · E[history[n]] · rsqrt(Σ_n w[n] + ε)
    h        = tanh(pooled + preferences · P + b_h)        (+ optional dense tanh layers)
    scores   = h · W_out + b_out                          one logit per catalog item

It is a Mult-DAE-style autoencoder whose input layer is an embedding bag (so it runs as
GATHER + SUM instead of a multi-hot matmul) with recency weights. With an empty history
and no preferences, h = tanh(b_h) and the scores reduce to a learned popularity prior;
with only preferences it ranks by topic affinity.

Training samples, drawn afresh every epoch for every user (probabilities in the config):
  - *masked*: keep a random share of the user's items as history, predict the rest;
  - *next*: cut the sequence at a random point, predict what comes next (the next item
    weighted `next_weight`, the following `future_window` items share the rest);
  - *cold*: an empty history, the user's whole sequence as target, so the cold head
    learns a popularity prior and what onboarding picks say about items.
  With `p_preferences` (warm) / `p_preferences_cold` the user's onboarding picks
  (derived from their training ratings, topics.py) are given, else zeros.
Loss: softmax cross-entropy over the catalog against the normalised target, with the
history items masked out of the softmax (they are never recommended back).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf


@dataclass
class SequenceConfig:
    history_len: int = 200
    embed_dim: int = 64
    init: str = "ease"            # "ease": closed-form item factors; "random": learn them by SGD
    ease_lambda: float = 400.0
    train_item_factors: bool = False
    learn_warm_bias: bool = False  # EASE has no item bias; a learned one drifts to popularity
    learn_recency: bool = True
    epochs: int = 60
    batch_size: int = 128
    learning_rate: float = 1e-2
    item_learning_rate: float = 1e-3
    p_masked: float = 0.6
    keep_min: float = 0.3
    keep_max: float = 0.9
    next_weight: float = 0.5
    future_window: int = 20
    p_preferences: float = 0.5
    p_preferences_cold: float = 0.8
    top_k: int = 100
    seed: int = 42


ITEM_FACTORS = ("embedding", "out_kernel")


def ease_factors(seqs: list[np.ndarray], num_items: int, lam: float, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """Rank-`rank` factors of the EASE item-item model (Steck 2019) on the binary
    user x item matrix of the training sequences: B = I - P / diag(P) with
    P = (X^T X + lam I)^-1 and diag(B) = 0, then B ~ U S V^T (truncated SVD) split as
    E = U sqrt(S), W = sqrt(S) V^T. The catalog must be small enough for a dense
    num_items^2 inverse (about 20k items)."""
    X = np.zeros((len(seqs), num_items), np.float64)
    for u, s in enumerate(seqs):
        X[u, s] = 1.0
    G = X.T @ X
    G[np.diag_indices(num_items)] += lam
    P = np.linalg.inv(G)
    B = -P / np.diag(P)[None, :]
    np.fill_diagonal(B, 0.0)
    U, S, Vt = np.linalg.svd(B)
    r = np.sqrt(S[:rank])
    return (U[:, :rank] * r).astype(np.float32), (r[:, None] * Vt[:rank]).astype(np.float32)


def init_weights(seqs, num_items: int, num_topics: int, cfg: SequenceConfig) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(cfg.seed)
    d = cfg.embed_dim

    def glorot(shape, scale=1.0):
        lim = scale * np.sqrt(6.0 / (shape[0] + shape[1]))
        return rng.uniform(-lim, lim, shape).astype(np.float32)

    if cfg.init == "ease":
        e, wout = ease_factors(seqs, num_items, cfg.ease_lambda, d)
    elif cfg.init == "random":
        e, wout = glorot((num_items, d)), glorot((d, num_items))
    else:
        raise ValueError(f"unknown init {cfg.init!r}")
    # Scale the item-to-item term so that its logits start with a spread of about 3 per
    # user (a usefully peaked softmax) instead of EASE's arbitrary units.
    counts = np.bincount(np.concatenate(seqs), minlength=num_items).astype(np.float64)
    spreads = []
    for s in seqs[:: max(1, len(seqs) // 200)]:
        if len(s):
            z = e[s[:cfg.history_len]].sum(0) / np.sqrt(min(len(s), cfg.history_len)) @ wout
            spreads.append(z.std())
    scale = 3.0 / max(float(np.mean(spreads)), 1e-6) if spreads else 1.0
    return {
        # Row num_items is the padding row: always masked out, kept zero for clarity.
        "embedding": np.concatenate([e, np.zeros((1, d), np.float32)], 0),
        "recency": np.zeros(cfg.history_len, np.float32),
        "history_scale": np.array(scale, np.float32),
        "out_kernel": wout,
        "warm_topic_item": np.zeros((num_topics, num_items), np.float32),
        "warm_bias": np.zeros(num_items, np.float32),
        "cold_topic_item": np.zeros((num_topics, num_items), np.float32),
        "cold_bias": np.log1p(counts).astype(np.float32),
    }


def forward(w, history, preferences, pad: int):
    """Batched forward: history int32[B, N], preferences f32[B, T] -> logits f32[B, I]."""
    mask = tf.cast(tf.not_equal(history, pad), tf.float32)                 # [B, N]
    wts = mask * tf.exp(w["recency"])[None, :]                             # [B, N]
    emb = tf.gather(w["embedding"], history)                               # [B, N, d]
    pooled = tf.reduce_sum(emb * wts[:, :, None], axis=1)                  # [B, d]
    pooled = pooled * tf.math.rsqrt(tf.reduce_sum(wts, axis=1, keepdims=True) + 1e-6)
    # 1.0 when there is any history, else 0.0. An empty history switches to a separate
    # cold-start head (popularity prior + topic -> item weights), so what is learned for
    # cold starts does not dilute the item-to-item signal of users with a history.
    warm = tf.minimum(tf.reduce_sum(mask, axis=1, keepdims=True), 1.0)     # [B, 1]
    warm_logits = (tf.matmul(w["history_scale"] * pooled, w["out_kernel"])
                   + tf.matmul(preferences, w["warm_topic_item"]) + w["warm_bias"])
    cold_logits = tf.matmul(preferences, w["cold_topic_item"]) + w["cold_bias"]
    return warm * warm_logits + (1.0 - warm) * cold_logits


def make_history(items_recent_first: np.ndarray, n: int, pad: int) -> np.ndarray:
    """int32[n]: the first n of the given items (most recent first), padded with `pad`."""
    out = np.full(n, pad, np.int32)
    m = min(n, len(items_recent_first))
    out[:m] = items_recent_first[:m]
    return out


def sample_epoch(seqs, picks, num_items, num_topics, cfg: SequenceConfig, rng: np.random.Generator):
    """Two training samples per user with a non-empty sequence (see module doc): a warm
    one (masked or next-item) and a cold one (empty history, all items as target)."""
    pad = num_items
    users = [u for u, s in enumerate(seqs) if len(s) > 0]
    B = 2 * len(users)
    hist = np.full((B, cfg.history_len), pad, np.int32)
    prefs = np.zeros((B, num_topics), np.float32)
    target = np.zeros((B, num_items), np.float32)
    for b, u in enumerate(users):
        s = seqs[u]
        L = len(s)
        if rng.random() < cfg.p_masked or L < 2:
            keep = rng.random(L) < rng.uniform(cfg.keep_min, cfg.keep_max)
            if not keep.any():
                keep[rng.integers(L)] = True
            if keep.all() and L > 1:
                keep[rng.integers(L)] = False  # always leave something to predict
            hist[b] = make_history(s[keep][::-1], cfg.history_len, pad)
            tgt = np.setdiff1d(s, hist[b][hist[b] != pad])
            if len(tgt) == 0:           # a single-item user: nothing left to predict
                tgt = s
                hist[b] = pad
            target[b, tgt] = 1.0 / len(tgt)
        else:
            t = int(rng.integers(1, L))
            hist[b] = make_history(s[:t][::-1], cfg.history_len, pad)
            fut = s[t + 1: t + 1 + cfg.future_window]
            target[b, s[t]] = cfg.next_weight if len(fut) else 1.0
            if len(fut):
                target[b, fut] += (1.0 - cfg.next_weight) / len(fut)
            target[b, hist[b][hist[b] != pad]] = 0.0
            target[b] /= target[b].sum()
        c = len(users) + b
        target[c, s] = 1.0 / L
        if picks is not None:
            if rng.random() < cfg.p_preferences:
                prefs[b, picks[u]] = 1.0
            if rng.random() < cfg.p_preferences_cold:
                prefs[c, picks[u]] = 1.0
    return hist, prefs, target


def train(seqs: list[np.ndarray], picks: list[list[int]] | None, num_items: int, num_topics: int,
          cfg: SequenceConfig, log=print) -> dict[str, np.ndarray]:
    """Train on per-user chronological item sequences; returns numpy weights."""
    tf.random.set_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    t0 = time.time()
    w = {k: tf.Variable(v, name=k) for k, v in init_weights(seqs, num_items, num_topics, cfg).items()}
    if log:
        log(f"  sequence init ({cfg.init}) {time.time() - t0:.1f}s")
    frozen = set(ITEM_FACTORS) | (set() if cfg.learn_warm_bias else {"warm_bias"}) \
        | (set() if cfg.learn_recency else {"recency"})
    head = [v for k, v in w.items() if k not in frozen]
    items = [w[k] for k in ITEM_FACTORS] if cfg.train_item_factors else []
    opt = keras.optimizers.Adam(cfg.learning_rate)
    opt_items = keras.optimizers.Adam(cfg.item_learning_rate) if items else None
    pad = num_items

    @tf.function(reduce_retracing=True)
    def step(h, p, y):
        with tf.GradientTape() as tape:
            logits = forward(w, h, p, pad)
            seen = tf.reduce_max(tf.one_hot(h, num_items), axis=1)        # pad -> all-zero row
            logits = logits - 1e9 * seen
            loss = -tf.reduce_mean(tf.reduce_sum(y * tf.nn.log_softmax(logits), axis=1))
        grads = tape.gradient(loss, head + items)
        opt.apply_gradients(zip(grads[:len(head)], head))
        if opt_items is not None:
            opt_items.apply_gradients(zip(grads[len(head):], items))
        return loss

    for epoch in range(cfg.epochs):
        hist, prefs, target = sample_epoch(seqs, picks, num_items, num_topics, cfg, rng)
        perm = rng.permutation(len(hist))
        losses = []
        for i in range(0, len(perm), cfg.batch_size):
            j = perm[i:i + cfg.batch_size]
            losses.append(float(step(hist[j], prefs[j], target[j])))
        if log and (epoch % 20 == 0 or epoch == cfg.epochs - 1):
            log(f"  sequence epoch {epoch:4d} loss {np.mean(losses):.4f} ({time.time() - t0:.0f}s)")
    return {k: v.numpy() for k, v in w.items()}


def predict(weights: dict[str, np.ndarray], history: np.ndarray, preferences: np.ndarray,
            batch: int = 512) -> np.ndarray:
    """Batched scores f32[B, I] with the trained weights (Python-side evaluation)."""
    num_items = weights["cold_bias"].shape[0]
    w = {k: tf.constant(v) for k, v in weights.items()}
    out = []
    for i in range(0, len(history), batch):
        out.append(forward(w, tf.constant(history[i:i + batch]), tf.constant(preferences[i:i + batch]),
                           num_items).numpy())
    return np.concatenate(out, 0)
