"""Exported bundles: allowed ops only, schema-valid manifests, signatures, golden cases."""

import json

import numpy as np
import pytest

from attune_training import export


def test_models_use_only_allowed_ops(built):
    for kind, man in built["manifests"].items():
        for m in man["models"]:
            ops = export.tflite_ops((built["dir"] / kind / m["file"]).read_bytes())
            assert set(ops) <= export.ALLOWED_OPS, (m["id"], ops)
            assert ops == m["ops"]
    assert {m["precision"] for m in built["manifests"]["ranking"]["models"]} == {"f32", "int8"}


def test_check_ops_rejects_unknown_ops():
    import tensorflow as tf

    class M(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([4], tf.float32)])
        def serve(self, x):
            return {"y": tf.math.cos(x)}

    with pytest.raises(export.ExportError, match="COS"):
        export.check_ops(export._convert(M()), "cos model")


def test_manifests_validate_and_hashes_match(built):
    for kind, man in built["manifests"].items():
        folder = built["dir"] / kind
        on_disk = json.loads((folder / "manifest.json").read_text())
        export.validate(on_disk)
        for entry in [*on_disk["models"], on_disk["catalog"]]:
            b = (folder / entry["file"]).read_bytes()
            assert export.sha256_bytes(b) == entry["sha256"] and len(b) == entry["bytes"]
        cat = json.loads((folder / "catalog.json").read_text())
        export.validate(cat, "catalog")
        assert len(cat["ids"]) == cat["num_items"] == on_disk["catalog"]["num_items"]


def test_schema_rejects_bad_manifests(built):
    man = json.loads((built["dir"] / "sequence" / "manifest.json").read_text())
    bad = json.loads(json.dumps(man))
    bad["models"][0]["inputs"][0]["role"] = "mystery"
    with pytest.raises(export.ExportError):
        export.validate(bad)
    bad = json.loads(json.dumps(man))
    bad["catalog"]["sha256"] = "xyz"
    with pytest.raises(export.ExportError):
        export.validate(bad)
    bad = json.loads(json.dumps(man))
    bad["surprise"] = 1
    with pytest.raises(export.ExportError):
        export.validate(bad)


def test_signature_verifies_and_detects_tampering(built):
    folder = built["dir"] / "sequence"
    mbytes = (folder / "manifest.json").read_bytes()
    sig = (folder / "manifest.sig").read_bytes()
    pub = (folder / "manifest.pub").read_text().strip()
    assert len(sig) == 64
    assert pub == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"  # RFC 8032 TEST 1
    export.verify(mbytes, sig, pub)
    with pytest.raises(Exception):
        export.verify(mbytes.replace(b'"version"', b'"versi0n"'), sig, pub)


def test_golden_cases_reproduce_under_litert(built):
    cases = sorted(built["dir"].rglob("golden/**/manifest.json"))
    assert len(cases) == 4 + 2 * 3
    for c in cases:
        export.check_golden(c.parent)


def test_sequence_model_semantics(built):
    """Empty history works, topk excludes the history, scores cover the catalog."""
    folder = built["dir"] / "sequence"
    man = json.loads((folder / "manifest.json").read_text())
    m = man["models"][0]
    roles = {t["role"]: t for t in m["inputs"]}
    n, pad, T = roles["history"]["shape"][0], roles["history"]["padding_value"], roles["preferences"]["shape"][0]
    hist = np.full(n, pad, np.int32)
    hist[:3] = [0, 1, 2]
    _, outs = export.run(folder / m["file"], {"history": hist, "preferences": np.zeros(T, np.float32)})
    by_role = {o["role"]: outs[o["index"]] for o in m["outputs"]}
    assert by_role["scores"].shape == (man["catalog"]["num_items"],)
    assert not set(by_role["topk_ids"].tolist()) & {0, 1, 2}
    assert np.all(np.diff(by_role["topk_scores"]) <= 0)
    _, outs = export.run(folder / m["file"], {"history": np.full(n, pad, np.int32), "preferences": np.zeros(T, np.float32)})
    assert np.isfinite(outs[0]).all()


def test_ranking_dynamic_batch(built):
    folder = built["dir"] / "ranking"
    man = json.loads((folder / "manifest.json").read_text())
    for m in man["models"]:
        F = next(t for t in m["inputs"] if t["role"] == "user_features")["shape"][0]
        for b in (1, 5, 40):
            _, outs = export.run(folder / m["file"], {"user_features": np.zeros(F, np.float32),
                                                      "candidates": np.arange(b, dtype=np.int32) % 40})
            assert outs[0].shape == (b,) and ((outs[0] >= 0) & (outs[0] <= 1)).all()


def test_eval_through_tflite_matches_python_forward(built, ds):
    """The exported sequence model ranks exactly like the Python forward pass."""
    from attune_training import pipeline, sequence

    cfg, track, trained = built["cfg"], built["track"], built["trained"]
    s_tfl = pipeline.tflite_scores(built["dir"] / "sequence" / "model.tflite", track, ds, cfg, "sequence")
    H = np.stack([sequence.make_history(h[::-1], cfg["sequence"]["history_len"], ds.num_items) for h in track.history])
    s_py = sequence.predict(trained["sequence"], H, np.zeros((len(H), ds.num_topics), np.float32))
    assert np.abs(s_tfl - s_py).max() < 1e-3
