"""Candidate ranking model: dense user features + a dynamic batch of candidate items -> score.

The user features are what an app can compute on the device from its own history and
the bundle's catalog, so the model needs no server-side user state:

    topic_share:<t>  share of the history's items that carry topic t
    pref:<t>         onboarding affinity for topic t (1.0 = picked)
    log_history      ln(1 + number of history items)

The runtime feeds (raw - mean) / std with the constants from the manifest.

    u      = relu(x · U0 + c0)                     user tower          [1, H]
    e      = E[candidates]                          item embeddings     [B, d]
    h      = relu(e · We + u · Wu + c1)             joint layer         [B, H]
    logit  = h · w2 + Σ (u · Wd) ⊙ e + b[c] + c2    MLP + dot + bias    [B]
    score  = logistic(logit)

Trained with binary cross-entropy on the user's training items against uniformly
sampled negatives (`negatives` per positive).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf


@dataclass
class RankingConfig:
    embed_dim: int = 32
    hidden_dim: int = 64
    negatives: int = 4
    epochs: int = 8
    batch_size: int = 1024
    learning_rate: float = 2e-3
    l2: float = 1e-6
    seed: int = 42


def feature_names(topics: list[str]) -> list[str]:
    return [f"topic_share:{t}" for t in topics] + [f"pref:{t}" for t in topics] + ["log_history"]


def raw_features(history_items: np.ndarray, picks: list[int], item_topics: np.ndarray) -> np.ndarray:
    """float32[F] un-normalised user features (see module doc)."""
    T = item_topics.shape[1]
    share = item_topics[history_items].mean(0) if len(history_items) else np.zeros(T, np.float32)
    pref = np.zeros(T, np.float32)
    pref[list(picks)] = 1.0
    return np.concatenate([share, pref, [np.log1p(len(history_items))]]).astype(np.float32)


def normalization(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std over training users; std floored at 1e-3 so that a
    constant feature maps to 0 instead of dividing by zero."""
    return X.mean(0).astype(np.float32), np.maximum(X.std(0), 1e-3).astype(np.float32)


def init_weights(num_items: int, num_features: int, cfg: RankingConfig) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(cfg.seed)

    def glorot(shape):
        lim = np.sqrt(6.0 / (shape[0] + shape[1]))
        return rng.uniform(-lim, lim, shape).astype(np.float32)

    H, d = cfg.hidden_dim, cfg.embed_dim
    return {
        "user_kernel": glorot((num_features, H)), "user_bias": np.zeros(H, np.float32),
        "item_embedding": (rng.normal(0, 0.05, (num_items, d))).astype(np.float32),
        "joint_item_kernel": glorot((d, H)), "joint_user_kernel": glorot((H, H)),
        "joint_bias": np.zeros(H, np.float32),
        "out_kernel": glorot((H, 1)), "dot_kernel": glorot((H, d)),
        "item_bias": np.zeros(num_items, np.float32), "out_bias": np.zeros(1, np.float32),
    }


def forward(w, user_features, candidates):
    """user_features f32[B or 1, F], candidates i32[B] -> logits f32[B]. With one row of
    user features it broadcasts over the candidate batch (the exported form)."""
    u = tf.nn.relu(tf.matmul(user_features, w["user_kernel"]) + w["user_bias"])
    e = tf.gather(w["item_embedding"], candidates)
    h = tf.nn.relu(tf.matmul(e, w["joint_item_kernel"]) + tf.matmul(u, w["joint_user_kernel"]) + w["joint_bias"])
    q = tf.matmul(u, w["dot_kernel"])
    logit = (tf.reshape(tf.matmul(h, w["out_kernel"]), [-1]) + tf.reduce_sum(q * e, axis=1)
             + tf.gather(w["item_bias"], candidates) + w["out_bias"])
    return logit


def train(features: np.ndarray, seqs: list[np.ndarray], num_items: int, cfg: RankingConfig, log=print):
    """features: normalised f32[U, F]; seqs: per-user training items. Returns numpy weights."""
    tf.random.set_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    w = {k: tf.Variable(v, name=k) for k, v in init_weights(num_items, features.shape[1], cfg).items()}
    variables = list(w.values())
    opt = keras.optimizers.Adam(cfg.learning_rate)
    feats = tf.constant(features)
    pos_u = np.concatenate([np.full(len(s), u, np.int32) for u, s in enumerate(seqs)])
    pos_i = np.concatenate(seqs).astype(np.int32)

    @tf.function(reduce_retracing=True)
    def step(uu, ii, yy):
        with tf.GradientTape() as tape:
            logit = forward(w, tf.gather(feats, uu), ii)
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=yy, logits=logit))
            loss += cfg.l2 * tf.add_n([tf.reduce_sum(tf.square(v)) for v in variables])
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    t0 = time.time()
    for epoch in range(cfg.epochs):
        n = len(pos_u)
        uu = np.concatenate([pos_u] + [pos_u] * cfg.negatives)
        ii = np.concatenate([pos_i] + [rng.integers(0, num_items, n, dtype=np.int32) for _ in range(cfg.negatives)])
        yy = np.concatenate([np.ones(n, np.float32), np.zeros(n * cfg.negatives, np.float32)])
        perm = rng.permutation(len(uu))
        losses = []
        for i in range(0, len(perm), cfg.batch_size):
            j = perm[i:i + cfg.batch_size]
            losses.append(float(step(uu[j], ii[j], yy[j])))
        if log:
            log(f"  ranking epoch {epoch:3d} loss {np.mean(losses):.4f} ({time.time() - t0:.0f}s)")
    return {k: v.numpy() for k, v in w.items()}


def predict_all(weights: dict[str, np.ndarray], features: np.ndarray) -> np.ndarray:
    """Logits f32[U, I] for every user against the whole catalog (evaluation)."""
    w = {k: tf.constant(v) for k, v in weights.items()}
    num_items = weights["item_bias"].shape[0]
    cand = tf.range(num_items, dtype=tf.int32)
    return np.stack([forward(w, tf.constant(features[u:u + 1]), cand).numpy() for u in range(len(features))])
