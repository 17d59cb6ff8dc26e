"""The Numba side of benches/numpy_baseline.py: a compiled per-path, per-step kernel.

One SplitMix64 draw (a 53-bit integer uniform) per eligible event per step against the integer
threshold floor(p' 2^53); the eligible events, their thresholds and the outcome hazards are
recomputed only when the event set changes; windows are checked per step; one draw decides
whether an outcome happens (against floor((1 - prod(1 - h)) 2^53)) and one which. This is the
per-step reference kernel of benches/suite.rs written in Python. One thread. The model's arrays
come from `numpy_baseline.numba_arrays`; compiled code is cached on disk (__pycache__).
"""

import math

import numpy as np
from numba import njit

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
S30 = np.uint64(30)
S27 = np.uint64(27)
S31 = np.uint64(31)
S11 = np.uint64(11)
ONE = np.uint64(1)
ZERO = np.uint64(0)
ONE53 = 9007199254740992.0


@njit(cache=True, inline="always")
def mix(z):
    z = (z ^ (z >> S30)) * M1
    z = (z ^ (z >> S27)) * M2
    return z ^ (z >> S31)


@njit(cache=True, inline="always")
def odds_to_p(o):
    """p' from the odds (1 when they overflow)."""
    if math.isinf(o):
        return 1.0
    return o / (1.0 + o)


@njit(cache=True)
def run(paths, seed, horizon, comb, have, starts,
        e_p, e_fixed, e_odds, e_first, e_last, e_when, e_ms, e_mc, e_mf,
        o_p, o_fixed, o_odds, o_first, o_last, o_when, o_ms, o_mc, o_mf, o_index,
        r_cond, r_out, default, n_outcomes):
    E = e_p.size
    Oh = o_p.size
    outcome_counts = np.zeros(n_outcomes, dtype=np.int64)
    event_counts = np.zeros(E, dtype=np.int64)
    n_conditions = starts.size - 1
    held = np.zeros(n_conditions, dtype=np.bool_)
    elig = np.zeros(E, dtype=np.int64)  # the events that can still happen, and their thresholds
    thr = np.zeros(E, dtype=np.uint64)
    h = np.zeros(Oh)
    state = mix(np.uint64(seed) + GOLDEN)
    for _path in range(paths):
        S = ZERO
        outcome = -1
        dirty = True
        n_elig = 0
        for t in range(1, horizon + 1):
            if dirty:
                # The event set changed: which conditions hold, the eligible events and their
                # thresholds, the outcome hazards. (Written out, not as helper functions taking
                # arrays: Numba would count references to the arrays at every call.)
                for c in range(n_conditions):
                    ok = False
                    for k in range(starts[c], starts[c + 1]):
                        if (S & comb[k]) == have[k]:
                            ok = True
                            break
                    held[c] = ok
                n_elig = 0
                for i in range(E):
                    if ((S >> np.uint64(i)) & ONE) != ZERO or not held[e_when[i]]:
                        continue
                    q = e_p[i]
                    if not e_fixed[i]:
                        f = 1.0
                        for k in range(e_ms[i], e_ms[i + 1]):
                            if held[e_mc[k]]:
                                f *= e_mf[k]
                        if f != 1.0:
                            q = odds_to_p(e_odds[i] * f)
                    if q > 0.0:
                        elig[n_elig] = i
                        thr[n_elig] = np.uint64(q * ONE53)
                        n_elig += 1
                for i in range(Oh):
                    q = 0.0
                    if held[o_when[i]]:
                        q = o_p[i]
                        if not o_fixed[i]:
                            f = 1.0
                            for k in range(o_ms[i], o_ms[i + 1]):
                                if held[o_mc[k]]:
                                    f *= o_mf[k]
                            if f != 1.0:
                                q = odds_to_p(o_odds[i] * f)
                    h[i] = q
                dirty = False
            new = ZERO
            for j in range(n_elig):
                i = elig[j]
                if e_first[i] <= t and t <= e_last[i]:
                    state += GOLDEN
                    if (mix(state) >> S11) < thr[j]:
                        new |= ONE << np.uint64(i)
            none = 1.0
            total = 0.0
            for k in range(Oh):
                if h[k] > 0.0 and o_first[k] <= t and t <= o_last[k]:
                    none *= 1.0 - h[k]
                    total += h[k]
            if total > 0.0:
                state += GOLDEN
                if (mix(state) >> S11) < np.uint64((1.0 - none) * ONE53):
                    state += GOLDEN
                    point = float(mix(state) >> S11) / ONE53 * total
                    for k in range(Oh):
                        if h[k] > 0.0 and o_first[k] <= t and t <= o_last[k]:
                            outcome = o_index[k]
                            if point < h[k]:
                                break
                            point -= h[k]
                    S |= new
                    break
            if new != ZERO:
                S |= new
                dirty = True
        if outcome < 0:
            outcome = default
            for r in range(r_cond.size):
                c = r_cond[r]
                ok = False
                for k in range(starts[c], starts[c + 1]):
                    if (S & comb[k]) == have[k]:
                        ok = True
                        break
                if ok:
                    outcome = r_out[r]
                    break
        outcome_counts[outcome] += 1
        for i in range(E):
            if ((S >> np.uint64(i)) & ONE) != ZERO:
                event_counts[i] += 1
    return outcome_counts, event_counts
