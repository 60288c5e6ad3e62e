"""Command line: one command per job.

    python -m attune_training data             fetch MovieLens (or read CSVs), write splits.csv to the cache
    python -m attune_training train            train both models on a track, save weights (.npz)
    python -m attune_training export           weights -> bundle folder (.tflite, manifest, golden cases)
    python -m attune_training evaluate         weights -> metrics of the exported models on their track
    python -m attune_training build-reference  everything, from scratch, into models/movielens-100k/
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None) -> int:
    from . import pipeline

    default_cfg = pipeline.TRAINING_DIR / "configs" / "movielens.toml"
    p = argparse.ArgumentParser(prog="python -m attune_training", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, default=default_cfg, help="TOML config (default: %(default)s)")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("data", help="fetch the data set and write the evaluation splits to the cache")
    t = sub.add_parser("train", help="train the sequence and ranking models on one track")
    t.add_argument("--track", choices=["ms", "loo", "cold"], default="ms")
    t.add_argument("--out", type=Path, default=pipeline.TRAINING_DIR / "runs" / "weights.npz")
    e = sub.add_parser("export", help="write a bundle from trained weights")
    e.add_argument("--weights", type=Path, default=pipeline.TRAINING_DIR / "runs" / "weights.npz")
    e.add_argument("--kind", choices=["sequence", "ranking"], default="sequence")
    e.add_argument("--out", type=Path, default=pipeline.TRAINING_DIR / "runs" / "bundle")
    v = sub.add_parser("evaluate", help="evaluate exported models of trained weights on their track")
    v.add_argument("--weights", type=Path, default=pipeline.TRAINING_DIR / "runs" / "weights.npz")
    b = sub.add_parser("build-reference", help="rebuild the reference bundles from scratch")
    b.add_argument("--out", type=Path, default=pipeline.REPO_DIR / "models" / "movielens-100k")
    b.add_argument("--no-report", action="store_true")
    a = p.parse_args(argv)

    cfg = pipeline.load_config(a.config)
    if a.cmd == "build-reference":
        pipeline.build_reference(cfg, a.out, report=not a.no_report)
        return 0
    ds = pipeline.load_dataset(cfg)
    if a.cmd == "data":
        table = pipeline.split_table(ds, cfg)
        out = pipeline.cache_dir(cfg) / ds.name / "splits.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        b_ = table.to_csv(index=False).encode()
        out.write_bytes(b_)
        from .export import sha256_bytes
        print(f"{len(ds.events)} events, {ds.num_users} users, {ds.num_items} items, {ds.num_topics} topics")
        print(f"wrote {out} (sha256 {sha256_bytes(b_)})")
        return 0
    if a.cmd == "train":
        track = pipeline.make_track(ds, cfg, a.track)
        trained = pipeline.train_models(ds, cfg, track)
        trained["track"] = a.track
        pipeline.save_weights(trained, a.out)
        print(f"wrote {a.out}")
        return 0
    trained = pipeline.load_weights(a.weights)
    track = pipeline.make_track(ds, cfg, trained.get("track", "ms"))
    trained["_train"] = track.train
    if a.cmd == "export":
        golden = pipeline.golden_inputs(ds, cfg, track, trained)
        card = {"summary": f"{a.kind} model exported by hand from {a.weights.name}; run build-reference for a full card"}
        pipeline.write_bundle(ds, cfg, trained, a.kind, a.out, card, golden)
        print(f"wrote {a.out}")
        return 0
    if a.cmd == "evaluate":
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            pipeline.export_models(ds, cfg, trained, Path(d))
            rows = pipeline.evaluate_track(ds, cfg, track, trained, Path(d))
        for r in rows:
            r.pop("recall_curve", None)
        print(json.dumps(rows, indent=1))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
