"""Seeded generator of GPU telemetry traces: healthy workloads and labelled fault episodes.

Why synthetic: the real logs in the project's shared data are few, short and
mostly unlicensed for copying, and none contains a fault. The ranges below are
statistics read from them (see ml/README.md "Where the numbers come from");
the dynamics (first-order thermal lag, fan curve, power capping) are the usual
physics of air/liquid-cooled boards. Everything is drawn from one
numpy Generator so a seed fully determines the output.

A trace is a dict:
  {id, kind: 'healthy'|<fault>, device, tags, t0_ms, ts_ms: [int],
   fields: {name: [float|None]}, onset: int|None}
Points at index >= onset are labelled with the fault; all others are healthy.
"""

from __future__ import annotations

import math

import numpy as np

FAULTS = [
    "thermal_runaway",
    "power_cap_throttling",
    "ecc_storm",
    "xid_79",
    "xid_48",
    "xid_63",
    "clock_drop",
    "stuck_fan",
]

FIELDS = [
    "temperature_c",
    "power_w",
    "power_limit_w",
    "util_gpu_pct",
    "util_mem_pct",
    "mem_used_mib",
    "mem_total_mib",
    "sm_clock_mhz",
    "sm_clock_max_mhz",
    "mem_clock_mhz",
    "fan_pct",
    "ecc_sbe",
    "ecc_dbe",
    "xid",
    "throttle_reasons",
    "throttle_thermal",
    "throttle_power",
    "throttle_hw_slowdown",
    # The driver's own verdict (NVML_GPU_RECOVERY_ACTION_*: 0 None, 1 Reset, 2 Reboot, ...), reported by
    # data-centre boards with the ECC group. Written without RNG draws, so adding it left every other
    # value of a seed unchanged. ml/driver_labels.py reads it (and the XID catalog) for training labels.
    "gpu_recovery_action",
]
# Recovery action the driver raises from a fault's onset (A100+ memory error management: an
# uncorrectable error or a pending row remap needs a GPU reset). xid_79 has none: the GPU is gone.
RECOVERY_RESET = 1.0
FAULT_RECOVERY = {"xid_48": RECOVERY_RESET, "xid_63": RECOVERY_RESET}

# Ranges: idle/load power and temperature, clocks and memory per board.
# RTX 2080 SUPER: nvidia_gpu_exporter captures (idle 39 W/40 C/765 MHz, load 111 W/45 C/2055 MHz,
#   dmon 20 W idle, limit 250 W, max SM 2145 MHz, 8192 MiB, fan 38 %).
# RTX 4090: vlm_optimization log (idle 33 W, load p10-p90 263-309 W, max 333 W, util p50 90 %, 18 GiB used).
# V100S: miris log (27-29 C at low util, 32768 MiB). L4: CNCF kops DCGM scrape (16 W, 31 C, 210 MHz idle,
#   22563+470 MiB). H100 80GB: gpu_glasses log (72-74 W idle, 32-36 C, 81559 MiB).
PROFILES = {
    "rtx2080super": dict(name="NVIDIA GeForce RTX 2080 SUPER", limit=250.0, idle_w=(18, 40), load_w=(110, 245),
                         clk_max=2145, clk_idle=(300, 765), clk_load=(1800, 2055), mem_total=8192,
                         mem_clk=(405, 7500), t_idle=(36, 45), t_load=(62, 80), fan=True, ecc=False),
    "rtx4090": dict(name="NVIDIA GeForce RTX 4090", limit=450.0, idle_w=(20, 35), load_w=(250, 335),
                    clk_max=3105, clk_idle=(210, 600), clk_load=(2500, 2760), mem_total=24564,
                    mem_clk=(405, 10501), t_idle=(30, 40), t_load=(58, 74), fan=True, ecc=False),
    "v100s": dict(name="Tesla V100S-PCIE-32GB", limit=250.0, idle_w=(25, 40), load_w=(150, 245),
                  clk_max=1597, clk_idle=(135, 1245), clk_load=(1380, 1597), mem_total=32768,
                  mem_clk=(1107, 1107), t_idle=(27, 34), t_load=(45, 68), fan=False, ecc=True),
    "l4": dict(name="NVIDIA L4", limit=72.0, idle_w=(14, 19), load_w=(50, 72),
               clk_max=2040, clk_idle=(210, 210), clk_load=(1750, 2040), mem_total=23034,
               mem_clk=(405, 6251), t_idle=(30, 38), t_load=(58, 76), fan=False, ecc=True),
    "h100": dict(name="NVIDIA H100 80GB HBM3", limit=700.0, idle_w=(68, 78), load_w=(380, 690),
                 clk_max=1980, clk_idle=(345, 345), clk_load=(1755, 1980), mem_total=81559,
                 mem_clk=(2619, 2619), t_idle=(31, 37), t_load=(50, 72), fan=False, ecc=True),
}
FAN_PROFILES = [k for k, p in PROFILES.items() if p["fan"]]
ECC_PROFILES = [k for k, p in PROFILES.items() if p["ecc"]]

# NVML clocks_event_reasons bits.
B_IDLE, B_SW_POWER, B_HW_SLOW, B_SW_THERMAL, B_HW_THERMAL = 0x1, 0x4, 0x8, 0x20, 0x40


def _u(rng, lo_hi):
    lo, hi = lo_hi
    return float(rng.uniform(lo, hi)) if hi > lo else float(lo)


def _availability(rng, prof, fault):
    """Which field groups this trace reports. Real logs omit whole groups (a power-only log, no fan
    on passively cooled boards, [N/A] ECC on consumer cards); the model must see that as healthy.
    The rates are higher than in the wild on purpose: training must cover every combination, or a
    rare but healthy combination of absent fields scores as an anomaly."""
    has = {
        "temp": rng.random() > 0.2,
        "power": rng.random() > 0.2,
        "limit": rng.random() > 0.3,
        "clock": rng.random() > 0.25,
        "clock_max": rng.random() > 0.5,
        "mem_clock": rng.random() > 0.5,
        "util": rng.random() > 0.2,
        "util_mem": rng.random() > 0.25,
        "mem": rng.random() > 0.2,
        "mem_total": rng.random() > 0.2,
        "fan": prof["fan"] and rng.random() > 0.2,
        "ecc": prof["ecc"] and rng.random() > 0.2,
        "xid": rng.random() > 0.5,
        "throttle": rng.random() > 0.4,
        "throttle_mask": rng.random() > 0.5,
    }
    # A fault must be observable through the fields that define it.
    if fault in ("xid_79", "xid_48", "xid_63"):
        has["xid"] = True
    if fault in ("ecc_storm", "xid_48", "xid_63"):
        has["ecc"] = True
    if fault in ("thermal_runaway", "stuck_fan"):
        has["temp"] = True
    if fault == "stuck_fan":
        has["fan"] = True
    if fault in ("power_cap_throttling", "clock_drop"):
        has["clock"] = True
        has["util"] = True
    if fault == "power_cap_throttling":
        has["power"] = True
        has["limit"] = True
    return has


def _schedule(rng, n, force_load_from=None):
    """Workload per point: list of (util_target 0..1, mem_frac, util_mem_factor)."""
    out = []
    i = 0
    while i < n:
        kind = rng.choice(["idle", "load", "bursty"], p=[0.35, 0.45, 0.2])
        length = int(rng.integers(30, 600))
        level = float(rng.uniform(0.3, 1.0))
        mem_frac = float(rng.uniform(0.15, 0.9)) if kind != "idle" else float(rng.uniform(0.0, 0.06))
        um = float(rng.uniform(0.1, 0.85))
        period = int(rng.integers(5, 40))
        for j in range(length):
            if kind == "idle":
                u = 0.0 if rng.random() < 0.85 else float(rng.uniform(0.01, 0.2))
            elif kind == "load":
                u = level
            else:
                u = level if (j // period) % 2 == 0 else float(rng.uniform(0.0, 0.15))
            out.append((u, mem_frac, um))
        i += length
    out = out[:n]
    if force_load_from is not None:
        level = float(rng.uniform(0.85, 1.0))
        mem_frac = float(rng.uniform(0.3, 0.9))
        um = float(rng.uniform(0.3, 0.8))
        for k in range(max(0, force_load_from), n):
            out[k] = (level, mem_frac, um)
    return out


def make_trace(rng, trace_id: str, n: int, fault: str | None = None, onset: int | None = None,
               profile: str | None = None) -> dict:
    if profile is None:
        pool = FAN_PROFILES if fault == "stuck_fan" else ECC_PROFILES if fault in ("ecc_storm", "xid_48", "xid_63") else list(PROFILES)
        profile = str(rng.choice(pool))
    prof = PROFILES[profile]
    has = _availability(rng, prof, fault)
    needs_load = fault in ("thermal_runaway", "power_cap_throttling", "clock_drop", "stuck_fan")
    sched = _schedule(rng, n, force_load_from=(onset - int(rng.integers(60, 200))) if needs_load else None)

    idle_w = _u(rng, prof["idle_w"])
    load_w = _u(rng, (max(prof["load_w"][0], prof["load_w"][1] * 0.8), prof["load_w"][1] * 1.05))
    limit = prof["limit"]
    t_idle = _u(rng, prof["t_idle"])
    t_load = _u(rng, prof["t_load"])
    tau_th = float(rng.uniform(40, 120))
    fan_min = float(rng.uniform(28, 40))
    clk_top = _u(rng, prof["clk_load"])
    idle_clk = _u(rng, prof["clk_idle"])
    base_mem = prof["mem_total"] * float(rng.uniform(0.0, 0.05))
    dt_s = float(rng.choice([1, 1, 1, 2, 5, 10]))
    sbe = float(rng.integers(0, 40)) if rng.random() < 0.5 else 0.0
    dbe = 0.0 if rng.random() < 0.9 else float(rng.integers(1, 3))  # historical, never increasing
    idle_powercap = rng.random() < 0.3  # real RTX 2080 capture: sw_power_cap active while idle

    # Fault parameters (drawn even when unused so the stream stays aligned per trace shape).
    f_rate = float(rng.uniform(0.08, 0.3))  # degC/s of extra heat build-up
    f_thr = float(rng.uniform(86, 92))  # thermal slowdown threshold
    f_clk = float(rng.uniform(0.2, 0.55))  # clock ratio in clock_drop / power cap
    f_fan = float(rng.choice([0.0, float(rng.uniform(15, 35))]))
    f_sbe = float(rng.uniform(3, 200))

    t = float(rng.uniform(1.735e9, 1.77e9))
    t0_ms = int(t * 1000)
    T = t_idle
    P = idle_w
    fan = fan_min
    ts_ms, cols = [], {f: [] for f in FIELDS}
    lost = False
    for i in range(n):
        u, mem_frac, um = sched[i]
        in_fault = fault is not None and onset is not None and i >= onset
        since = (i - onset) * dt_s if in_fault else 0.0
        gap = 0.0
        if rng.random() < 0.001:
            gap = float(rng.uniform(30, 600))  # sampling gap (seen in the RTX 4090 log)
        step = dt_s * float(rng.uniform(0.99, 1.01)) + gap
        t += step

        util = u * 100.0 + (float(rng.normal(0, 2.5)) if u > 0.05 else 0.0)
        util = min(100.0, max(0.0, util))
        p_target = idle_w + (load_w - idle_w) * (util / 100.0) ** 0.8
        throttle_power = 0.0
        clk_factor = 1.0
        if p_target > limit:
            p_target = limit * float(rng.uniform(0.97, 1.0))
            throttle_power = 1.0
            clk_factor = float(rng.uniform(0.85, 0.95))
        throttle_thermal = 0.0
        hw_slow = 0.0
        extra_heat = 0.0
        fan_stuck = None

        if in_fault:
            if fault == "thermal_runaway":
                extra_heat = min(50.0, f_rate * since)
            elif fault == "stuck_fan":
                fan_stuck = f_fan
                extra_heat = min(35.0, 0.5 * f_rate * since)
            elif fault == "power_cap_throttling":
                util = float(rng.uniform(95, 100))
                p_target = limit * float(rng.uniform(0.98, 1.02))
                throttle_power = 1.0
                clk_factor = f_clk + 0.15 + float(rng.normal(0, 0.03))
            elif fault == "clock_drop":
                util = float(rng.uniform(95, 100))
                clk_factor = f_clk + float(rng.normal(0, 0.02))
                p_target = idle_w + (p_target - idle_w) * (0.4 + 0.4 * f_clk)
            elif fault == "ecc_storm":
                sbe += float(rng.poisson(f_sbe))
            elif fault == "xid_48":
                if i == onset:
                    dbe += float(rng.integers(1, 4))
                    sbe += float(rng.integers(1, 20))
                util = 0.0  # the application died with the uncorrectable error
                p_target = idle_w
            elif fault == "xid_63":
                if i == onset:
                    sbe += float(rng.integers(1, 8))
            elif fault == "xid_79":
                lost = i > onset

        # Power: fast first-order response; temperature: slow lag toward a power-driven target.
        P += (p_target - P) * (1 - math.exp(-step / 2.0))
        p_frac = max(0.0, (P - idle_w) / max(1.0, load_w - idle_w))
        t_target = t_idle + (t_load - t_idle) * p_frac + extra_heat
        T += (t_target - T) * (1 - math.exp(-step / tau_th))
        if in_fault and fault in ("thermal_runaway", "stuck_fan") and T >= f_thr:
            throttle_thermal = 1.0
            hw_slow = 1.0 if T >= f_thr + 4 else 0.0
            clk_factor = min(clk_factor, float(rng.uniform(0.55, 0.8)))
        fan_target = min(100.0, max(fan_min, fan_min + (T - 50.0) * 1.8))
        if in_fault and fault == "thermal_runaway":
            fan_target = 100.0
        fan += (fan_target - fan) * (1 - math.exp(-step / 5.0))
        if util < 5:
            clk = idle_clk if rng.random() < 0.9 else _u(rng, prof["clk_idle"])
        else:
            clk = clk_top * clk_factor + float(rng.normal(0, 10))
        clk = max(0.0, round(clk / 15.0) * 15.0)

        ts_ms.append(int(round(t * 1000)) - t0_ms)
        row = {f: None for f in FIELDS}
        if not lost:
            if has["temp"]:
                row["temperature_c"] = float(round(T + float(rng.normal(0, 0.3))))
            if has["power"]:
                row["power_w"] = round(max(0.0, P + float(rng.normal(0, 0.6))), 2)
            if has["limit"]:
                row["power_limit_w"] = limit
            if has["util"]:
                row["util_gpu_pct"] = float(round(util))
            if has["util_mem"]:
                row["util_mem_pct"] = float(round(util * um))
            if has["mem"]:
                used = base_mem + (prof["mem_total"] * mem_frac if u > 0.05 or mem_frac > 0.1 else 0.0)
                row["mem_used_mib"] = float(round(min(prof["mem_total"], used + float(rng.normal(0, 3)))))
            if has["mem_total"]:
                row["mem_total_mib"] = float(prof["mem_total"])
            if has["clock"]:
                row["sm_clock_mhz"] = clk
            if has["clock_max"]:
                row["sm_clock_max_mhz"] = float(prof["clk_max"])
            if has["mem_clock"]:
                row["mem_clock_mhz"] = float(prof["mem_clk"][1] if util >= 5 else prof["mem_clk"][0])
            if has["fan"]:
                row["fan_pct"] = float(round(fan_stuck if fan_stuck is not None else fan))
            if has["ecc"]:
                row["ecc_sbe"] = sbe
                row["ecc_dbe"] = dbe
                row["gpu_recovery_action"] = FAULT_RECOVERY.get(fault, 0.0) if in_fault else 0.0
            tp = throttle_power if util >= 5 else (1.0 if idle_powercap else 0.0)
            if has["throttle"]:
                if has["throttle_mask"]:
                    mask = (B_IDLE if util < 5 else 0) | (B_SW_POWER if tp else 0) \
                        | (B_SW_THERMAL if throttle_thermal else 0) | (B_HW_THERMAL if hw_slow else 0)
                    row["throttle_reasons"] = float(mask)
                else:
                    row["throttle_power"] = tp
                    row["throttle_thermal"] = throttle_thermal
                    row["throttle_hw_slowdown"] = hw_slow
        if has["xid"]:
            row["xid"] = float({"xid_79": 79, "xid_48": 48, "xid_63": 63}.get(fault, 0)) if in_fault else 0.0
        # Sporadic [N/A] cells: a reading can drop out for one sample on any board.
        for f in ("temperature_c", "power_w", "util_gpu_pct", "sm_clock_mhz", "fan_pct"):
            if row[f] is not None and rng.random() < 0.003:
                row[f] = None
        for f in FIELDS:
            cols[f].append(row[f])

    uuid = "GPU-" + "-".join(
        "".join(f"{int(x):x}" for x in rng.integers(0, 16, size=k)) for k in (8, 4, 4, 4, 12))
    host = f"node-{int(rng.integers(1, 400)):03d}"
    tags = {"host": host, "gpu_uuid": uuid, "gpu_index": str(int(rng.integers(0, 8))), "model": prof["name"]}
    fields = {f: v for f, v in cols.items() if any(x is not None for x in v)}
    return {"id": trace_id, "kind": fault or "healthy", "profile": profile, "device": uuid, "tags": tags,
            "t0_ms": t0_ms, "ts_ms": ts_ms, "fields": fields, "onset": onset}


def healthy_traces(seed: int, count: int, n_range=(600, 2400), prefix="h") -> list[dict]:
    rng = np.random.default_rng(seed)
    return [make_trace(rng, f"{prefix}{seed}-{i}", int(rng.integers(*n_range))) for i in range(count)]


def fault_traces(seed: int, per_fault: int, warm_range=(200, 500), fault_range=(60, 180), prefix="f") -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for fault in FAULTS:
        for i in range(per_fault):
            warm = int(rng.integers(*warm_range))
            flen = int(rng.integers(*fault_range))
            out.append(make_trace(rng, f"{prefix}{seed}-{fault}-{i}", warm + flen, fault=fault, onset=warm))
    return out


def trace_points(tr: dict) -> list[dict]:
    """Expand a columnar trace into points shaped like lib/point.ts (ts as ns decimal string)."""
    pts = []
    names = list(tr["fields"])
    for i, off in enumerate(tr["ts_ms"]):
        fields = {}
        for f in names:
            v = tr["fields"][f][i]
            if v is not None:
                fields[f] = v
        pts.append({"device": tr["device"], "ts": str((tr["t0_ms"] + off) * 1_000_000), "tags": tr["tags"],
                    "fields": fields})
    return pts


def trace_labels(tr: dict) -> list[str]:
    n = len(tr["ts_ms"])
    if tr["onset"] is None:
        return ["healthy"] * n
    return ["healthy" if i < tr["onset"] else tr["kind"] for i in range(n)]
