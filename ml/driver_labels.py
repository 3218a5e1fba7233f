"""Training labels from the driver's own verdicts, not from the simulator's ground truth.

A point is a *verdict* point when the driver (or the board's protection) says something is wrong:
`gpu_recovery_action` other than None, an XID (severity and `resets_needed` from
lib/health/xid-catalog.json — the same catalog the TS rules read), an uncorrectable-ECC increase or
a non-zero volatile count, a row-remap failure, or a thermal/HW slowdown bit. Verdicts that need a
reset stay on until the signal clears (recovery action back to None), as the TS holds do.
A *precursor* point lies within LEAD_S seconds before the start of a slowdown episode on the same
trace: what the model can learn to see before the driver acts. Everything else is `none`.
Only slowdowns get a precursor window: they end a process (heat building up, a fan failing) that
shows in the features beforehand, while an XID or a recovery action reports an event that already
happened. Labelling the minutes before an XID as positive taught the head the workloads of those
traces instead (memory use was its top feature, precursor AUC 0.64 on validation; ml/README.md).

Why these labels: they exist in real fleet data (gpu_health history + the driver's fields), so the
same code can label real captures when the stack has them; the simulator's `kind` does not.
Their limit: the driver is silent on clock collapse, power-cap throttling and SBE storms, so a
`none` point is not known to be healthy — train.py uses them for the precursor head only and keeps
the anomaly thresholds on the simulator's labels (ml/README.md "Labels from the driver").
"""

from __future__ import annotations

import json
from pathlib import Path

CATALOG = json.loads((Path(__file__).resolve().parent.parent / "lib" / "health" / "xid-catalog.json").read_text())
# Seconds before a verdict episode whose points are labelled `precursor`.
LEAD_S = 300.0
# NVML clocks_event_reasons: SW thermal, HW slowdown, HW thermal, HW power brake.
SLOWDOWN_BITS = 0x20 | 0x8 | 0x40 | 0x80

VERDICT, PRECURSOR, NONE = "verdict", "precursor", "none"
# Verdict causes preceded by a measurable process (see the module doc).
PRECURSOR_CAUSES = frozenset({"slowdown"})


def _xid_entry(xid: float) -> dict:
    return CATALOG["xids"].get(str(int(xid)), CATALOG["unknown_xid"])


def point_verdicts(points: list[dict]) -> list[str | None]:
    """Per point of one device (arrival order): the verdict's cause, or None. Sticky where the catalog
    says a reset is needed, until gpu_recovery_action reads None (devices that report it)."""
    out: list[str | None] = []
    hold: str | None = None
    last_dbe = None
    for p in points:
        f = p["fields"]
        ra = f.get("gpu_recovery_action")
        if ra is not None and ra == 0:
            hold = None  # the driver says the GPU is usable again
        cause = None
        if ra is not None and ra != 0:
            cause = hold = "recovery:" + CATALOG["recovery_actions"].get(str(int(ra)), {"name": str(int(ra))})["name"]
        xid = f.get("xid")
        if xid is not None and xid > 0:
            e = _xid_entry(xid)
            if e["severity"] != "healthy":
                cause = cause or f"xid:{e['bucket']}"
                if e["resets_needed"]:
                    hold = hold or f"xid:{e['bucket']}"
        dbe = f.get("ecc_dbe")
        if dbe is not None:
            if last_dbe is not None and dbe > last_dbe:
                cause = cause or "dbe"
                hold = hold or "dbe"
            last_dbe = dbe
        if (f.get("ecc_dbe_volatile") or 0) > 0 or f.get("remapped_rows_failure") == 1:
            cause = cause or "memory"
        if f.get("throttle_thermal") == 1 or f.get("throttle_hw_slowdown") == 1 or \
                int(f.get("throttle_reasons") or 0) & SLOWDOWN_BITS:
            cause = cause or "slowdown"
        out.append(cause or hold)
    return out


def label_points(points: list[dict], lead_s: float = LEAD_S) -> list[str]:
    """VERDICT / PRECURSOR / NONE per point of one device (ts: ns decimal strings, arrival order)."""
    v = point_verdicts(points)
    labels = [VERDICT if c is not None else NONE for c in v]
    ts = [int(p["ts"]) for p in points]
    lead_ns = int(lead_s * 1e9)
    for i, c in enumerate(v):
        if c not in PRECURSOR_CAUSES or (i > 0 and v[i - 1] is not None):
            continue
        j = i - 1
        while j >= 0 and labels[j] == NONE and ts[i] - ts[j] <= lead_ns:
            labels[j] = PRECURSOR
            j -= 1
    return labels
