"""Python mirror of activities/health/features.ts (training side).

Both read ml/features.json for the feature order, imputation values and
baseline constants. The TypeScript side is the one that runs in production;
test/unit/health/features.test.ts checks it against
test/fixtures/health/feature-parity.json, written by train.py from THIS
module, so a drift between the two fails the TS test suite.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

SPEC = json.loads((Path(__file__).parent / "features.json").read_text())
FEATURE_NAMES: list[str] = [f["name"] for f in SPEC["features"]]
IMPUTE: dict[str, float] = {f["name"]: float(f["impute"]) for f in SPEC["features"]}
TEMP_TAU_S: float = float(SPEC["baseline"]["tempTauS"])
N_FEATURES = len(FEATURE_NAMES)

# NVML clocks_event_reasons bits (nvml.h: nvmlClocksEventReason*).
SW_POWER_CAP = 0x4
HW_SLOWDOWN = 0x8
SW_THERMAL = 0x20
HW_THERMAL = 0x40
HW_POWER_BRAKE = 0x80


def new_baseline() -> dict:
    return {
        "v": 1,
        "n": 0,
        "lastTs": None,
        "tempMean": None,
        "lastSbe": None,
        "lastDbe": None,
        "smClockMax": None,
        "powerLimit": None,
        "memTotal": None,
    }


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def _flag(fields: dict, name: str, bits: int) -> float:
    v = fields.get(name)
    if v is not None:
        return 1.0 if v > 0 else 0.0
    r = fields.get("throttle_reasons")
    if r is not None:
        return 1.0 if (int(r) & bits) != 0 else 0.0
    return 0.0


def featurize_point(fields: dict, ts: str, b: dict) -> list[float]:
    """Features of one point; mutates the device baseline `b` (same order as features.ts)."""
    out = dict.fromkeys(FEATURE_NAMES, 0.0)
    ts_i = int(ts)
    dt_s = None
    if b["lastTs"] is not None:
        dt_s = (ts_i - int(b["lastTs"])) / 1e9

    temp = fields.get("temperature_c")
    if temp is None:
        out["temp_c"] = IMPUTE["temp_c"]
        out["temp_missing"] = 1.0
        out["temp_vs_baseline_c"] = IMPUTE["temp_vs_baseline_c"]
    else:
        out["temp_c"] = temp
        out["temp_vs_baseline_c"] = 0.0 if b["tempMean"] is None else temp - b["tempMean"]

    limit = fields.get("power_limit_w")
    if limit is not None and limit > 0:
        b["powerLimit"] = limit
    else:
        limit = b["powerLimit"]
    power = fields.get("power_w")
    if power is None or limit is None:
        out["power_ratio"] = IMPUTE["power_ratio"]
        out["power_missing"] = 1.0
    else:
        out["power_ratio"] = _clip(power / limit, 0.0, 1.5)

    sm = fields.get("sm_clock_mhz")
    sm_max = fields.get("sm_clock_max_mhz")
    if sm_max is not None and sm_max > 0:
        b["smClockMax"] = sm_max
    elif sm is not None and (b["smClockMax"] is None or sm > b["smClockMax"]):
        b["smClockMax"] = sm
    if sm is None or not b["smClockMax"]:
        out["sm_clock_ratio"] = IMPUTE["sm_clock_ratio"]
        out["clock_missing"] = 1.0
    else:
        out["sm_clock_ratio"] = _clip(sm / b["smClockMax"], 0.0, 1.2)

    ug = fields.get("util_gpu_pct")
    if ug is None:
        out["util_gpu"] = IMPUTE["util_gpu"]
        out["util_missing"] = 1.0
    else:
        out["util_gpu"] = _clip(ug / 100.0, 0.0, 1.0)
    um = fields.get("util_mem_pct")
    out["util_mem"] = IMPUTE["util_mem"] if um is None else _clip(um / 100.0, 0.0, 1.0)
    if out["util_missing"] == 0.0 and out["clock_missing"] == 0.0:
        out["util_clock_gap"] = out["util_gpu"] - out["sm_clock_ratio"]
    else:
        out["util_clock_gap"] = IMPUTE["util_clock_gap"]

    used = fields.get("mem_used_mib")
    total = fields.get("mem_total_mib")
    free = fields.get("mem_free_mib")
    if total is None and used is not None and free is not None:
        total = used + free
    if total is not None and total > 0:
        b["memTotal"] = total
    else:
        total = b["memTotal"]
    if used is None or total is None:
        out["mem_used_ratio"] = IMPUTE["mem_used_ratio"]
        out["mem_missing"] = 1.0
    else:
        out["mem_used_ratio"] = _clip(used / total, 0.0, 1.0)

    sbe = fields.get("ecc_sbe")
    dbe = fields.get("ecc_dbe")
    if sbe is None and dbe is None:
        out["ecc_missing"] = 1.0
    if sbe is not None:
        if b["lastSbe"] is not None:
            out["ecc_sbe_delta_log"] = math.log1p(max(0.0, sbe - b["lastSbe"]))
        b["lastSbe"] = sbe
    if dbe is not None:
        if b["lastDbe"] is not None:
            out["ecc_dbe_delta_log"] = math.log1p(max(0.0, dbe - b["lastDbe"]))
        b["lastDbe"] = dbe

    xid = fields.get("xid")
    out["xid_present"] = 1.0 if xid is not None and xid > 0 else 0.0
    out["throttle_thermal"] = _flag(fields, "throttle_thermal", SW_THERMAL | HW_THERMAL)
    out["throttle_power"] = _flag(fields, "throttle_power", SW_POWER_CAP)
    out["throttle_hw_slowdown"] = _flag(fields, "throttle_hw_slowdown", HW_SLOWDOWN | HW_THERMAL | HW_POWER_BRAKE)

    fan = fields.get("fan_pct")
    if fan is None:
        out["fan_ratio"] = IMPUTE["fan_ratio"]
        out["fan_missing"] = 1.0
        out["fan_temp_gap"] = IMPUTE["fan_temp_gap"]
    else:
        out["fan_ratio"] = _clip(fan / 100.0, 0.0, 1.0)
        if temp is None:
            out["fan_temp_gap"] = IMPUTE["fan_temp_gap"]
        else:
            out["fan_temp_gap"] = _clip((temp - 30.0) / 55.0, 0.0, 1.0) - out["fan_ratio"]

    # Baseline update after the features so a point is compared with its past only.
    if temp is not None:
        if b["tempMean"] is None:
            b["tempMean"] = float(temp)
        else:
            # A duplicate or out-of-order timestamp does not move the baseline.
            alpha = 0.0 if dt_s is None or dt_s <= 0 else 1.0 - math.exp(-dt_s / TEMP_TAU_S)
            b["tempMean"] = b["tempMean"] + alpha * (temp - b["tempMean"])
    if b["lastTs"] is None or ts_i > int(b["lastTs"]):
        b["lastTs"] = str(ts_i)
    b["n"] += 1
    return [out[n] for n in FEATURE_NAMES]


def featurize(points: list[dict], baselines: dict[str, dict]) -> np.ndarray:
    """points: [{device, ts, fields}] in arrival order. Returns float32 [n, F]; baselines mutated."""
    rows = np.empty((len(points), N_FEATURES), dtype=np.float64)
    for i, p in enumerate(points):
        b = baselines.get(p["device"])
        if b is None:
            b = baselines[p["device"]] = new_baseline()
        rows[i] = featurize_point(p["fields"], p["ts"], b)
    return rows.astype(np.float32)
