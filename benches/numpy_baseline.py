#!/usr/bin/env python3
"""A vectorised NumPy implementation of the pathcast scenario semantics, for comparison.

This is the program a careful Python analyst would write to simulate a pathcast scenario
(docs/scenario-format.md) without pathcast: it reads the scenario TOML with `tomllib`, turns
every condition into a vectorised boolean expression over per-event boolean arrays, and
simulates the paths in batches, step by step, with one uniform draw per eligible event per
step. It is the "NumPy" side of benches/compare_numpy.sh.

Semantics (one step t of one path, S = the events that happened before t):
  - an event not yet happened is eligible if t is in its window (default 1..horizon) and its
    `when` holds on S; its probability is p with the odds p/(1-p) multiplied by the factor of
    every modifier whose `when` holds on S: p' = pF / (1 - p + pF) (p = 0 and p = 1 unchanged);
  - eligible events happen independently;
  - eligible outcomes (those with a `p`) compete: with probability 1 - prod(1 - h) one of
    them happens, outcome o with probability h_o / sum(h);
  - everything that happened at step t joins S at once; a path ends at its first outcome;
  - a path alive after the horizon gets the outcome of the first horizon rule whose condition
    holds on S, else `horizon.default`.

The random numbers come from NumPy's PCG64 (`np.random.default_rng(seed)`), so the results
are comparable with pathcast statistically, not bit for bit.

Usage:
  python3 benches/numpy_baseline.py SCENARIO.toml [--paths N] [--seed S] [--batch B]
      [--csv FILE] [--json FILE] [--against DIR ...] [--threshold 5]

SCENARIO.toml is best the standalone `scenario.toml` that `pathcast run` writes into its
output folder; a file with `extends` is resolved here too (relative to the file, else from the
repository's scenarios/ folder). `--against DIR` compares the estimates with the
`outcomes.csv` and `events.csv` of a pathcast output folder (a Monte Carlo run, or the folder
of `pathcast exact`, recognised by its empty `count` column) and exits with status 3 when a
difference exceeds the threshold in standard errors.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
RESERVED = {"and", "or", "not", "true", "false"}
TOKEN = re.compile(r"\s*(?:(\()|(\))|([A-Za-z][A-Za-z0-9_]*))")


# --- Scenario ------------------------------------------------------------------------------


def merge(base: dict, layer: dict) -> dict:
    """Deep-merges `layer` over `base`: tables merge key by key, anything else is replaced.

    Python dicts keep insertion order, so a parent's events keep their places and new ones are
    appended, as pathcast numbers them."""
    out = dict(base)
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load_scenario(path: Path, depth: int = 0) -> dict:
    if depth > 16:
        raise SystemExit(f"error: {path}: extends chain deeper than 16 files")
    with open(path, "rb") as f:
        data = tomllib.load(f)
    parent_name = data.pop("extends", None)
    if parent_name is None:
        return data
    candidates = [path.parent / parent_name]
    stem = parent_name[:-5] if parent_name.endswith(".toml") else parent_name
    candidates.append(REPO / "scenarios" / f"{stem}.toml")
    for parent in candidates:
        if parent.is_file():
            return merge(load_scenario(parent, depth + 1), data)
    raise SystemExit(f"error: {path}: extends: no file or preset named {parent_name!r}")


def compile_condition(text: str, event_index: dict[str, int]):
    """Translates a condition into a function of H (a 2-D bool array, one row per event) that
    returns a bool array over the paths (or a NumPy bool scalar for a constant condition).

    Tokens are mapped one by one: an id to its row of H, and/or/not to &, |, ~ and true/false
    to NumPy bool constants. Python's precedence of ~ over & over | is the format's precedence
    of not over and over or. Nothing but these tokens and parentheses gets through."""
    parts = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SystemExit(f"error: condition {text!r}: unexpected character at column {pos + 1}")
        pos = m.end()
        if m.group(1):
            parts.append("(")
        elif m.group(2):
            parts.append(")")
        else:
            word = m.group(3)
            if word == "and":
                parts.append("&")
            elif word == "or":
                parts.append("|")
            elif word == "not":
                parts.append("~")
            elif word == "true":
                parts.append("T")
            elif word == "false":
                parts.append("F")
            elif word in event_index:
                parts.append(f"H[{event_index[word]}]")
            else:
                raise SystemExit(f"error: condition {text!r}: unknown event id {word!r}")
    source = " ".join(parts)
    try:
        fn = eval(  # noqa: S307 - the source holds only the tokens above
            f"lambda H: {source}", {"__builtins__": {}, "T": np.True_, "F": np.False_}
        )
        probe = np.asarray(fn(np.zeros((max(len(event_index), 1), 2), dtype=bool)))
    except Exception as exc:  # a syntax error such as "a b" or "()"
        raise SystemExit(f"error: condition {text!r} is not well formed ({exc})") from None
    if probe.dtype != np.bool_ or probe.shape not in ((), (2,)):
        raise SystemExit(f"error: condition {text!r} is not well formed")
    return fn


@dataclass
class Hazard:
    id: str
    p: float
    window: tuple[int, int]
    when: str | None
    modifiers: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Model:
    id: str
    horizon: int
    seed: int
    events: list[Hazard]
    outcome_ids: list[str]
    outcome_hazards: list[tuple[int, Hazard]]  # (outcome index, hazard) for outcomes with p
    horizon_rules: list[tuple[str, int]]
    horizon_default: int
    conditions: dict[str, object]  # condition text -> compiled function


def build_model(data: dict) -> Model:
    sc = data["scenario"]
    horizon = int(sc["horizon"])
    events_tbl = data.get("events", {})
    outcomes_tbl = data["outcomes"]
    event_index = {eid: i for i, eid in enumerate(events_tbl)}
    conditions: dict[str, object] = {}

    def cond(text: str) -> str:
        if text not in conditions:
            conditions[text] = compile_condition(text, event_index)
        return text

    def hazard(hid: str, tbl: dict) -> Hazard:
        p = float(tbl["p"])
        if not 0.0 <= p <= 1.0:
            raise SystemExit(f"error: {hid}: probability {p} outside [0, 1]")
        window = tuple(tbl.get("window", [1, horizon]))
        when = cond(tbl["when"]) if "when" in tbl else None
        mods = []
        for name, m in tbl.get("modifiers", {}).items():
            factor = float(m["factor"])
            if not (factor > 0 and math.isfinite(factor)):
                raise SystemExit(f"error: {hid}.modifiers.{name}: factor must be > 0")
            mods.append((cond(m["when"]), factor))
        return Hazard(hid, p, (int(window[0]), int(window[1])), when, mods)

    events = [hazard(eid, tbl) for eid, tbl in events_tbl.items()]
    outcome_ids = list(outcomes_tbl)
    outcome_index = {oid: i for i, oid in enumerate(outcome_ids)}
    outcome_hazards = [
        (i, hazard(oid, tbl)) for i, (oid, tbl) in enumerate(outcomes_tbl.items()) if "p" in tbl
    ]
    hz = data["horizon"]
    rules = [(cond(r["when"]), outcome_index[r["outcome"]]) for r in hz.get("rules", [])]
    return Model(
        id=sc["id"],
        horizon=horizon,
        seed=int(sc.get("seed", 0)),
        events=events,
        outcome_ids=outcome_ids,
        outcome_hazards=outcome_hazards,
        horizon_rules=rules,
        horizon_default=outcome_index[hz["default"]],
        conditions=conditions,
    )


# --- Simulation ----------------------------------------------------------------------------


def probability(h: Hazard, holds) -> np.ndarray | float:
    """p' of hazard h on every path (a scalar when no modifier applies anywhere)."""
    if h.p <= 0.0 or h.p >= 1.0 or not h.modifiers:
        return h.p
    factor = None
    for text, f in h.modifiers:
        c = holds(text)
        term = np.where(c, f, 1.0)
        factor = term if factor is None else factor * term
    pf = h.p * factor
    return pf / (1.0 - h.p + pf)


def simulate_batch(model: Model, n: int, rng: np.random.Generator, counts: dict) -> None:
    """Simulates n paths and adds their outcomes and events to `counts`."""
    n_events = len(model.events)
    H = np.zeros((max(n_events, 1), n), dtype=bool)  # H[i, k]: event i happened on path k
    outcome_counts = counts["outcomes"]
    event_counts = counts["events"]

    def finish(rows: np.ndarray, outcome: int | np.ndarray) -> None:
        if isinstance(outcome, np.ndarray):
            outcome_counts[:] += np.bincount(outcome, minlength=len(outcome_counts))
        else:
            outcome_counts[outcome] += rows.sum() if rows.dtype == bool else rows.size
        if n_events:
            event_counts[:] += H[:n_events][:, rows].sum(axis=1)

    for t in range(1, model.horizon + 1):
        if H.shape[1] == 0:
            break
        cache: dict[str, np.ndarray] = {}

        def holds(text: str):
            value = cache.get(text)
            if value is None:
                value = cache[text] = model.conditions[text](H)
            return value

        # 1-2. Ordinary events: eligibility, probability, one uniform per eligible path.
        new_events = []
        for i, h in enumerate(model.events):
            if not h.window[0] <= t <= h.window[1] or h.p <= 0.0:
                continue
            eligible = ~H[i]
            if h.when is not None:
                eligible &= holds(h.when)
            idx = np.flatnonzero(eligible)
            if idx.size == 0:
                continue
            if h.p >= 1.0:
                new_events.append((i, idx))
                continue
            p = probability(h, holds)
            p_idx = p[idx] if isinstance(p, np.ndarray) else p
            new_events.append((i, idx[rng.random(idx.size) < p_idx]))

        # 3. Outcomes compete: one uniform for "one happens", one to choose which.
        live = [
            (o, h)
            for o, h in model.outcome_hazards
            if h.window[0] <= t <= h.window[1] and h.p > 0.0
        ]
        ended = None
        if live:
            hs = np.zeros((len(live), H.shape[1]))
            for k, (_, h) in enumerate(live):
                p = probability(h, holds)
                if h.when is not None:
                    hs[k] = np.where(holds(h.when), p, 0.0)
                else:
                    hs[k] = p
            none = np.prod(1.0 - hs, axis=0)
            idx = np.flatnonzero(none < 1.0)
            hit = idx[rng.random(idx.size) < 1.0 - none[idx]]
            if hit.size:
                cum = np.cumsum(hs[:, hit], axis=0)
                v = rng.random(hit.size) * cum[-1]
                choice = np.minimum((cum <= v).sum(axis=0), len(live) - 1)
                ended = (hit, np.array([o for o, _ in live])[choice])

        # 4. Everything that happened at step t joins S at once; ended paths leave.
        for i, rows in new_events:
            H[i, rows] = True
        if ended is not None:
            rows, outcomes = ended
            finish(rows, outcomes)
            keep = np.ones(H.shape[1], dtype=bool)
            keep[rows] = False
            H = H[:, keep]

    # Horizon: the first rule that holds, else the default.
    if H.shape[1]:
        assigned = np.zeros(H.shape[1], dtype=bool)
        for text, outcome in model.horizon_rules:
            rows = model.conditions[text](H) & ~assigned  # an array even for "true"
            finish(rows, outcome)
            assigned |= rows
        finish(~assigned, model.horizon_default)


def simulate(model: Model, paths: int, seed: int, batch: int) -> dict:
    rng = np.random.default_rng(seed)
    counts = {
        "outcomes": np.zeros(len(model.outcome_ids), dtype=np.int64),
        "events": np.zeros(len(model.events), dtype=np.int64),
    }
    done = 0
    while done < paths:
        n = min(batch, paths - done)
        simulate_batch(model, n, rng, counts)
        done += n
    return counts


# --- Comparison ----------------------------------------------------------------------------


def read_pathcast(folder: Path, name: str, key: str) -> dict[str, tuple[int | None, float]]:
    out = {}
    with open(folder / name, newline="") as f:
        for row in csv.DictReader(f):
            count = int(row["count"]) if row["count"] else None
            out[row[key]] = (count, float(row["probability"]))
    return out


def compare(model, counts, paths, folder: Path, threshold: float, events: bool) -> int:
    """Prints estimates beside pathcast's and returns the number beyond the threshold."""
    n_pc = pathcast_paths(folder)
    tables = [("outcome", "outcomes.csv", model.outcome_ids, counts["outcomes"])]
    if events:
        tables.append(("event", "events.csv", [e.id for e in model.events], counts["events"]))
    flagged = 0
    for kind, name, ids, cnt in tables:
        theirs = read_pathcast(folder, name, kind)
        exact = all(c is None for c, _ in theirs.values())
        other = "exact" if exact else "pathcast"
        print(f"\n{kind:<22} {other:>10} {'numpy':>10} {'diff':>10} {'diff/se':>8}")
        for oid, c in zip(ids, cnt):
            p_np = c / paths
            count_pc, p_pc = theirs[oid]
            if exact:
                var = p_pc * (1 - p_pc) / paths
            else:
                # The count column holds successes; the trials are the run's paths.
                trials = n_pc if n_pc else round(count_pc / p_pc) if p_pc > 0 else paths
                var = p_pc * (1 - p_pc) / trials + p_np * (1 - p_np) / paths
            se = math.sqrt(var)
            z = (p_np - p_pc) / se if se > 0 else (0.0 if p_np == p_pc else math.inf)
            flag = "  <-- beyond %g se" % threshold if abs(z) > threshold else ""
            flagged += bool(flag)
            print(f"{oid:<22} {p_pc:>10.6f} {p_np:>10.6f} {p_np - p_pc:>+10.6f} {z:>+8.2f}{flag}")
    return flagged


def pathcast_paths(folder: Path) -> int | None:
    """The number of paths of a pathcast run, from its manifest (None for exact)."""
    manifest = folder / "manifest.toml"
    if not manifest.is_file():
        return None
    with open(manifest, "rb") as f:
        data = tomllib.load(f)
    paths = data.get("paths")
    return int(paths) if isinstance(paths, int) else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", type=Path)
    ap.add_argument("--paths", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=None, help="default: the scenario's seed")
    ap.add_argument("--batch", type=int, default=1_000_000, help="paths per batch")
    ap.add_argument("--csv", type=Path, help="write kind,id,count,probability here")
    ap.add_argument("--json", type=Path, help="write paths, seconds and estimates here")
    ap.add_argument("--against", type=Path, action="append", default=[],
                    help="a pathcast output folder to compare with (repeatable)")
    ap.add_argument("--threshold", type=float, default=5.0, help="standard errors")
    ap.add_argument("--no-events", action="store_true", help="compare outcomes only")
    args = ap.parse_args()
    if args.paths < 1 or args.batch < 1:
        ap.error("--paths and --batch must be at least 1")

    model = build_model(load_scenario(args.scenario))
    seed = model.seed if args.seed is None else args.seed
    start = time.perf_counter()
    counts = simulate(model, args.paths, seed, args.batch)
    seconds = time.perf_counter() - start
    rate = args.paths / seconds

    print(f"numpy {np.__version__}: {model.id}, {args.paths} paths, seed {seed}, "
          f"batch {args.batch}: {seconds:.2f} s, {rate:,.0f} paths/s")
    print(f"\n{'outcome':<22} {'count':>10} {'probability':>12} {'se':>10}")
    for oid, c in zip(model.outcome_ids, counts["outcomes"]):
        p = c / args.paths
        print(f"{oid:<22} {c:>10} {p:>12.6f} {math.sqrt(p * (1 - p) / args.paths):>10.6f}")
    assert counts["outcomes"].sum() == args.paths

    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["kind", "id", "count", "probability"])
            for kind, ids, cnt in (("outcome", model.outcome_ids, counts["outcomes"]),
                                   ("event", [e.id for e in model.events], counts["events"])):
                for oid, c in zip(ids, cnt):
                    w.writerow([kind, oid, int(c), f"{c / args.paths:.9f}"])
    if args.json:
        args.json.write_text(json.dumps({
            "scenario": model.id, "paths": args.paths, "seed": seed, "batch": args.batch,
            "seconds": seconds, "paths_per_s": rate, "numpy": np.__version__,
            "outcomes": {o: int(c) for o, c in zip(model.outcome_ids, counts["outcomes"])},
            "events": {e.id: int(c) for e, c in zip(model.events, counts["events"])},
        }, indent=1) + "\n")

    flagged = 0
    for folder in args.against:
        print(f"\nagainst {folder}:")
        flagged += compare(model, counts, args.paths, folder, args.threshold, not args.no_events)
    if args.against:
        print(f"\n{flagged} difference(s) beyond {args.threshold:g} standard errors")
    return 3 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
