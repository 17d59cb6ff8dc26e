#!/usr/bin/env python3
"""pathcast's scenario semantics in NumPy (vectorised over paths) and in Numba (a per-step
kernel), for comparison with pathcast: the other side of benches/compare_numpy.sh.

The model comes from pathcast itself (`pathcast export --json`, docs/json-export.md), so this
file parses no TOML and no condition: every scenario pathcast reads, with `extends` and `--set`
applied, is simulated the same way. A construct it does not implement (a newer
`format_version`, an unknown key, inputs given as distributions) is refused with a message.

One step t of one path, S the set of events that happened before t (docs/scenario-format.md):
an event not yet happened is eligible if t is in its window and its condition holds on S; its
probability is p with the odds multiplied by the factor of each modifier whose condition holds;
eligible events happen independently; eligible outcomes compete (with probability
1 - prod(1 - h) one happens, outcome o with probability h_o / sum h); what happened joins S at
once; a path ends at its first outcome, else at the horizon with the first horizon rule that
holds (or the default).

NumPy ("what a careful analyst writes"): conditions are compiled once to (have, lack) bit masks
and evaluated on a uint64 event set per path; paths go in batches (default 100,000), step by
step; each step draws one 53-bit integer uniform per (path, event) and compares it with the
integer threshold floor(p' 2^53) (0 when the event is not eligible), so a step is a handful of
array operations whatever the scenario; thresholds are recomputed only for the paths whose event
set changed, and for all paths when a window opens or closes. Finished paths are dropped in bulk.

Numba: the same model as flat arrays and a compiled per-path, per-step loop (one SplitMix64
draw per eligible event per step, thresholds recomputed when the event set changes), the way
pathcast's own per-step reference kernel (benches/suite.rs) works; one thread.

Commands (run from the repository root, with the Python of benches/requirements.txt):

  numpy_baseline.py run SCENARIO [--kernel numpy|numba] [--paths N] [--seed S] [--batch B]
      simulate and print the estimates, paths/s and (--json FILE) write them
  numpy_baseline.py check [SCENARIO ...] [--paths N] [--kernel numpy|numba|both]
      each kernel against `pathcast exact` (or, where the solver refuses, a pathcast run of
      --reference-paths paths): every outcome and event within 5 standard errors; exit 3 if
      not. Without SCENARIO: every preset
  numpy_baseline.py bench SCENARIO ... [--seconds S] [--rounds R] [--markdown FILE]
      pathcast (1 thread), NumPy and Numba timed alternately, R rounds each, on each scenario:
      paths/s of the best round and the ratios

SCENARIO is anything `pathcast` accepts (a preset name or a .toml file), or a model .json that
`pathcast export --json` wrote. `--pathcast BIN` (default: $PATHCAST, else
target/release/pathcast) names the binary.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
FORMAT_VERSION = 1
ONE53 = float(1 << 53)
MAX_DNF_TERMS = 4096
DENSE = 0.6  # draw for all pairs when more than this fraction has a threshold
BIT = np.uint64(1) << np.arange(64, dtype=np.uint64)
MAX_TABLE_SLOTS = 6  # items with at most this many modifiers look p' up in a table

if sys.byteorder != "little":  # the event sets are unpacked from their bytes
    raise SystemExit("error: numpy_baseline.py assumes a little-endian machine")


class Refused(Exception):
    """The model holds something this implementation does not simulate."""


# --- The model -------------------------------------------------------------------------------


def pathcast_bin(args) -> str:
    return args.pathcast or os.environ.get("PATHCAST") or str(REPO / "target/release/pathcast")


def export_json(pathcast: str, scenario: str, sets: list[str] | None = None) -> dict:
    """The model of a scenario, as `pathcast export --json` writes it."""
    if scenario.endswith(".json") and Path(scenario).is_file():
        return json.loads(Path(scenario).read_text())
    cmd = [pathcast, "export", scenario, "--json"]
    for s in sets or []:
        cmd += ["--set", s]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"error: {' '.join(cmd)} failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout)


def expect_keys(obj: dict, keys: set[str], where: str) -> None:
    if not isinstance(obj, dict) or set(obj) != keys:
        got = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise Refused(f"{where}: expected the keys {sorted(keys)}, found {got} "
                      f"(a construct this implementation does not know)")


def tree_dnf(tree: dict, negated: bool = False) -> list[tuple[int, int]]:
    """A condition tree in disjunctive normal form, as (have, lack) masks."""
    (kind, value), = tree.items()
    if kind == "const":
        return [(0, 0)] if bool(value) != negated else []
    if kind == "event":
        return [(0, 1 << value)] if negated else [(1 << value, 0)]
    if kind == "not":
        return tree_dnf(value, not negated)
    if (kind == "or") != negated:  # a disjunction (or a negated conjunction): concatenate
        return [t for part in value for t in tree_dnf(part, negated)]
    if kind not in ("and", "or"):
        raise Refused(f"unknown condition node {kind!r}")
    terms = [(0, 0)]
    for part in value:
        terms = [(h | h2, l | l2) for h, l in terms for h2, l2 in tree_dnf(part, negated)
                 if (h | h2) & (l | l2) == 0]
        if len(terms) > MAX_DNF_TERMS:
            raise Refused(f"a condition needs more than {MAX_DNF_TERMS} DNF terms")
    return terms


def condition_terms(cond: dict, where: str) -> list[tuple[int, int]]:
    expect_keys(cond, {"text", "dnf", "tree"}, where)
    if cond["dnf"] is None:
        return tree_dnf(cond["tree"])
    terms = []
    for t in cond["dnf"]:
        expect_keys(t, {"have", "lack"}, where)
        terms.append((sum(1 << i for i in t["have"]), sum(1 << i for i in t["lack"])))
    return terms


@dataclass
class Hazard:
    p: float
    window: tuple[int, int]
    when: int  # a condition index (TRUE when the item has none)
    modifiers: list[tuple[int, float]]  # (condition index, factor)


@dataclass
class Model:
    id: str
    horizon: int
    seed: int
    event_ids: list[str]
    outcome_ids: list[str]
    events: list[Hazard]
    hazard_outcomes: list[tuple[int, Hazard]]  # (outcome index, hazard) of outcomes with a p
    rules: list[tuple[int, int]]  # (condition index, outcome index)
    default: int
    conditions: list[list[tuple[int, int]]]  # DNF terms; index 0 is TRUE


def load_model(doc: dict) -> Model:
    """Checks a `pathcast export --json` document and compiles its conditions to masks."""
    expect_keys(doc, {"format", "format_version", "id", "step", "horizon", "seed", "paths",
                      "events", "outcomes", "horizon_rules", "horizon_default", "uncertain"},
                "model")
    if doc["format"] != "pathcast-model" or doc["format_version"] != FORMAT_VERSION:
        raise Refused(f"model format {doc['format']!r} version {doc['format_version']}; this "
                      f"implementation reads pathcast-model version {FORMAT_VERSION} only")
    if doc["uncertain"]:
        raise Refused("the scenario has uncertain inputs (" + ", ".join(doc["uncertain"]) +
                      "): pathcast averages over their draws, which this implementation does "
                      "not do")
    index: dict[tuple, int] = {((0, 0),): 0}
    conditions: list[list[tuple[int, int]]] = [[(0, 0)]]

    def cond(c: dict | None, where: str) -> int:
        if c is None:
            return 0
        terms = condition_terms(c, where)
        if any(t == (0, 0) for t in terms):
            terms = [(0, 0)]
        key = tuple(sorted(set(terms)))
        if key not in index:
            index[key] = len(conditions)
            conditions.append(list(key))
        return index[key]

    def hazard(item: dict, where: str) -> Hazard:
        mods = []
        for m in item["modifiers"]:
            expect_keys(m, {"name", "when", "factor"}, where)
            mods.append((cond(m["when"], f"{where}.modifiers.{m['name']}"), float(m["factor"])))
        first, last = item["window"]
        return Hazard(float(item["p"]), (int(first), int(last)), cond(item["when"], where), mods)

    item_keys = {"id", "p", "window", "when", "modifiers"}
    events = []
    for e in doc["events"]:
        expect_keys(e, item_keys, f"events.{e.get('id')}")
        events.append(hazard(e, f"events.{e['id']}"))
    outcomes = []
    for i, o in enumerate(doc["outcomes"]):
        expect_keys(o, item_keys, f"outcomes.{o.get('id')}")
        if o["p"] is not None:
            outcomes.append((i, hazard(o, f"outcomes.{o['id']}")))
    rules = []
    for r in doc["horizon_rules"]:
        expect_keys(r, {"when", "outcome"}, "horizon_rules")
        rules.append((cond(r["when"], "horizon_rules"), int(r["outcome"])))
    if len(events) > 64:
        raise Refused("more than 64 events")
    return Model(doc["id"], int(doc["horizon"]), int(doc["seed"]),
                 [e["id"] for e in doc["events"]], [o["id"] for o in doc["outcomes"]],
                 events, outcomes, rules, int(doc["horizon_default"]), conditions)


def adjust_odds(p: float, factor: float) -> float:
    """p with its odds p/(1-p) multiplied by factor, as pathcast computes it (0 and 1 stay)."""
    if p <= 0.0 or p >= 1.0 or factor == 1.0:
        return p
    odds = p / (1.0 - p) * factor
    return 1.0 if math.isinf(odds) else odds / (1.0 + odds)


def segments(model: Model) -> list[tuple[int, int]]:
    """Runs of steps over which no window opens or closes."""
    cuts = {1, model.horizon + 1}
    for h in model.events + [h for _, h in model.hazard_outcomes]:
        cuts |= {h.window[0], h.window[1] + 1}
    cuts = sorted(c for c in cuts if 1 <= c <= model.horizon + 1)
    return [(a, b - 1) for a, b in zip(cuts, cuts[1:])]


# --- NumPy -----------------------------------------------------------------------------------


class NumpyModel:
    """The model as arrays for the vectorised kernel."""

    def __init__(self, m: Model):
        self.m = m
        self.E = len(m.events)
        self.O = len(m.outcome_ids)
        self.Oh = len(m.hazard_outcomes)
        # Conditions, computed item-major (one row per term or condition, one column per
        # path) so that every operation runs along contiguous rows. The distinct terms are
        # literals (row i: event i happened, row 64 + i: it did not, both from the unpacked
        # bits) or products of several literals (S & COMB == HAVE, one row each; a condition
        # with no term, false, gets (COMB 1, HAVE 2), which never holds). Condition c is the
        # OR of the rows TERMS[STARTS[c]:STARTS[c + 1]].
        rows: dict[tuple[int, int], int] = {}
        comb, have, order, starts = [], [], [], []
        for terms in m.conditions:
            starts.append(len(order))
            for h, l in terms or [(2, 1)]:
                if (h, l) not in rows:
                    if (h | l).bit_count() == 1 and h & l == 0:
                        rows[(h, l)] = (h | l).bit_length() - 1 + (64 if l else 0)
                    else:
                        rows[(h, l)] = 128 + len(comb)
                        comb.append(h | l)
                        have.append(h)
                order.append(rows[(h, l)])
        # Only the literal rows some term uses are made: renumber them.
        literals = sorted({r for r in order if r < 128})
        self.POS = np.array([r for r in literals if r < 64], dtype=np.intp)
        self.NEG = np.array([r - 64 for r in literals if r >= 64], dtype=np.intp)
        where = {r: k for k, r in enumerate(literals)}
        order = [where[r] if r < 128 else len(literals) + r - 128 for r in order]
        self.COMB = np.array(comb, dtype=np.uint64)[:, None]
        self.HAVE = np.array(have, dtype=np.uint64)[:, None]
        # Conditions grouped by their number of terms k: (conditions, (n, k) term rows), each
        # group an OR of k gathers (np.logical_or.reduceat is ten times slower here).
        starts.append(len(order))
        by_k: dict[int, list[int]] = {}
        for c in range(len(m.conditions)):
            by_k.setdefault(starts[c + 1] - starts[c], []).append(c)
        self.groups = [(np.array(cs, dtype=np.intp),
                        np.array([order[starts[c]:starts[c + 1]] for c in cs], dtype=np.intp))
                       for k, cs in sorted(by_k.items())]
        self.ev = self._items(m.events, range(self.E))
        self.oc = self._items([h for _, h in m.hazard_outcomes], range(self.Oh))
        # The events whose probability depends on the event set. The others keep their
        # threshold until they happen, when it drops to 0: only the dependent ones (and the
        # outcomes, when they depend on it) are recomputed for a path whose set changed.
        dep = [i for i, h in enumerate(m.events) if h.when != 0 or h.modifiers]
        self.all_dep = len(dep) == self.E
        self.dep = np.array(dep, dtype=np.intp)
        self.ev_dep = self._items([m.events[i] for i in dep], dep)
        self.oc_dep = any(h.when != 0 or h.modifiers for _, h in m.hazard_outcomes)
        self.outcome_index = np.array([o for o, _ in m.hazard_outcomes], dtype=np.intp)
        self.segments = []
        for a, b in segments(m):
            win_e = np.array([h.window[0] <= a <= h.window[1] for h in m.events], dtype=bool)
            win_o = np.array([h.window[0] <= a <= h.window[1] for _, h in m.hazard_outcomes],
                             dtype=bool)
            self.segments.append((a, b, win_e, win_o))
        self.needs_conditions = any(
            it["when_any"] or it["slots"] for it in (self.ev, self.oc)) or False

    def _items(self, hazards: list[Hazard], columns) -> dict:
        n = len(hazards)
        p = np.array([h.p for h in hazards], dtype=float)
        fixed = (p <= 0.0) | (p >= 1.0)  # odds modifiers keep 0 and 1
        with np.errstate(divide="ignore"):
            odds = np.where(fixed, 0.0, p / np.where(fixed, 1.0, 1.0 - p))
        slots = max((len(h.modifiers) for h in hazards), default=0)
        mod_cond = np.zeros((slots, n), dtype=np.intp)  # padding: TRUE with factor 1
        mod_factor = np.ones((slots, n))
        for i, h in enumerate(hazards):
            for j, (c, f) in enumerate(h.modifiers):
                mod_cond[j, i], mod_factor[j, i] = c, f
        # With few modifiers, p' is looked up: table[i, code] where bit `slots` of the code
        # says whether item i's condition holds and bit j whether its modifier j does.
        table = None
        if 0 < slots <= MAX_TABLE_SLOTS:
            table = np.zeros((n, 2 ** (slots + 1)))
            for i, h in enumerate(hazards):
                for code in range(2 ** slots, 2 ** (slots + 1)):
                    f = 1.0
                    for j, (_, factor) in enumerate(h.modifiers):
                        if code >> j & 1:
                            f *= factor
                    table[i, code] = adjust_odds(h.p, f)
        return {
            "table": table, "offsets": (np.arange(n) * (2 ** (slots + 1)))[:, None],
            "n": n, "columns": np.array(list(columns), dtype=np.intp), "p": p, "fixed": fixed,
            "any_fixed": bool(fixed.any()), "odds": odds,
            "when": np.array([h.when for h in hazards], dtype=np.intp),
            "when_any": any(h.when != 0 for h in hazards),
            "slots": slots, "mod_cond": mod_cond, "mod_factor": mod_factor,
        }

    def bits(self, S: np.ndarray) -> np.ndarray:
        """(64, paths) bool: row i, whether event i is in each set."""
        b = np.unpackbits(np.ascontiguousarray(S.view(np.uint8).reshape(S.size, 8).T), axis=0,
                          bitorder="little")
        return b.view(bool)

    def holds(self, S: np.ndarray, bits: np.ndarray) -> np.ndarray:
        """(conditions, paths) bool: which conditions hold on each event set."""
        terms = np.empty((self.POS.size + self.NEG.size + self.COMB.size, S.size), dtype=bool)
        k = self.POS.size
        terms[:k] = bits[self.POS]
        np.logical_not(bits[self.NEG], out=terms[k:k + self.NEG.size])
        if self.COMB.size:
            np.equal(S & self.COMB, self.HAVE, out=terms[k + self.NEG.size:])
        held = np.empty((len(self.m.conditions), S.size), dtype=bool)
        for conds, term_rows in self.groups:
            h = terms[term_rows[:, 0]]
            for j in range(1, term_rows.shape[1]):
                np.logical_or(h, terms[term_rows[:, j]], out=h)
            held[conds] = h
        return held

    def probabilities(self, it: dict, held: np.ndarray | None, m: int) -> np.ndarray:
        """(items, paths) float: p' with the odds modifiers, 0 where `when` fails."""
        if it["table"] is not None:
            slots = it["slots"]
            code = held[it["when"]].view(np.uint8)  # a gather: a new array
            code <<= slots
            for j in range(slots):
                bit = held[it["mod_cond"][j]].view(np.uint8)
                if j:
                    bit <<= j
                code |= bit
            return np.take(it["table"], it["offsets"] + code)
        if it["slots"]:
            factor = np.where(held[it["mod_cond"][0]], it["mod_factor"][0][:, None], 1.0)
            for j in range(1, it["slots"]):
                factor *= np.where(held[it["mod_cond"][j]], it["mod_factor"][j][:, None], 1.0)
            odds = it["odds"][:, None] * factor
            p = odds / (1.0 + odds)
            if it["any_fixed"]:
                p = np.where(it["fixed"][:, None], it["p"][:, None], p)
        else:
            p = np.broadcast_to(it["p"][:, None], (it["n"], m))
        if it["when_any"]:
            p = np.where(held[it["when"]], p, 0.0)
        return p

    def state(self, S: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        bits = self.bits(S)
        return bits, (self.holds(S, bits) if self.needs_conditions else None)

    def hazards(self, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Event thresholds (paths, E) uint64, floor(p' 2^53), 0 for an event that happened or
        is not eligible; outcome hazards (paths, Oh) float. Windows are applied by the caller."""
        bits, held = self.state(S)
        T = np.ascontiguousarray(self.thresholds(self.ev, bits, held))
        h = np.ascontiguousarray(self.outcome_hazards(held, S.size))
        return T, h

    def thresholds(self, it: dict, bits: np.ndarray, held: np.ndarray | None) -> np.ndarray:
        """(paths, items) floor(p' 2^53) of the events of `it` (all events, or the dependent
        ones), 0 for those that happened (a transposed view)."""
        T = (self.probabilities(it, held, bits.shape[1]) * ONE53).astype(np.uint64)
        np.putmask(T, bits[it["columns"]], 0)
        return T.T

    def outcome_hazards(self, held: np.ndarray | None, m: int) -> np.ndarray:
        """(paths, Oh) float (a transposed view)."""
        return np.array(self.probabilities(self.oc, held, m), dtype=float).T

    def horizon(self, S: np.ndarray) -> np.ndarray:
        out = np.full(S.size, self.m.default, dtype=np.intp)
        if self.m.rules:
            held = self.holds(S, self.bits(S))
            for c, o in reversed(self.m.rules):  # the first rule that holds wins
                out[held[c]] = o
        return out


def event_bits(S: np.ndarray, E: int) -> np.ndarray:
    """How many of the sets S hold each event."""
    if S.size == 0 or E == 0:
        return np.zeros(E, dtype=np.int64)
    bits = np.unpackbits(S.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    return bits[:, :E].sum(axis=0, dtype=np.int64)


def pad_to_u64(packed: np.ndarray, pad: np.ndarray) -> np.ndarray:
    """Bytes of packed bits (paths, up to 8) as one uint64 per path."""
    buf = pad[:packed.shape[0]]
    buf[:, :packed.shape[1]] = packed
    return buf.view(np.uint64)[:, 0]


def any_threshold(h: np.ndarray) -> np.ndarray:
    """floor((1 - prod(1 - h)) 2^53) per path: one integer draw decides whether an outcome
    happens."""
    if h.shape[1] == 0:
        return np.zeros(h.shape[0], dtype=np.uint64)
    return ((1.0 - np.prod(1.0 - h, axis=1)) * ONE53).astype(np.uint64)


def simulate_numpy(nm: NumpyModel, paths: int, seed: int, batch: int) -> dict:
    rng = np.random.default_rng(seed)
    bitgen = rng.bit_generator
    E, Oh = nm.E, nm.Oh
    outcome_counts = np.zeros(nm.O, dtype=np.int64)
    event_counts = np.zeros(E, dtype=np.int64)
    pad = np.zeros((batch, 8), dtype=np.uint8)  # packed new events, as one uint64 per path

    def finish(S_end: np.ndarray, outcomes: np.ndarray) -> None:
        outcome_counts[:] += np.bincount(outcomes, minlength=nm.O)
        event_counts[:] += event_bits(S_end, E)

    done = 0
    while done < paths:
        n = min(batch, paths - done)
        done += n
        S = np.zeros(n, dtype=np.uint64)
        T_base, h_base = nm.hazards(S[:1])  # every path starts from the empty set
        T_base, h_base = np.tile(T_base, (n, 1)), np.tile(h_base, (n, 1))
        live = np.ones(n, dtype=bool)
        dead = 0
        for first, last, win_e, win_o in nm.segments:
            all_e, all_o = win_e.all(), win_o.all()
            T = T_base if all_e else T_base * win_e
            h = h_base if all_o else h_base * win_o
            T_any = any_threshold(h)
            for _t in range(first, last + 1):
                rows = S.size
                if rows == 0:
                    break
                # 1-2. A 53-bit integer uniform against the threshold for every (path, event)
                # pair with a threshold above 0: all pairs at once when most are eligible,
                # else only the eligible ones (events that happened or wait for a condition
                # draw nothing).
                if E:
                    dense = np.count_nonzero(T) > DENSE * T.size
                    if dense:
                        u = bitgen.random_raw(rows * E).reshape(rows, E)
                        np.right_shift(u, 11, out=u)
                        hits = u < T
                    if dense and E % 8 == 0:  # packbits is fast on whole bytes only
                        packed = np.packbits(hits, axis=1, bitorder="little")
                        new = packed.view(np.uint64)[:, 0] if E == 64 else pad_to_u64(packed, pad)
                    else:
                        if dense:
                            hit = np.flatnonzero(hits)
                        else:
                            pairs = np.flatnonzero(T != 0)  # 4 times faster than on T
                            u = bitgen.random_raw(pairs.size)
                            np.right_shift(u, 11, out=u)
                            hit = pairs[u < T.ravel()[pairs]]
                        # The hits, in order of path: OR the bits of each path's run.
                        new = np.zeros(rows, dtype=np.uint64)
                        if hit.size:
                            path, event = np.divmod(hit, E)
                            first = np.flatnonzero(np.diff(path, prepend=-1))
                            new[path[first]] = np.bitwise_or.reduceat(BIT[event], first)
                        dense = False
                # 3. Outcomes compete: one draw for "one happens", one for which.
                if Oh:
                    v = bitgen.random_raw(rows)
                    np.right_shift(v, 11, out=v)
                    ended = np.flatnonzero(v < T_any)
                    if ended.size:
                        hh = h[ended]
                        cum = np.cumsum(hh, axis=1)
                        pick = rng.random(ended.size) * cum[:, -1]
                        which = np.minimum((cum <= pick[:, None]).sum(axis=1), Oh - 1)
                        S_end = S[ended] | new[ended] if E else S[ended]
                        finish(S_end, nm.outcome_index[which])
                        live[ended] = False
                        dead += ended.size
                        # Nothing of a finished path may happen again, in any segment.
                        T_any[ended] = 0
                        h_base[ended] = 0.0
                        h[ended] = 0.0
                        if E:
                            T_base[ended] = 0
                            T[ended] = 0
                            new[ended] = 0
                # 4. What happened joins S at once: an event that happened cannot happen
                # again; the dependent thresholds and hazards of changed paths are recomputed.
                if E:
                    if dense:
                        np.putmask(T_base, hits, 0)
                        if T is not T_base:
                            np.putmask(T, hits, 0)
                    else:
                        assert T_base.flags.c_contiguous and T.flags.c_contiguous
                        T_base.ravel()[hit] = 0  # a view
                        if T is not T_base:
                            T.ravel()[hit] = 0
                    changed = np.flatnonzero(new)
                    if changed.size:
                        S[changed] |= new[changed]
                        if nm.dep.size or (Oh and nm.oc_dep):
                            bits, held = nm.state(S[changed])
                        if nm.dep.size:
                            Tc = nm.thresholds(nm.ev_dep, bits, held)
                            if nm.all_dep:
                                T_base[changed] = Tc
                            else:
                                T_base[changed[:, None], nm.dep] = Tc
                            if T is not T_base:
                                T[changed[:, None], nm.dep] = Tc * win_e[nm.dep]
                        if Oh and nm.oc_dep:
                            hc = nm.outcome_hazards(held, changed.size)
                            h_base[changed] = hc
                            if h is not h_base:
                                hc = hc * win_o
                                h[changed] = hc
                            T_any[changed] = any_threshold(hc)
                # Finished paths leave in bulk, once they are a quarter of the rows.
                if dead * 4 > rows:
                    keep = np.flatnonzero(live)
                    S, live, T_base, h_base, T_any = (
                        S[keep], live[keep], T_base[keep], h_base[keep], T_any[keep])
                    T = T_base if all_e else T[keep]
                    h = h_base if all_o else h[keep]
                    dead = 0
        # The horizon: the first rule that holds, else the default.
        if dead:
            keep = np.flatnonzero(live)
            S = S[keep]
        finish(S, nm.horizon(S))
    assert outcome_counts.sum() == paths
    return {"outcomes": outcome_counts, "events": event_counts}


# --- Numba -----------------------------------------------------------------------------------


def numba_arrays(m: Model) -> tuple:
    comb, have, starts = [], [], []
    for terms in m.conditions:
        starts.append(len(comb))
        for h, l in terms or [(2, 1)]:
            comb.append(h | l)
            have.append(h)
    starts.append(len(comb))

    def items(hazards: list[Hazard]) -> list[np.ndarray]:
        p = np.array([h.p for h in hazards], dtype=np.float64)
        fixed = (p <= 0.0) | (p >= 1.0)
        odds = np.array([0.0 if f else x / (1.0 - x) for x, f in zip(p, fixed)])
        ms = np.cumsum([0] + [len(h.modifiers) for h in hazards]).astype(np.int64)
        mc = np.array([c for h in hazards for c, _ in h.modifiers], dtype=np.int64)
        mf = np.array([f for h in hazards for _, f in h.modifiers], dtype=np.float64)
        return [p, fixed, odds,
                np.array([h.window[0] for h in hazards], dtype=np.int64),
                np.array([h.window[1] for h in hazards], dtype=np.int64),
                np.array([h.when for h in hazards], dtype=np.int64), ms, mc, mf]

    return (np.array(comb, dtype=np.uint64), np.array(have, dtype=np.uint64),
            np.array(starts, dtype=np.int64), *items(m.events),
            *items([h for _, h in m.hazard_outcomes]),
            np.array([o for o, _ in m.hazard_outcomes], dtype=np.int64),
            np.array([c for c, _ in m.rules], dtype=np.int64),
            np.array([o for _, o in m.rules], dtype=np.int64),
            m.default, len(m.outcome_ids))


def simulate_numba(m: Model, arrays: tuple, paths: int, seed: int) -> dict:
    import numba_kernel  # beside this file; imported here so that NumPy runs without Numba

    outcomes, events = numba_kernel.run(paths, seed, m.horizon, *arrays)
    return {"outcomes": outcomes, "events": events}


# --- Running a kernel ------------------------------------------------------------------------


class Simulator:
    """One kernel on one model, ready to time."""

    def __init__(self, model: Model, kernel: str, batch: int):
        self.model, self.kernel, self.batch = model, kernel, batch
        if kernel == "numpy":
            self.nm = NumpyModel(model)
        elif kernel == "numba":
            self.arrays = numba_arrays(model)
            simulate_numba(model, self.arrays, 10, 1)  # compile (or load the cache) now
        else:
            raise SystemExit(f"error: unknown kernel {kernel!r}")

    def run(self, paths: int, seed: int) -> tuple[dict, float]:
        start = time.perf_counter()
        if self.kernel == "numpy":
            counts = simulate_numpy(self.nm, paths, seed, min(self.batch, paths))
        else:
            counts = simulate_numba(self.model, self.arrays, paths, seed)
        return counts, time.perf_counter() - start


def versions() -> str:
    out = f"Python {platform.python_version()}, NumPy {np.__version__}"
    try:
        import numba
        out += f", Numba {numba.__version__}"
    except ImportError:
        out += ", no Numba"
    return out


# --- Comparing with pathcast -----------------------------------------------------------------


def read_table(path: Path, key: str) -> dict[str, tuple[int | None, float]]:
    with open(path, newline="") as f:
        return {r[key]: (int(r["count"]) if r["count"] else None, float(r["probability"]))
                for r in csv.DictReader(f)}


def reference(pathcast: str, scenario: str, folder: Path, paths: int, timeout: float) -> tuple:
    """`pathcast exact`, or a pathcast run of `paths` paths where the solver refuses (or takes
    longer than `timeout`). Returns (what, paths or None, outcomes, events)."""
    try:
        done = subprocess.run([pathcast, "exact", scenario, "--out", str(folder / "exact"),
                               "--quiet"], capture_output=True, text=True, timeout=timeout)
        if done.returncode == 0:
            return ("exact", None, read_table(folder / "exact/outcomes.csv", "outcome"),
                    read_table(folder / "exact/events.csv", "event"))
    except subprocess.TimeoutExpired:
        pass
    done = subprocess.run([pathcast, "run", scenario, "--paths", str(paths), "--out",
                           str(folder / "run"), "--quiet"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"error: pathcast run {scenario} failed:\n{done.stderr.strip()}")
    return (f"pathcast run ({paths:,} paths)", paths,
            read_table(folder / "run/outcomes.csv", "outcome"),
            read_table(folder / "run/events.csv", "event"))


def compare(model: Model, counts: dict, paths: int, ref: tuple, threshold: float,
            verbose: bool) -> tuple[float, str, int]:
    """Each estimate against the reference in standard errors: (largest |z|, where, beyond)."""
    _, ref_paths, ref_outcomes, ref_events = ref
    worst, where, beyond = 0.0, "", 0
    for kind, ids, cnt, table in (("outcome", model.outcome_ids, counts["outcomes"], ref_outcomes),
                                  ("event", model.event_ids, counts["events"], ref_events)):
        for oid, c in zip(ids, cnt):
            p = c / paths
            _, q = table[oid]
            var = q * (1 - q) / paths
            if ref_paths:
                var += q * (1 - q) / ref_paths
            se = math.sqrt(var)
            z = (p - q) / se if se > 0 else (0.0 if p == q else math.inf)
            if abs(z) > threshold:
                beyond += 1
            if abs(z) >= worst:
                worst, where = abs(z), f"{kind} {oid}"
            if verbose or abs(z) > threshold:
                flag = f"  <-- beyond {threshold:g} se" if abs(z) > threshold else ""
                print(f"    {kind:<8} {oid:<24} {q:>10.6f} {p:>10.6f} {z:>+7.2f}{flag}")
    return worst, where, beyond


def presets(pathcast: str) -> list[str]:
    out = subprocess.run([pathcast, "list"], capture_output=True, text=True, check=True).stdout
    names = []
    for line in out.splitlines()[1:]:
        if not line.strip():
            break
        names.append(line.split()[0])
    return names


# --- Commands --------------------------------------------------------------------------------


def cmd_run(args) -> int:
    model = load_model(export_json(pathcast_bin(args), args.scenario, args.set))
    seed = model.seed if args.seed is None else args.seed
    sim = Simulator(model, args.kernel, args.batch)
    counts, seconds = sim.run(args.paths, seed)
    print(f"{args.kernel} ({versions()}): {model.id}, {args.paths:,} paths, seed {seed}: "
          f"{seconds:.2f} s, {args.paths / seconds:,.0f} paths/s")
    for kind, ids, cnt in (("outcome", model.outcome_ids, counts["outcomes"]),
                           ("event", model.event_ids, counts["events"])):
        print(f"\n{kind:<24} {'count':>10} {'probability':>12} {'se':>10}")
        for oid, c in zip(ids, cnt):
            p = c / args.paths
            print(f"{oid:<24} {c:>10} {p:>12.6f} {math.sqrt(p * (1 - p) / args.paths):>10.6f}")
    if args.json:
        args.json.write_text(json.dumps({
            "scenario": model.id, "kernel": args.kernel, "paths": args.paths, "seed": seed,
            "seconds": seconds, "paths_per_s": args.paths / seconds, "versions": versions(),
            "outcomes": dict(zip(model.outcome_ids, map(int, counts["outcomes"]))),
            "events": dict(zip(model.event_ids, map(int, counts["events"]))),
        }, indent=1) + "\n")
    return 0


def cmd_check(args) -> int:
    pathcast = pathcast_bin(args)
    scenarios = args.scenarios or presets(pathcast)
    kernels = ["numpy", "numba"] if args.kernel == "both" else [args.kernel]
    print(f"each kernel's estimates against pathcast ({versions()}); threshold "
          f"{args.threshold:g} standard errors")
    print(f"{'scenario':<22} {'kernel':<6} {'paths':>9} {'seconds':>8} {'max |z|':>8}  "
          f"{'at':<28} reference")
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, scenario in enumerate(scenarios):
            try:
                model = load_model(export_json(pathcast, scenario, args.set))
            except Refused as exc:
                print(f"{Path(scenario).stem:<22} refused: {exc}")
                continue
            folder = Path(tmp) / str(i)
            ref = reference(pathcast, scenario, folder, args.reference_paths, args.exact_timeout)
            for kernel in kernels:
                sim = Simulator(model, kernel, args.batch)
                counts, seconds = sim.run(args.paths, args.seed)
                if args.verbose:
                    print(f"  {model.id} ({kernel}):    kind     id {'reference':>22} "
                          f"{'estimate':>10} {'z':>7}")
                worst, where, beyond = compare(model, counts, args.paths, ref, args.threshold,
                                               args.verbose)
                verdict = "ok" if beyond == 0 else f"{beyond} BEYOND"
                failed += beyond > 0
                print(f"{model.id:<22} {kernel:<6} {args.paths:>9,} {seconds:>8.2f} {worst:>8.2f}"
                      f"  {where:<28} {ref[0]}: {verdict}")
    print("all within the threshold" if not failed else f"{failed} kernel run(s) beyond it")
    return 3 if failed else 0


def time_pathcast(pathcast: str, scenario: str, paths: int, seed: int, out: Path):
    """Wall clock of `pathcast run --threads 1` (start-up and output files included), and the
    simulation time pathcast prints."""
    start = time.perf_counter()
    done = subprocess.run([pathcast, "run", scenario, "--threads", "1", "--paths", str(paths),
                           "--seed", str(seed), "--quiet", "--out", str(out)],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"error: pathcast run {scenario} failed:\n{done.stderr.strip()}")
    m = re.search(r"^(\d+) paths in ([0-9.]+) s", done.stdout, re.M)
    inner = float(m.group(2)) if m else wall
    return wall, inner


def sized(rate: float, seconds: float, least: int) -> int:
    return max(least, int(rate * seconds))


def read_suite_table(path: Path | None) -> dict[str, tuple[float, float, float]]:
    """`cargo bench --bench suite` output: scenario -> (pathcast/s by the method it takes,
    per-step/s, ratio). Its rows: id, method, jumps/s, clocks/s, per-step/s, ratio."""
    out = {}
    if path:
        for line in path.read_text().splitlines():
            f = line.split()
            if len(f) == 6 and re.fullmatch(r"[a-z]+_\d+_\d+", f[0]):
                picked = float(f[2]) if f[1] == "jumps" else float(f[3])
                out[f[0]] = (picked, float(f[4]), float(f[5]))
    return out


def cmd_bench(args) -> int:
    pathcast = pathcast_bin(args)
    kernels = ["numpy"] + ([] if args.no_numba else ["numba"])
    suite = read_suite_table(args.suite_table)
    rows = []
    print(f"{'scenario':<22} {'pathcast/s':>12} {'numpy/s':>10} {'numba/s':>10} "
          f"{'pc/numpy':>9} {'pc/numba':>9}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in args.scenarios:
            model = load_model(export_json(pathcast, scenario))
            sims = {k: Simulator(model, k, args.batch) for k in kernels}
            seed = model.seed
            # Pilot runs size each side to about --seconds per round.
            out = Path(tmp) / model.id  # each run replaces the one before
            wall, _ = time_pathcast(pathcast, scenario, 20_000, seed, out)
            n = {"pathcast": sized(20_000 / wall, args.seconds, 20_000)}
            for k, sim in sims.items():
                pilot = 1_000 if k == "numpy" else 5_000
                _, s = sim.run(pilot, seed)
                # NumPy runs at least a batch of --min-numpy-paths, so that the interpreter's
                # cost per array operation is spread over enough paths.
                least = args.min_numpy_paths if k == "numpy" else pilot
                n[k] = sized(pilot / s, args.seconds, least)
            best = {"pathcast": 0.0, "pathcast_simulation": 0.0, **{k: 0.0 for k in kernels}}
            for r in range(args.rounds):  # alternately, so that load hits all sides alike
                wall, inner = time_pathcast(pathcast, scenario, n["pathcast"], seed + r, out)
                best["pathcast"] = max(best["pathcast"], n["pathcast"] / wall)
                best["pathcast_simulation"] = max(best["pathcast_simulation"],
                                                  n["pathcast"] / inner)
                for k, sim in sims.items():
                    _, s = sim.run(n[k], seed + r)
                    best[k] = max(best[k], n[k] / s)
            row = {"scenario": model.id, "events": len(model.events), "horizon": model.horizon,
                   "paths": n, "batch": min(args.batch, n["numpy"]), **best}
            if model.id in suite:
                row["suite_pathcast"], row["suite_per_step"], row["suite_ratio"] = suite[model.id]
            rows.append(row)
            nb = best.get("numba", math.nan)
            print(f"{model.id:<22} {best['pathcast']:>12,.0f} {best['numpy']:>10,.0f} "
                  f"{nb:>10,.0f} {best['pathcast'] / best['numpy']:>9.1f} "
                  f"{best['pathcast'] / nb:>9.2f}", flush=True)
    ratios = [r["pathcast"] / r["numpy"] for r in rows]
    print(f"pathcast / NumPy: smallest {min(ratios):.1f}, largest {max(ratios):.1f}")
    if "numba" in kernels:
        nb = [r["pathcast"] / r["numba"] for r in rows]
        print(f"pathcast / Numba: smallest {min(nb):.2f}, largest {max(nb):.2f}")
    if args.json:
        args.json.write_text(json.dumps({"versions": versions(), "rows": rows}, indent=1) + "\n")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(rows, bool(suite)))
    return 0


def markdown(rows: list[dict], with_suite: bool) -> str:
    head = ["scenario", "pathcast, 1 thread", "NumPy", "Numba", "pathcast / NumPy",
            "pathcast / Numba"]
    if with_suite:
        head.append("pathcast / per-step Rust (suite bench)")
    out = "| " + " | ".join(head) + " |\n|" + " --- |" * len(head) + "\n"
    for r in rows:
        nb = r.get("numba", math.nan)
        cells = [r["scenario"], f"{r['pathcast']:,.0f}", f"{r['numpy']:,.0f}", f"{nb:,.0f}",
                 f"{r['pathcast'] / r['numpy']:.1f}", f"{r['pathcast'] / nb:.2f}"]
        if with_suite:
            cells.append(f"{r['suite_ratio']:.2f}" if "suite_ratio" in r else "")
        out += "| " + " | ".join(cells) + " |\n"
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pathcast", help="the pathcast binary [$PATHCAST or target/release/pathcast]")
    sub = ap.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="simulate one scenario")
    run.add_argument("scenario")
    run.add_argument("--kernel", choices=["numpy", "numba"], default="numpy")
    run.add_argument("--paths", type=int, default=1_000_000)
    run.add_argument("--seed", type=int, help="default: the scenario's seed")
    run.add_argument("--set", action="append", default=[], help="passed to pathcast export")
    run.add_argument("--json", type=Path, help="write paths, seconds and counts here")

    check = sub.add_parser("check", help="kernels against pathcast exact")
    check.add_argument("scenarios", nargs="*", help="default: every preset")
    check.add_argument("--kernel", choices=["numpy", "numba", "both"], default="both")
    check.add_argument("--paths", type=int, default=200_000)
    check.add_argument("--seed", type=int, default=1)
    check.add_argument("--set", action="append", default=[], help="passed to pathcast export")
    check.add_argument("--threshold", type=float, default=5.0)
    check.add_argument("--reference-paths", type=int, default=2_000_000,
                       help="paths of the pathcast run where the exact solver refuses")
    check.add_argument("--exact-timeout", type=float, default=60.0, help="seconds")
    check.add_argument("--verbose", action="store_true", help="print every comparison")

    bench = sub.add_parser("bench", help="time pathcast, NumPy and Numba")
    bench.add_argument("scenarios", nargs="+")
    bench.add_argument("--seconds", type=float, default=2.0, help="per round and side")
    bench.add_argument("--rounds", type=int, default=3)
    bench.add_argument("--no-numba", action="store_true")
    bench.add_argument("--min-numpy-paths", type=int, default=5_000,
                       help="NumPy's least paths per round (one batch)")
    bench.add_argument("--json", type=Path)
    bench.add_argument("--markdown", type=Path)
    bench.add_argument("--suite-table", type=Path,
                       help="output of `cargo bench --bench suite`, joined by scenario id")

    for p in (run, check, bench):
        p.add_argument("--batch", type=int, default=100_000, help="NumPy paths per batch")
    args = ap.parse_args()
    if getattr(args, "paths", 1) < 1 or args.batch < 1:
        ap.error("--paths and --batch must be at least 1")
    try:
        return {"run": cmd_run, "check": cmd_check, "bench": cmd_bench}[args.command](args)
    except Refused as exc:
        print(f"error: not supported: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
