"""Train the GPU health anomaly model and export it to ONNX.

    ~/.cache/telemetry-stack/ml-venv/bin/python ml/train.py [--seed 20250601]

Writes (deterministically for a given seed and the pinned versions in
ml/requirements.txt):
  ml/model/gpu-health.onnx             IsolationForest + precursor head, input "input" float32 [n, F],
                                       output "score" float32 [n, 1] = max(anomaly score in (0, 1), head)
  ml/model/meta.json                   feature order, thresholds, feature stats, seeds, versions
  ml/data/eval-episodes.jsonl.gz       held-out labelled traces (never seen in training or tuning)
  test/fixtures/health/feature-parity.json  points + Python features, checked by the TS tests

Splits (disjoint seeds): train = healthy only (seed), validation = healthy (seed+1) +
faults (seed+2) for threshold tuning, evaluation = healthy (seed+3) + faults (seed+4),
precursor head = faults (seed+5) + healthy (seed+6) labelled from the driver's verdicts
(ml/driver_labels.py).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import skl2onnx
import sklearn
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier, IsolationForest

sys.path.insert(0, str(Path(__file__).parent))
import driver_labels as DL  # noqa: E402
import features as F  # noqa: E402
import synth  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ML = ROOT / "ml"

# Hard-fault features (mirrors activities/health/hard-faults.ts): those points are critical whatever
# the model says, so threshold tuning only has to handle the rest.
IDX = {n: i for i, n in enumerate(F.FEATURE_NAMES)}
SPEC_VERSION = F.SPEC["version"]
# 90, not 100: forest + precursor head then cost what the 100-tree forest alone did (ml/README.md).
N_ESTIMATORS = 90
MAX_SAMPLES = 512
# Support envelope: trees cannot extrapolate (a value far past the healthy maximum isolates no faster
# than the maximum itself), so inference also flags any feature outside [lo, hi] of the healthy
# training data widened by this share of its range (or ENVELOPE_MIN_MARGIN, whichever is larger).
ENVELOPE_MARGIN = 0.1
ENVELOPE_MIN_MARGIN = 0.05
CRITICAL_MARGIN = 0.05
# Precursor head (gradient-boosted trees of depth 3) trained on the driver's verdicts; small on purpose:
# 20 x 3 comparisons per point beside the forest's 90 x ~9. 40 trees cost 19 % more per point.
HEAD_TREES = 20
HEAD_DEPTH = 3
HEAD_LEARNING_RATE = 0.3
# The head sees only the thermal/cooling features: the process a slowdown ends. With all 23 it leaned on
# util_clock_gap and memory use, which differ between the simulator and real boards, and (40 trees, 0.1 %
# budget) flagged 7.6 % of the real-capture healthy points (92 false alarms per GPU-day) for no gain on
# validation.
HEAD_FEATURES = ["temp_c", "temp_vs_baseline_c", "temp_missing", "fan_ratio", "fan_temp_gap", "fan_missing",
                 "power_ratio", "util_gpu"]
HEAD_IDX = [IDX[n] for n in HEAD_FEATURES]
# Head training traces (own seeds): few thermal episodes reach a slowdown, so many fault traces.
HEAD_FAULTS_PER_KIND = 40
HEAD_HEALTHY_TRACES = 60
# The head may add at most this share of flagged points on the healthy validation traces.
HEAD_MAX_ADDED_FPR = 0.0001
# Head-only findings stay `degraded`: the head's scaled score is capped halfway to the critical line.
HEAD_CAP_SHARE = 0.5


def hard_fault(X: np.ndarray) -> np.ndarray:
    return (X[:, IDX["xid_present"]] > 0) | (X[:, IDX["ecc_dbe_delta_log"]] > 0) | \
        (X[:, IDX["throttle_thermal"]] > 0) | (X[:, IDX["throttle_hw_slowdown"]] > 0)


def featurize_traces(traces: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs, labels, trace_idx = [], [], []
    for k, tr in enumerate(traces):
        xs.append(F.featurize(synth.trace_points(tr), {}))
        labels += synth.trace_labels(tr)
        trace_idx += [k] * len(tr["ts_ms"])
    return np.concatenate(xs), np.array(labels), np.array(trace_idx)


def driver_labels(traces: list[dict]) -> np.ndarray:
    """verdict / precursor / none per point, from the driver's fields only (ml/driver_labels.py)."""
    return np.array([lab for tr in traces for lab in DL.label_points(synth.trace_points(tr))])


def train_head(seed: int) -> tuple[GradientBoostingClassifier, dict]:
    """Precursor head: P(a driver slowdown verdict follows within LEAD_S | features), on its own seeds (seed+5 faults,
    seed+6 healthy), disjoint from tuning (seed+1/+2) and evaluation (seed+3/+4). Verdict points are left
    out: the rules already catch them; the head is for the minutes before."""
    traces = synth.fault_traces(seed + 5, HEAD_FAULTS_PER_KIND, prefix="headf") + \
        synth.healthy_traces(seed + 6, HEAD_HEALTHY_TRACES, prefix="headh")
    X, _, _ = featurize_traces(traces)
    lab = driver_labels(traces)
    keep = lab != DL.VERDICT
    y = (lab[keep] == DL.PRECURSOR).astype(int)
    head = GradientBoostingClassifier(n_estimators=HEAD_TREES, max_depth=HEAD_DEPTH, learning_rate=HEAD_LEARNING_RATE,
                                      subsample=0.8, random_state=seed)
    head.fit(X[keep][:, HEAD_IDX], y)
    return head, {"traces": len(traces), "points": int(keep.sum()), "precursorPoints": int(y.sum()),
                  "verdictPointsLeftOut": int((~keep).sum()), "seeds": [seed + 5, seed + 6]}


def tune_head(p: np.ndarray, lab: np.ndarray, healthy: np.ndarray, base_flag: np.ndarray) -> tuple[float, dict]:
    """Lowest head probability threshold that adds at most HEAD_MAX_ADDED_FPR flagged points on the healthy
    validation traces, on top of what the forest, envelope and rules flag already. The cost side uses the
    healthy split, not the driver's negatives: those include runaways that never reached a slowdown and
    faults the driver cannot see, and counting them as false alarms would tune the head to stay quiet on
    exactly the episodes it is for."""
    pos = lab == DL.PRECURSOR
    best = 0.99
    for t in np.linspace(0.99, 0.05, 95):
        added = (healthy & ~base_flag & (p >= t)).sum() / max(1, healthy.sum())
        if added > HEAD_MAX_ADDED_FPR:
            break
        best = float(t)
    flag = base_flag | (p >= best)
    return best, {"precursorPoints": int(pos.sum()),
                  "precursorRecallForest": float(base_flag[pos].mean()) if pos.any() else 0.0,
                  "precursorRecallWithHead": float(flag[pos].mean()) if pos.any() else 0.0,
                  "addedFlaggedHealthy": float((healthy & ~base_flag & (p >= best)).sum() / max(1, healthy.sum()))}


def _threshold32(thr: float) -> float:
    """sklearn tests float32(x) <= float64 threshold; the largest float32 not above the threshold gives the
    same branch for every float32 input."""
    t32 = np.float32(thr)
    if float(t32) > thr:
        t32 = np.nextafter(t32, np.float32(-np.inf))
    return float(t32)


def head_nodes(head: GradientBoostingClassifier, k: float, cap: float) -> tuple[list, list]:
    """ONNX nodes: head_raw = init + lr * sum(tree leaves) (log-odds), p = sigmoid, head_score = min(p * k, cap)."""
    a = {k_: [] for k_ in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
                           "nodes_truenodeids", "nodes_falsenodeids", "target_treeids", "target_nodeids",
                           "target_ids", "target_weights")}
    for t, est in enumerate(head.estimators_[:, 0]):
        tree = est.tree_
        for n in range(tree.node_count):
            left, right = int(tree.children_left[n]), int(tree.children_right[n])
            a["nodes_treeids"].append(t)
            a["nodes_nodeids"].append(n)
            if left == -1:
                a["nodes_featureids"].append(0)
                a["nodes_values"].append(0.0)
                a["nodes_modes"].append("LEAF")
                a["nodes_truenodeids"].append(0)
                a["nodes_falsenodeids"].append(0)
                a["target_treeids"].append(t)
                a["target_nodeids"].append(n)
                a["target_ids"].append(0)
                a["target_weights"].append(float(head.learning_rate * tree.value[n][0][0]))
            else:
                a["nodes_featureids"].append(HEAD_IDX[int(tree.feature[n])])
                a["nodes_values"].append(_threshold32(float(tree.threshold[n])))
                a["nodes_modes"].append("BRANCH_LEQ")
                a["nodes_truenodeids"].append(left)
                a["nodes_falsenodeids"].append(right)
    init = float(head._raw_predict_init(np.zeros((1, len(HEAD_IDX)), dtype=np.float32))[0, 0])
    nodes = [
        helper.make_node("TreeEnsembleRegressor", ["input"], ["head_raw"], domain="ai.onnx.ml", name="precursor_head",
                         n_targets=1, aggregate_function="SUM", post_transform="NONE", base_values=[init], **a),
        helper.make_node("Sigmoid", ["head_raw"], ["head_p"], name="head_probability"),
        helper.make_node("Mul", ["head_p", "head_k"], ["head_scaled"], name="head_to_score_scale"),
        helper.make_node("Min", ["head_scaled", "head_cap"], ["head_score"], name="head_stays_degraded"),
    ]
    inits = [numpy_helper.from_array(np.array([k], dtype=np.float32), "head_k"),
             numpy_helper.from_array(np.array([cap], dtype=np.float32), "head_cap")]
    return nodes, inits


def prune_to(graph: onnx.GraphProto, output: str) -> None:
    """Drop nodes that do not feed `output` (the unused IsolationForest label branch)."""
    needed = {output}
    keep = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(node.input)
    keep.reverse()
    del graph.node[:]
    graph.node.extend(keep)
    inits = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)


def export_onnx_skl2onnx(model: IsolationForest) -> bytes:
    """The stock skl2onnx conversion, reduced to the anomaly score. ~2,000 nodes (a few per tree):
    kept only as the reference the compact graph below is checked against."""
    onx = to_onnx(model, initial_types=[("input", FloatTensorType([None, F.N_FEATURES]))],
                  target_opset={"": 17, "ai.onnx.ml": 3})
    g = onx.graph
    raw = next(o.name for o in g.output if o.name == "scores")
    # anomaly = -score_samples = -(decision_function + offset_), in (0, 1); ~0.5 is ordinary.
    g.initializer.append(numpy_helper.from_array(np.array([model.offset_], dtype=np.float32), "offset"))
    g.node.append(helper.make_node("Add", [raw, "offset"], ["score_samples"], name="add_offset"))
    g.node.append(helper.make_node("Neg", ["score_samples"], ["score"], name="neg"))
    del g.output[:]
    g.output.append(helper.make_tensor_value_info("score", TensorProto.FLOAT, [None, 1]))
    prune_to(g, "score")
    return onx.SerializeToString()


def _avg_path_length(n: float) -> float:
    """c(n) of the isolation forest paper (sklearn's _average_path_length)."""
    if n <= 1:
        return 0.0
    if n == 2:
        return 1.0
    return 2.0 * (np.log(n - 1.0) + np.euler_gamma) - 2.0 * (n - 1.0) / n


def export_onnx(model: IsolationForest, head: tuple[list, list] | None = None) -> bytes:
    """Compact graph: ONE TreeEnsembleRegressor whose leaves hold each tree's path length
    (depth + c(leaf samples) - 1, as sklearn computes it), summed over trees, then
    anomaly = 2 ** (-sum / (n_trees * c(max_samples))) == -score_samples.
    Same numbers as skl2onnx's graph, ~50x faster in onnxruntime (3 nodes instead of ~2,000)."""
    subsample = model._max_features != F.N_FEATURES
    a = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
                         "nodes_truenodeids", "nodes_falsenodeids", "target_treeids", "target_nodeids",
                         "target_ids", "target_weights")}
    for t, (est, feats) in enumerate(zip(model.estimators_, model.estimators_features_)):
        tree = est.tree_
        dpl = model._decision_path_lengths[t]
        apl = model._average_path_length_per_tree[t]
        for n in range(tree.node_count):
            left, right = int(tree.children_left[n]), int(tree.children_right[n])
            a["nodes_treeids"].append(t)
            a["nodes_nodeids"].append(n)
            if left == -1:
                a["nodes_featureids"].append(0)
                a["nodes_values"].append(0.0)
                a["nodes_modes"].append("LEAF")
                a["nodes_truenodeids"].append(0)
                a["nodes_falsenodeids"].append(0)
                a["target_treeids"].append(t)
                a["target_nodeids"].append(n)
                a["target_ids"].append(0)
                a["target_weights"].append(float(dpl[n] + apl[n] - 1.0))
            else:
                f = int(tree.feature[n])
                a["nodes_featureids"].append(int(feats[f]) if subsample else f)
                # sklearn tests float32(x) <= float64 threshold; the largest float32 not above the
                # threshold gives the same branch for every float32 input.
                a["nodes_values"].append(_threshold32(float(tree.threshold[n])))
                a["nodes_modes"].append("BRANCH_LEQ")
                a["nodes_truenodeids"].append(left)
                a["nodes_falsenodeids"].append(right)
    ens = helper.make_node("TreeEnsembleRegressor", ["input"], ["path_sum"], domain="ai.onnx.ml",
                           name="isolation_paths", n_targets=1, aggregate_function="SUM", post_transform="NONE", **a)
    denom = len(model.estimators_) * _avg_path_length(model._max_samples)
    nodes = [
        ens,
        helper.make_node("Mul", ["path_sum", "neg_inv_denom"], ["exponent"], name="normalise"),
        helper.make_node("Pow", ["two", "exponent"], ["anomaly" if head else "score"], name="anomaly"),
    ]
    initializer = [numpy_helper.from_array(np.array([-1.0 / denom], dtype=np.float32), "neg_inv_denom"),
                   numpy_helper.from_array(np.array([2.0], dtype=np.float32), "two")]
    if head:
        # score = max(anomaly, head_score): the head can raise a point to `degraded`, never lower the forest.
        nodes += head[0] + [helper.make_node("Max", ["anomaly", "head_score"], ["score"], name="forest_or_head")]
        initializer += head[1]
    graph = helper.make_graph(
        nodes, "gpu_health_iforest",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, F.N_FEATURES])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [None, 1])],
        initializer=initializer,
    )
    onx = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
                            producer_name="telemetry-stack ml/train.py", producer_version=str(SPEC_VERSION))
    onx.ir_version = 8
    onx.doc_string = "GPU health score: max(IsolationForest anomaly, precursor head trained on driver verdicts); see ml/README.md"
    onnx.checker.check_model(onx)
    return onx.SerializeToString()


def tune_thresholds(s: np.ndarray, y: np.ndarray, hard: np.ndarray, max_fpr=0.01, crit_fpr=0.0001):
    """hard: points already flagged whatever the threshold (hard-fault rules, envelope)."""
    healthy = y == "healthy"
    best = None
    for t in np.quantile(s[healthy], np.linspace(0.95, 0.9999, 300)):
        pred = hard | (s >= t)
        fpr = pred[healthy].mean()
        if fpr > max_fpr:
            continue
        tp = (pred & ~healthy).sum()
        prec = tp / max(1, pred.sum())
        rec = tp / max(1, (~healthy).sum())
        f1 = 2 * prec * rec / max(1e-9, prec + rec)
        if best is None or f1 > best[0]:
            best = (f1, float(t), float(prec), float(rec), float(fpr))
    assert best is not None
    degraded = best[1]
    # A model-only finding is critical only when clearly past the degraded line (+CRITICAL_MARGIN in
    # anomaly score) and past all but crit_fpr of the healthy validation points.
    critical = max(degraded + CRITICAL_MARGIN, float(np.quantile(s[healthy & ~hard], 1 - crit_fpr)))
    return degraded, critical, {"f1": best[0], "precision": best[2], "recall": best[3], "fpr": best[4]}


def write_eval(traces: list[dict], path: Path) -> None:
    # mtime=0 and sorted keys keep the gzip bytes reproducible.
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        for tr in traces:
            gz.write((json.dumps(tr, sort_keys=True, separators=(",", ":")) + "\n").encode())


def parity_fixture(seed: int) -> dict:
    """Short traces covering every missing-data path, plus hand-made edge cases."""
    rng = np.random.default_rng(seed + 99)
    traces = [synth.make_trace(rng, f"p{i}", 60, fault=f, onset=40) for i, f in
              enumerate(["ecc_storm", "stuck_fan", "xid_79", "power_cap_throttling", None])]
    points = [p for tr in traces for p in synth.trace_points(tr)]
    edge_dev = "GPU-edge"
    base = 1_750_000_000_000_000_000
    edge = [
        {"device": edge_dev, "ts": str(base), "tags": {}, "fields": {"temperature_c": 50, "ecc_sbe": 10, "ecc_dbe": 1,
                                                                     "sm_clock_mhz": 1000, "mem_used_mib": 100, "mem_free_mib": 900}},
        {"device": edge_dev, "ts": str(base + 5_000_000_000), "tags": {}, "fields": {"temperature_c": 60, "ecc_sbe": 4,
                                                                                     "sm_clock_mhz": 1500, "throttle_reasons": 0x44}},
        {"device": edge_dev, "ts": str(base + 2_000_000_000), "tags": {}, "fields": {"temperature_c": 70, "ecc_dbe": 3,
                                                                                     "power_w": 100, "power_limit_w": 200, "fan_pct": 20}},
        {"device": edge_dev, "ts": str(base + 9_000_000_000), "tags": {}, "fields": {"power_w": 150, "xid": 79,
                                                                                     "throttle_power": 1, "util_gpu_pct": 90}},
    ]
    points += edge
    baselines: dict = {}
    X = F.featurize(points, baselines)
    return {"featureOrder": F.FEATURE_NAMES, "points": points, "features": X.astype(float).tolist(),
            "baselines": baselines}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=20250601)
    ap.add_argument("--train-traces", type=int, default=500)
    args = ap.parse_args()
    seed = args.seed

    train = synth.healthy_traces(seed, args.train_traces, n_range=(300, 1500), prefix="train")
    val = synth.healthy_traces(seed + 1, 30, prefix="val") + synth.fault_traces(seed + 2, 6, prefix="valf")
    ev = synth.healthy_traces(seed + 3, 30, n_range=(600, 1200), prefix="eval") + \
        synth.fault_traces(seed + 4, 12, prefix="evalf")

    Xtr, _, _ = featurize_traces(train)
    print(f"train: {len(train)} healthy traces, {len(Xtr)} points, {F.N_FEATURES} features")
    model = IsolationForest(n_estimators=N_ESTIMATORS, max_samples=MAX_SAMPLES, random_state=seed, n_jobs=1)
    model.fit(Xtr)

    Xv, yv, _ = featurize_traces(val)
    sv = -model.score_samples(Xv)
    lo, hi = Xtr.min(axis=0), Xtr.max(axis=0)
    margin = np.maximum((hi - lo) * ENVELOPE_MARGIN, ENVELOPE_MIN_MARGIN)
    outside = ((Xv < (lo - margin)) | (Xv > (hi + margin))).any(axis=1)
    degraded, critical, vstats = tune_thresholds(sv, yv, hard_fault(Xv) | outside)
    print(f"thresholds: degraded {degraded:.4f} critical {critical:.4f}; validation {vstats}")

    head, head_train = train_head(seed)
    pv = head.predict_proba(Xv[:, HEAD_IDX])[:, 1]
    head_p, head_val = tune_head(pv, driver_labels(val), yv == "healthy", hard_fault(Xv) | outside | (sv >= degraded))
    # Scale so that p >= head_p <=> head_score >= degraded; capped below critical.
    head_k = degraded / head_p
    head_cap = degraded + HEAD_CAP_SHARE * (critical - degraded)
    print(f"head: p* {head_p:.2f}; training {head_train}; validation {head_val}")

    onnx_bytes = export_onnx(model, head_nodes(head, head_k, head_cap))
    (ML / "model").mkdir(exist_ok=True)
    (ML / "model" / "gpu-health.onnx").write_bytes(onnx_bytes)

    env_lo, env_hi = (lo - margin).astype(float), (hi + margin).astype(float)
    center = np.median(Xtr, axis=0)
    scale = np.maximum(Xtr.std(axis=0), 0.01)
    meta = {
        "name": "gpu-health",
        "algorithm": "sklearn.ensemble.IsolationForest + GradientBoostingClassifier precursor head",
        "params": {"n_estimators": N_ESTIMATORS, "max_samples": MAX_SAMPLES, "random_state": seed},
        "head": {"doc": "score = max(anomaly, min(p * k, cap)); p = P(driver verdict within leadS | features), "
                        "trained on labels from ml/driver_labels.py; head alone reaches degraded at p >= pThreshold, never critical",
                 "trees": HEAD_TREES, "depth": HEAD_DEPTH, "features": HEAD_FEATURES, "learningRate": HEAD_LEARNING_RATE, "leadS": DL.LEAD_S,
                 "pThreshold": round(head_p, 4), "k": round(float(np.float32(head_k)), 6), "cap": round(float(np.float32(head_cap)), 6),
                 "training": head_train, "validation": {k: round(v, 4) for k, v in head_val.items()}},
        "input": {"name": "input", "dtype": "float32", "shape": [None, F.N_FEATURES]},
        "output": {"name": "score", "doc": "max(anomaly score in (0, 1) = -score_samples, ~0.5 ordinary, higher is stranger; the head's scaled score)"},
        "featureOrder": F.FEATURE_NAMES,
        "featuresSpecSha256": hashlib.sha256((ML / "features.json").read_bytes()).hexdigest(),
        "thresholds": {"degraded": round(degraded, 6), "critical": round(critical, 6)},
        "featureStats": {"center": [round(float(x), 6) for x in center], "scale": [round(float(x), 6) for x in scale]},
        "envelope": {"lo": [round(float(x), 6) for x in env_lo], "hi": [round(float(x), 6) for x in env_hi],
                     "doc": "healthy training min/max widened by max(10 % of range, 0.05); outside = degraded"},
        "training": {"seed": seed, "trainTraces": len(train), "trainPoints": int(len(Xtr)),
                     "validationSeeds": [seed + 1, seed + 2], "evaluationSeeds": [seed + 3, seed + 4],
                     "validation": {k: round(v, 4) for k, v in vstats.items()}},
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scikit-learn": sklearn.__version__,
                     "skl2onnx": skl2onnx.__version__, "onnx": onnx.__version__},
        "modelSha256": hashlib.sha256(onnx_bytes).hexdigest(),
    }
    (ML / "model" / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")

    (ML / "data").mkdir(exist_ok=True)
    write_eval(ev, ML / "data" / "eval-episodes.jsonl.gz")
    fx = ROOT / "test" / "fixtures" / "health"
    fx.mkdir(parents=True, exist_ok=True)
    (fx / "feature-parity.json").write_text(json.dumps(parity_fixture(seed), separators=(",", ":")) + "\n")

    # Sanity: the exported graph must agree with sklearn (float32 input, so allow rounding).
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        got = sess.run(None, {"input": Xv})[0][:, 0]
        want = np.maximum(sv, np.minimum(pv * head_k, head_cap))
        diff = float(np.abs(got - want).max())
        forest = ort.InferenceSession(export_onnx(model), providers=["CPUExecutionProvider"]).run(None, {"input": Xv[:5000]})[0][:, 0]
        ref = ort.InferenceSession(export_onnx_skl2onnx(model), providers=["CPUExecutionProvider"])
        diff2 = float(np.abs(ref.run(None, {"input": Xv[:5000]})[0][:, 0] - forest).max())
        print(f"onnx vs sklearn max |diff| = {diff:.2e}; vs skl2onnx graph {diff2:.2e}")
        assert diff < 1e-5 and diff2 < 1e-5, (diff, diff2)
    except ImportError:
        print("onnxruntime not installed; skipped the ONNX/sklearn agreement check")
    print(f"wrote {ML / 'model' / 'gpu-health.onnx'} ({len(onnx_bytes)} bytes), sha256 {meta['modelSha256']}")


if __name__ == "__main__":
    main()
