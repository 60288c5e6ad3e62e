"""The jobs behind the CLI: data, train, export, evaluate, build-reference.

Tracks (each a training set + a test set, same configs):
  ms    Microsoft Recommenders protocol: stratified 75/25 per user, all users. The
        shipped reference models are the ones trained on this track's train part, so
        the headline numbers in their model cards can be reproduced from the bundle.
  loo   leave-last-out next item.
  cold  users held out of training entirely; they only give onboarding picks.
All evaluation runs the exported .tflite through LiteRT, i.e. the artifact that ships.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import os
import platform
import shutil
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__, data, export, metrics, ranking, sequence, splits, topics

TRAINING_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = TRAINING_DIR.parent

PUBLISHED_MS = [  # ANCHORS.md §6: recommenders-team/recommenders benchmark, MovieLens-100k
    {"model": "BiVAE (published)", "map": 0.146, "ndcg": 0.475, "precision": 0.412, "recall": 0.219},
    {"model": "BPR (published)", "map": 0.132, "ndcg": 0.442, "precision": 0.388, "recall": 0.213},
    {"model": "NCF (published)", "map": 0.108, "ndcg": 0.396, "precision": 0.347, "recall": 0.181},
    {"model": "SAR (published)", "map": 0.111, "ndcg": 0.382, "precision": 0.331, "recall": 0.176},
]


def log(msg: str) -> None:
    print(msg, flush=True)


def load_config(path: Path) -> dict:
    with open(path, "rb") as f:
        cfg = tomllib.load(f)
    cfg["_path"] = str(path)
    return cfg


def seq_config(cfg: dict) -> sequence.SequenceConfig:
    return sequence.SequenceConfig(**cfg["sequence"], seed=cfg["seed"])


def rank_config(cfg: dict) -> ranking.RankingConfig:
    return ranking.RankingConfig(**cfg["ranking"], seed=cfg["seed"])


def cache_dir(cfg: dict) -> Path:
    p = Path(cfg.get("cache_dir", ".cache"))
    return p if p.is_absolute() else TRAINING_DIR / p


def load_dataset(cfg: dict) -> data.Dataset:
    if cfg["dataset"] == "movielens-100k":
        return data.load_movielens(cache_dir(cfg))
    d = cfg["dataset"]
    return data.load_csv(Path(d["events"]), Path(d["items"]), d.get("name", "custom"))


# --------------------------------------------------------------------------------------
# Tracks


@dataclasses.dataclass
class Track:
    name: str
    train: pd.DataFrame                 # training events
    users: np.ndarray                   # dense users evaluated
    history: list[np.ndarray]           # per evaluated user: items oldest first (model input)
    exclude: list[np.ndarray]           # per evaluated user: never recommended
    relevant: list[set]                 # per evaluated user: test items
    picks: list[list[int]]              # per evaluated user: onboarding picks
    use_history: bool = True


def user_picks(ds: data.Dataset, events: pd.DataFrame, cfg: dict) -> list[list[int]]:
    it = ds.item_topic_matrix()
    out = [[] for _ in range(ds.num_users)]
    for u, g in events.groupby("user"):
        out[int(u)] = topics.derive_picks(g["item"].to_numpy(), g["value"].to_numpy(), it,
                                          cfg["onboarding"]["picks"], cfg["onboarding"]["prior"])
    return out


def split_table(ds: data.Dataset, cfg: dict) -> pd.DataFrame:
    """Every event with its split in each track: the exact evaluation data."""
    ev = ds.events
    e = cfg["eval"]
    cold = np.zeros(ds.num_users, bool)
    cold[splits.cold_start_users(ds.num_users, e["cold_fraction"], e["cold_seed"])] = True
    t = pd.DataFrame({
        "user_id": ev["user_id"], "item_id": ev["item_id"], "timestamp": ev["timestamp"],
        "ms": np.where(splits.ms_stratified(ev, e["ms_ratio"], e["ms_seed"]), "train", "test"),
        "loo": np.where(splits.leave_last_out(ev), "train", "test"),
        "cold": np.where(cold[ev["user"].to_numpy()], "holdout", "train"),
    })
    # Row order: dense user index, timestamp, item index (for MovieLens: numeric user id,
    # timestamp, numeric movie id), so the file and its sha256 are canonical.
    order = np.lexsort((ev["item"].to_numpy(), ev["timestamp"].to_numpy(), ev["user"].to_numpy()))
    return t.iloc[order].reset_index(drop=True)


def make_track(ds: data.Dataset, cfg: dict, name: str) -> Track:
    ev = ds.events
    e = cfg["eval"]
    if name in ("ms", "loo"):
        mask = splits.ms_stratified(ev, e["ms_ratio"], e["ms_seed"]) if name == "ms" else splits.leave_last_out(ev)
        train, test = ev[mask], ev[~mask]
        seqs = ds.sequences(train)
        picks = user_picks(ds, train, cfg)
        users = np.arange(ds.num_users)
        rel = [set() for _ in users]
        for u, i in zip(test["user"], test["item"]):
            rel[int(u)].add(int(i))
        return Track(name, train, users, seqs, seqs, rel, picks)
    if name == "cold":
        held = splits.cold_start_users(ds.num_users, e["cold_fraction"], e["cold_seed"])
        is_held = np.isin(ev["user"].to_numpy(), held)
        train, test = ev[~is_held], ev[is_held]
        all_seqs = ds.sequences(test)
        picks = user_picks(ds, test, cfg)   # from all of the held-out user's ratings
        return Track(name, train, held, [np.zeros(0, np.int32) for _ in held],
                     [np.zeros(0, np.int32) for _ in held], [set(all_seqs[u].tolist()) for u in held],
                     [picks[u] for u in held], use_history=False)
    raise ValueError(f"unknown track {name!r}")


# --------------------------------------------------------------------------------------
# Training


def train_models(ds: data.Dataset, cfg: dict, track: Track, which=("sequence", "ranking")) -> dict:
    seqs = ds.sequences(track.train)
    picks = user_picks(ds, track.train, cfg)
    out = {"train_events": int(len(track.train)),
           "train_users": int(sum(1 for s in seqs if len(s))), "timings": {}}
    if "sequence" in which:
        t = time.time()
        out["sequence"] = sequence.train(seqs, picks, ds.num_items, ds.num_topics, seq_config(cfg), log=log)
        out["timings"]["sequence_train_s"] = round(time.time() - t, 1)
    if "ranking" in which:
        t = time.time()
        it = ds.item_topic_matrix()
        X = np.stack([ranking.raw_features(s, p, it) for s, p in zip(seqs, picks)])
        active = np.array([len(s) > 0 for s in seqs])
        mean, std = ranking.normalization(X[active])
        out["ranking"] = ranking.train((X - mean) / std, seqs, ds.num_items, rank_config(cfg), log=log)
        out["ranking_norm"] = {"mean": mean, "std": std}
        out["timings"]["ranking_train_s"] = round(time.time() - t, 1)
    return out


def save_weights(trained: dict, path: Path) -> None:
    arrays = {}
    for k in ("sequence", "ranking", "ranking_norm"):
        for name, v in trained.get(k, {}).items():
            arrays[f"{k}/{name}"] = v
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    meta = {k: v for k, v in trained.items() if k not in ("sequence", "ranking", "ranking_norm")}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1))


def load_weights(path: Path) -> dict:
    z = np.load(path)
    out: dict = json.loads(path.with_suffix(".json").read_text())
    for key in z.files:
        k, name = key.split("/", 1)
        out.setdefault(k, {})[name] = z[key]
    return out


# --------------------------------------------------------------------------------------
# Export


def export_models(ds: data.Dataset, cfg: dict, trained: dict, out_dir: Path) -> dict[str, Path]:
    """.tflite files only (op-checked); returns {variant: path}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sc = seq_config(cfg)
    paths = {}
    if "sequence" in trained:
        b = export.sequence_tflite(trained["sequence"], sc.history_len, ds.num_topics, sc.top_k)
        export.check_ops(b, "sequence")
        paths["sequence"] = out_dir / "model.tflite"
        paths["sequence"].write_bytes(b)
    if "ranking" in trained:
        F = trained["ranking_norm"]["mean"].shape[0]
        b = export.ranking_tflite(trained["ranking"], F)
        export.check_ops(b, "ranking f32")
        paths["ranking_f32"] = out_dir / "ranking_f32.tflite"
        paths["ranking_f32"].write_bytes(b)
        rng = np.random.default_rng(cfg["seed"])
        seqs = ds.sequences(trained["_train"])
        it = ds.item_topic_matrix()
        picks = user_picks(ds, trained["_train"], cfg)
        X = np.stack([ranking.raw_features(s, p, it) for s, p in zip(seqs, picks)])
        Xn = (X - trained["ranking_norm"]["mean"]) / trained["ranking_norm"]["std"]
        rep = Xn[rng.choice(len(Xn), size=min(200, len(Xn)), replace=False)]
        b = export.ranking_tflite(trained["ranking"], F, representative=rep, seed=cfg["seed"])
        export.check_ops(b, "ranking int8")
        paths["ranking_int8"] = out_dir / "ranking_int8.tflite"
        paths["ranking_int8"].write_bytes(b)
    return paths


def catalog_doc(ds: data.Dataset) -> dict:
    doc = {
        "format": "attune-catalog", "format_version": 1, "num_items": ds.num_items,
        "ids": ds.items["item_id"].tolist(),
        "titles": ds.items["title"].tolist(),
        "topics": [list(map(int, t)) for t in ds.items["topics"]],
    }
    pub = ds.items["published"]
    if pub is not None and pd.Series(pub).notna().any():
        doc["published"] = [None if (p is None or (isinstance(p, float) and np.isnan(p))) else str(p) for p in pub]
    return doc


def topics_doc(ds: data.Dataset, train: pd.DataFrame, n_rep: int) -> list[dict]:
    counts = np.bincount(train["item"], minlength=ds.num_items)
    it = ds.item_topic_matrix()
    out = []
    for j, (tid, label) in enumerate(zip(ds.topics, ds.topic_labels)):
        members = np.flatnonzero(it[:, j])
        order = members[np.lexsort((members, -counts[members]))][:n_rep]
        out.append({"id": tid, "label": label, "representative_items": [ds.items["item_id"][i] for i in order]})
    return out


def created_time() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    t = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc) if epoch else dt.datetime.now(dt.timezone.utc)
    return t.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def versions() -> dict:
    import ai_edge_litert
    import keras
    import tensorflow as tf
    from importlib.metadata import version
    return {"attune_training": __version__, "python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "ai_edge_litert": version("ai-edge-litert"), "numpy": np.__version__}


def _binding_in(sig: dict, role_of: dict) -> list[dict]:
    out = []
    for i, d in enumerate(sig["inputs"]):
        b = {"index": i, "name": d["name"], "dtype": d["dtype"], "shape": d["shape"]}
        b.update(role_of[d["key"]])
        out.append(b)
    return out


def write_bundle(ds: data.Dataset, cfg: dict, trained: dict, kind: str, out_dir: Path, card: dict,
                 golden: list[tuple[str, dict]]) -> dict:
    """Write one bundle folder: models, catalog.json, manifest.json (+ .sig), golden/."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    parts = ("sequence",) if kind == "sequence" else ("ranking", "ranking_norm")
    paths = export_models(ds, cfg, {k: v for k, v in trained.items() if k in parts or k == "_train"}, out_dir)
    cat = catalog_doc(ds)
    export.validate(cat, "catalog")
    (out_dir / "catalog.json").write_bytes(export.dump_json(cat))
    sc = seq_config(cfg)
    models = []
    for variant, path in paths.items():
        sig = export.io_signature(path)
        entry = {"id": variant, **export.file_entry(path), "ops": export.tflite_ops(path.read_bytes())}
        if variant == "sequence":
            entry.update({"task": "next_item", "precision": "f32"})
            roles_in = {
                "history": {"role": "history", "padding_value": ds.num_items, "order": "most_recent_first"},
                "preferences": {"role": "preferences", "encoding": "topic_affinity"},
            }
            roles_out = {
                "scores": {"role": "scores", "over": "catalog"},
                "topk_ids": {"role": "topk_ids", "k": sc.top_k, "excludes_history": True},
                "topk_scores": {"role": "topk_scores", "k": sc.top_k},
            }
        else:
            norm = trained["ranking_norm"]
            entry.update({"task": "ranking", "precision": "int8" if variant.endswith("int8") else "f32"})
            roles_in = {
                "user_features": {"role": "user_features", "features": [
                    {"name": n, "mean": round(float(m), 7), "std": round(float(s), 7)}
                    for n, m, s in zip(ranking.feature_names(ds.topics), norm["mean"], norm["std"])]},
                "candidates": {"role": "candidates", "dynamic_batch": True},
            }
            roles_out = {"scores": {"role": "scores", "over": "candidates", "activation": "logistic"}}
        entry["inputs"] = _binding_in(sig, roles_in)
        entry["outputs"] = [{"index": i, "name": d["name"], "dtype": d["dtype"], "shape": d["shape"], **roles_out[d["key"]]}
                            for i, d in enumerate(sig["outputs"])]
        models.append(entry)
    b = cfg["bundle"]
    manifest = {
        "format": "attune-bundle",
        "format_version": 1,
        "name": f"{ds.name}-{kind}",
        "version": b["version"],
        "created": created_time(),
        "models": models,
        "default_model": models[0]["id"],
        "catalog": {**export.file_entry(out_dir / "catalog.json"), "num_items": ds.num_items},
        "topics": topics_doc(ds, trained["_train"], cfg["onboarding"]["representative_items"]),
        "onboarding": {"topics": list(ds.topics), "suggested_picks": cfg["onboarding"]["picks"]},
        "defaults": {"k": b["k"], "diversity": b["diversity"], "exploration": b["exploration"]},
        "model_card": card,
    }
    export.validate(manifest)
    mbytes = export.dump_json(manifest)
    (out_dir / "manifest.json").write_bytes(mbytes)
    if b.get("signing_seed_hex"):
        sig_bytes, pub = export.sign(mbytes, b["signing_seed_hex"])
        (out_dir / "manifest.sig").write_bytes(sig_bytes)
        (out_dir / "manifest.pub").write_text(pub + "\n")
    for variant, path in paths.items():
        for name, inputs in golden[kind]:
            sub = out_dir / "golden" / name if kind == "sequence" else out_dir / "golden" / variant / name
            export.write_golden(path, sub, {k: v for k, v in inputs.items() if not k.startswith("_")},
                                note=inputs.get("_note", ""))
    return manifest


# --------------------------------------------------------------------------------------
# Evaluation (through LiteRT)


def tflite_scores(model_path: Path, track: Track, ds: data.Dataset, cfg: dict, kind: str,
                  features: np.ndarray | None = None, with_prefs: bool = False) -> np.ndarray:
    """float64[len(track.users), I] scores of the exported model for each evaluated user."""
    it = export.interpreter(model_path)
    sig = it._get_full_signature_list()["serving_default"]
    sc = seq_config(cfg)
    out = np.zeros((len(track.users), ds.num_items))
    if kind == "sequence":
        it.allocate_tensors()
        ih, ip = sig["inputs"]["history"], sig["inputs"]["preferences"]
        oi = sig["outputs"]["scores"]
        for r, u in enumerate(track.users):
            h = sequence.make_history(track.history[r][::-1], sc.history_len, ds.num_items)
            p = topics.picks_vector(track.picks[r] if (with_prefs or not track.use_history) else [], ds.num_topics)
            it.set_tensor(ih, h)
            it.set_tensor(ip, p)
            it.invoke()
            out[r] = it.get_tensor(oi)
    else:
        iu, ic = sig["inputs"]["user_features"], sig["inputs"]["candidates"]
        it.resize_tensor_input(ic, [ds.num_items])
        it.allocate_tensors()
        oi = sig["outputs"]["scores"]
        cand = np.arange(ds.num_items, dtype=np.int32)
        for r in range(len(track.users)):
            it.set_tensor(iu, features[r].astype(np.float32))
            it.set_tensor(ic, cand)
            it.invoke()
            out[r] = it.get_tensor(oi)
    return out


def ranking_features(ds: data.Dataset, track: Track, trained: dict) -> np.ndarray:
    it = ds.item_topic_matrix()
    X = np.stack([ranking.raw_features(h, p, it) for h, p in zip(track.history, track.picks)])
    return (X - trained["ranking_norm"]["mean"]) / trained["ranking_norm"]["std"]


def score_rankings(scores: np.ndarray, track: Track, depth: int) -> np.ndarray:
    return metrics.top_k(scores, depth, exclude=track.exclude)


def summarize(name: str, R: np.ndarray, track: Track, k: int, counts: np.ndarray, num_items: int,
              curve_k: list[int]) -> dict:
    m = metrics.evaluate(R, track.relevant, k)
    row = {"model": name, **{key: round(float(v), 6) for key, v in m.items() if key != "users"}, "users": m["users"]}
    row["coverage"] = round(metrics.coverage(R, num_items, k), 6)
    row.update({key: round(v, 6) for key, v in metrics.popularity_bias(R, counts, k).items()})
    row["recall_curve"] = {str(kk): round(v, 6) for kk, v in zip(curve_k, metrics.recall_curve(R, track.relevant, curve_k))}
    return row


def evaluate_track(ds: data.Dataset, cfg: dict, track: Track, trained: dict, model_dir: Path,
                   rankings_out: Path | None = None) -> list[dict]:
    """Metrics rows for the exported models of one track plus the popularity baseline."""
    k = cfg["eval"]["k"]
    curve = cfg["eval"]["recall_curve_k"]
    depth = max(curve + [k])
    counts = np.bincount(track.train["item"], minlength=ds.num_items).astype(np.float64)
    rows, lists = [], {}
    pop = np.tile(counts, (len(track.users), 1))
    lists["popularity"] = score_rankings(pop, track, depth)
    if "sequence" in trained:
        s = tflite_scores(model_dir / "model.tflite", track, ds, cfg, "sequence")
        lists["sequence"] = score_rankings(s, track, depth)
        if track.use_history:
            s = tflite_scores(model_dir / "model.tflite", track, ds, cfg, "sequence", with_prefs=True)
            lists["sequence+picks"] = score_rankings(s, track, depth)
    if "ranking" in trained and track.use_history:
        F = ranking_features(ds, track, trained)
        for v in ("ranking_f32", "ranking_int8"):
            s = tflite_scores(model_dir / f"{v}.tflite", track, ds, cfg, "ranking", features=F)
            lists[v] = score_rankings(s, track, depth)
    for name, R in lists.items():
        rows.append(summarize(name, R, track, k, counts, ds.num_items, curve))
    if rankings_out is not None:
        rankings_out.mkdir(parents=True, exist_ok=True)
        ids = ds.items["item_id"].to_numpy()
        uids = ds.events.drop_duplicates("user").set_index("user")["user_id"]
        for name, R in lists.items():
            lines = ["user_id,top10"] + [f"{uids[int(u)]},{' '.join(ids[R[r, :k]])}" for r, u in enumerate(track.users)]
            (rankings_out / f"{track.name}__{name}.csv").write_text("\n".join(lines) + "\n")
    return rows


# --------------------------------------------------------------------------------------
# Golden inputs


def golden_inputs(ds: data.Dataset, cfg: dict, track: Track, trained: dict) -> dict[str, list[tuple[str, dict]]]:
    sc = seq_config(cfg)
    pad = ds.num_items
    rng = np.random.default_rng(cfg["seed"])
    u_short = int(np.argmin([abs(len(h) - 20) for h in track.history]))
    u_long = int(np.argmax([len(h) for h in track.history]))
    T = ds.num_topics
    cases = []
    empty = np.full(sc.history_len, pad, np.int32)
    cases.append(("case_0", {"history": empty, "preferences": np.zeros(T, np.float32),
                             "_note": "empty history, no preferences: the popularity prior"}))
    cases.append(("case_1", {"history": empty, "preferences": topics.picks_vector(track.picks[u_short], T),
                             "_note": "cold start: onboarding picks only"}))
    cases.append(("case_2", {"history": sequence.make_history(track.history[u_short][::-1], sc.history_len, pad),
                             "preferences": np.zeros(T, np.float32), "_note": "a ~20-item history"}))
    cases.append(("case_3", {"history": sequence.make_history(track.history[u_long][::-1], sc.history_len, pad),
                             "preferences": topics.picks_vector(track.picks[u_long], T),
                             "_note": "the longest history (truncated to history_len) plus picks"}))
    out = {"sequence": cases, "ranking": []}
    cases = out["ranking"]
    if "ranking" in trained:
        F = ranking_features(ds, track, trained)
        cases.append(("case_0", {"user_features": F[u_short], "candidates": np.array([0], np.int32),
                                 "_note": "one candidate"}))
        cases.append(("case_1", {"user_features": F[u_long], "candidates": rng.choice(ds.num_items, 37, replace=False).astype(np.int32),
                                 "_note": "37 random candidates"}))
        cases.append(("case_2", {"user_features": np.zeros(F.shape[1], np.float32), "candidates": np.arange(ds.num_items, dtype=np.int32),
                                 "_note": "average user, the whole catalog"}))
    return out


# --------------------------------------------------------------------------------------
# build-reference


def model_card(kind: str, ds: data.Dataset, cfg: dict, trained: dict, results: dict, timings: dict) -> dict:
    sc, rc = seq_config(cfg), rank_config(cfg)
    names = {"sequence": ["sequence", "sequence+picks"], "ranking": ["ranking_f32", "ranking_int8"]}[kind]
    keep = ("model", "map", "ndcg", "precision", "recall", "hit_rate", "map_at_k", "coverage",
            "mean_popularity_share", "users")

    def rows(track, extra=()):
        out = [{kk: r[kk] for kk in keep if kk in r} for r in results.get(track, [])
               if r["model"] in names or r["model"] == "popularity" or r["model"] in extra]
        return out

    ms = rows("ms", ("sequence",))
    ms += [dict(r) for r in PUBLISHED_MS[:2]]
    evaluations = [
        {"protocol": "ms-recommenders", "k": cfg["eval"]["k"],
         "description": "random 75/25 split stratified by user (python_stratified_split, seed 42), "
                        "all ratings relevant, train items excluded, metrics averaged over users; "
                        "published rows copied from the recommenders benchmark table",
         "rows": ms},
    ]
    if kind == "sequence":
        evaluations.append({"protocol": "leave-last-out", "k": cfg["eval"]["k"],
                            "description": "each user's last event (timestamp, then item index) is the test item; "
                                           "ranked over the full catalog minus the user's other items; "
                                           "evaluated with a model of the same config trained without the test events",
                            "rows": rows("loo")})
        evaluations.append({"protocol": "cold-start-onboarding", "k": cfg["eval"]["k"],
                            "description": f"{len(results['_cold_users'])} users held out of training entirely; input = "
                                           f"{cfg['onboarding']['picks']} topics they rated highest, empty history; "
                                           "relevant = every item they rated; evaluated with a model of the same config "
                                           "trained on the other users",
                            "rows": rows("cold")})
    return {
        "summary": {
            "sequence": "Next-item model: last-N history (recency-weighted embedding bag over rank-64 EASE item "
                        "factors) plus onboarding topic preferences -> a score for every catalog item and the top-k "
                        "unseen items. Works with an empty history and with no preferences.",
            "ranking": "Candidate ranking model: on-device user features (topic shares of the history, onboarding "
                       "picks, history length) plus any batch of candidate items -> a score per candidate "
                       "(logistic). Meant to re-rank candidates, e.g. the sequence model's top-k.",
        }[kind],
        "intended_use": "Reference model for Attune's runtimes and demos: movie recommendations on MovieLens-100k's "
                        "catalog. Research and evaluation use only (see data license).",
        "limitations": "Trained on 943 users' ratings from 1997-98; popular-item bias of the data carries over; "
                       "genres are the only topics; no content features beyond genres and titles.",
        "data": {
            "name": "MovieLens-100k", "source": ds.source.get("dataset"),
            "citation": ds.source.get("citation"),
            "license": "GroupLens terms: research use, no commercial use, no redistribution without permission, "
                       "cite Harper & Konstan 2015. This bundle ships trained weights and the catalog's titles, "
                       "genres and release dates only; no ratings.",
            "files_sha256": ds.source.get("files_sha256"),
        },
        "training": {
            "track": "ms (train part of the 75/25 stratified split)",
            "events": trained["train_events"], "users": trained["train_users"], "items": ds.num_items,
            "seed": cfg["seed"],
            "config": dataclasses.asdict(sc if kind == "sequence" else rc),
            "onboarding_picks": {"n": cfg["onboarding"]["picks"], "prior": cfg["onboarding"]["prior"]},
            "train_seconds": timings.get(f"{kind}_train_s"),
            "versions": versions(),
            "command": "python -m attune_training build-reference",
        },
        "evaluations": evaluations,
    }


def build_reference(cfg: dict, out: Path, report: bool = True) -> dict:
    t_all = time.time()
    ds = load_dataset(cfg)
    log(f"dataset {ds.name}: {len(ds.events)} events, {ds.num_users} users, {ds.num_items} items")
    eval_dir = out / "eval"
    eval_dir.mkdir(parents=True, exist_ok=True)
    table = split_table(ds, cfg)
    csv_bytes = table.to_csv(index=False).encode()
    (cache_dir(cfg) / ds.name).mkdir(parents=True, exist_ok=True)
    (cache_dir(cfg) / ds.name / "splits.csv").write_bytes(csv_bytes)
    split_sha = export.sha256_bytes(csv_bytes)
    (eval_dir / "splits.sha256").write_text(f"{split_sha}  splits.csv\n")
    results: dict = {}
    timings: dict = {}
    shipped = None
    work = Path(tempfile.mkdtemp(prefix="attune-"))
    for name in ("ms", "loo", "cold"):
        log(f"track {name}")
        track = make_track(ds, cfg, name)
        which = ("sequence", "ranking") if name == "ms" else ("sequence",)
        trained = train_models(ds, cfg, track, which)
        trained["_train"] = track.train
        if name == "ms":
            timings.update(trained["timings"])
            model_dir = work / "ms"
            export_models(ds, cfg, trained, model_dir)
            shipped = (track, trained)
        else:
            model_dir = work / name
            export_models(ds, cfg, trained, model_dir)
        t = time.time()
        results[name] = evaluate_track(ds, cfg, track, trained, model_dir, eval_dir / "rankings")
        timings[f"{name}_eval_s"] = round(time.time() - t, 1)
        if name == "cold":
            results["_cold_users"] = track.users.tolist()
        for r in results[name]:
            log(f"  {name:5s} {r['model']:16s} ndcg {r['ndcg']:.4f} recall {r['recall']:.4f} "
                f"map {r['map']:.4f} p {r['precision']:.4f} hr {r['hit_rate']:.4f}")
    track, trained = shipped
    golden = golden_inputs(ds, cfg, track, trained)
    bundles = {}
    for kind in ("sequence", "ranking"):
        card = model_card(kind, ds, cfg, trained, results, timings)
        bundles[kind] = write_bundle(ds, cfg, trained, kind, out / kind, card, golden)
        for case in sorted((out / kind / "golden").rglob("manifest.json")):
            export.check_golden(case.parent)
    shutil.rmtree(work, ignore_errors=True)
    timings["total_s"] = round(time.time() - t_all, 1)
    summary = {"split_sha256": split_sha, "results": {k: v for k, v in results.items() if not k.startswith("_")},
               "published": PUBLISHED_MS, "timings": timings, "bundle_bytes": {
                   k: bundle_size(out / k) for k in bundles}, "versions": versions()}
    (eval_dir / "metrics.json").write_text(json.dumps(summary, indent=1) + "\n")
    if report:
        from . import report as rep
        rep.write_report(out / "report", summary, bundles)
    log(f"done in {timings['total_s']}s")
    return summary


def bundle_size(folder: Path) -> int:
    """Bytes an app downloads: the manifest, its signature and every file it lists."""
    man = json.loads((folder / "manifest.json").read_text())
    files = ["manifest.json", "manifest.sig"] + [m["file"] for m in man["models"]] + [man["catalog"]["file"]]
    return sum((folder / f).stat().st_size for f in files if (folder / f).exists())
