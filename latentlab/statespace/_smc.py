"""Compiled particle filter and backward-simulation smoother (numba).

A model is given by five scalar functions compiled with ``numba.njit`` (see
:class:`latentlab.statespace.ParticleModel`), each taking the parameter vector
``theta`` first; they are passed to the kernels as arguments, so one kernel
serves every model (numba compiles it once per model and process: a kernel
that takes functions as arguments cannot be cached on disk, numba issue
#2956, so those kernels are compiled anew in each process, a few seconds
per model). Random numbers come
from the caller's :class:`numpy.random.Generator`, so a run is reproducible
from ``random_state``: the filter draws its standard normals (the model's
noise, ``x_t = F(x_{t-1}, t, z_t)``) and uniforms from that Generator inside
the kernel (numba implements numpy's Generator with numpy's streams), and
the smoother, which needs an unbounded number of uniforms, uses an inline
xoshiro256** generator seeded from it.

Bootstrap particle filter (Gordon, Salmond & Smith 1993), resampling at every
step by systematic resampling (Kitagawa 1996; Carpenter, Clifford & Fearnhead
1999). With ``N`` particles ``x_t^i`` and weights ``w_t^i = g(y_t | x_t^i)``,

    x_1^i ~ mu(.),    x_t^i ~ f(. | x_{t-1}^{a_t^i}, t),
    log p^(y_{1:T}) = sum_t log( (1/N) sum_i w_t^i ),

an unbiased estimate of the likelihood (Del Moral 2004). The filter keeps every
``(x_t^i, W_t^i)`` (normalised weights), ``O(T N)`` memory, for the smoother;
:func:`filter_loglik` runs it in ``O(N)`` memory for the log-likelihood alone.
(Single-run variance estimates from the particles' genealogy, Chan & Lai 2013
and Lee & Whiteley 2018, assume multinomial resampling; with systematic
resampling they understated the spread of independent runs in our trials, so
the callers use independent runs instead.)

Backward simulation smoother, FFBSi (Godsill, Doucet & West 2004): a
trajectory ends at ``x_T^j ~ W_T`` and steps back by drawing ``x_t`` among the
filter's particles with probability ``W_t^i f(x_{t+1} | x_t^i, t+1)``. The draw
uses the rejection sampler of Douc, Garivier, Moulines & Olsson (2011):
propose ``i ~ W_t`` and accept with probability ``f(x_{t+1} | x_t^i) / B_t``,
``B_t`` an upper bound of the transition density, for an ``O(N)`` expected cost
over ``N`` trajectories when the proposals are accepted often. The
acceptance rate has a heavy lower tail where an observation is an outlier
(on stochastic volatility a few draws in a hundred need hundreds of
proposals), so rejection alone has an unbounded cost; as in the hybrid
of Taghavi, Lindsten, Svensson & Schön (2013), the exact backward weights
(``O(N)``) take over when rejection has cost as much, so every draw is exact and
the cost bounded (:func:`backward_simulation`). The proposals come from an
alias table (Walker 1977; Vose 1991), O(1) each.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["bootstrap_filter", "filter_loglik", "backward_simulation"]


@njit(cache=True)
def _splitmix(x):
    """SplitMix64 (Steele, Lea & Flood 2014): the next state and output."""
    x = x + np.uint64(0x9E3779B97F4A7C15)  # uint64 arithmetic wraps modulo 2^64
    z = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x, z ^ (z >> np.uint64(31))


@njit(cache=True)
def _seeded(seed):
    """A xoshiro256** state (4 uint64) from a 64-bit seed, filled by SplitMix64."""
    state = np.empty(4, dtype=np.uint64)
    x = np.uint64(seed)
    for k in range(4):
        x, state[k] = _splitmix(x)
    return state


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(cache=True, inline="always")
def _uniform(s):
    """A uniform on [0, 1) from xoshiro256** (Blackman & Vigna 2021), 53 bits."""
    result = _rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return (result >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _systematic(W, u, out):
    """Systematic resampling: ``out[i]`` is the index ``k`` with
    ``C_{k-1} < (i + u) / N <= C_k`` (``C`` the cumulative weights)."""
    N = W.shape[0]
    k = 0
    c = W[0]
    for i in range(N):
        target = (i + u) / N
        while c < target and k < N - 1:
            k += 1
            c += W[k]
        out[i] = k


@njit(cache=True)
def _normalise(logw, m, W):
    """``W = exp(logw - m) / sum`` with ``m`` the largest ``logw``; returns
    ``log mean exp(logw)`` (-inf if every weight is 0)."""
    N = logw.shape[0]
    if not m > -np.inf:
        return -np.inf
    s = 0.0
    for i in range(N):
        W[i] = np.exp(logw[i] - m)
        s += W[i]
    scale = 1.0 / s
    for i in range(N):
        W[i] *= scale
    return m + np.log(s / N)


@njit
def _filter(y, theta, rng, sample_initial, sample_transition, log_observation, X, W):
    """The filter's recursion driven by the Generator ``rng``: at each step a
    uniform for systematic resampling (from ``t = 1``), then a standard normal
    per particle (the model's noise). Rows of ``X`` and ``W`` (each (T, N),
    or (2, N) to keep only the current and previous step, row ``t mod 2``)
    hold step ``t``'s particles and normalised weights. Returns the
    log-likelihood estimate and the first time index at which every weight
    was zero (-1 if none)."""
    T, N = y.shape[0], X.shape[1]
    rows = X.shape[0]
    logw = np.empty(N)
    anc = np.empty(N, dtype=np.int64)
    loglik = 0.0
    for i in range(N):
        X[0, i] = sample_initial(theta, rng.standard_normal())
    for t in range(T):
        cur = t % rows
        if t > 0:
            prev = (t - 1) % rows
            _systematic(W[prev], rng.random(), anc)
            for i in range(N):
                X[cur, i] = sample_transition(theta, X[prev, anc[i]], t, rng.standard_normal())
        m = -np.inf
        for i in range(N):
            logw[i] = log_observation(theta, X[cur, i], y[t], t)
            m = max(m, logw[i])
        step = _normalise(logw, m, W[cur])
        if not step > -np.inf:
            return -np.inf, t
        loglik += step
    return loglik, -1


@njit
def bootstrap_filter(y, theta, N, rng, sample_initial, sample_transition, log_observation):
    """Run the filter with ``N`` particles over ``y`` (T,), keeping every step
    for the smoother: the particles ``X`` (T, N), normalised weights ``W`` (T,
    N), the log-likelihood estimate and the first time index at which every
    weight was zero (-1 if none)."""
    X = np.empty((y.shape[0], N))
    W = np.empty((y.shape[0], N))
    loglik, dead = _filter(y, theta, rng, sample_initial, sample_transition, log_observation, X, W)
    return X, W, loglik, dead


@njit
def filter_loglik(y, theta, N, rng, sample_initial, sample_transition, log_observation):
    """The log-likelihood estimate alone (``O(N)`` memory), and the first
    time index at which every weight was zero (-1 if none)."""
    return _filter(y, theta, rng, sample_initial, sample_transition, log_observation,
                   np.empty((2, N)), np.empty((2, N)))


@njit(cache=True)
def _draw_index(cum, u):
    """First index whose cumulative weight exceeds ``u`` (binary search)."""
    lo, hi = 0, cum.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] > u:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True)
def _alias_table(W, prob, alias, small, large):
    """Walker's alias table of the weights ``W`` (summing to 1), built by
    Vose's method in O(N): index ``k`` is drawn as ``i = floor(N u)``, then ``i``
    with probability ``prob[i]``, else ``alias[i]``."""
    N = W.shape[0]
    ns, nl = 0, 0
    for i in range(N):  # written without a branch: its outcome is a coin flip, costly to mispredict
        prob[i] = W[i] * N
        alias[i] = i
        is_small = prob[i] < 1.0
        small[ns] = i
        large[nl] = i
        ns += is_small
        nl += 1 - is_small
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        g = large[nl - 1]
        alias[s] = g
        prob[g] -= 1.0 - prob[s]
        if prob[g] < 1.0:
            nl -= 1
            small[ns] = g
            ns += 1
    for k in range(nl):
        prob[large[k]] = 1.0
    for k in range(ns):
        prob[small[k]] = 1.0


@njit(cache=True)
def _alias_draw(prob, alias, state):
    N = prob.shape[0]
    u = _uniform(state) * N
    i = min(int(u), N - 1)
    return i if u - i < prob[i] else alias[i]


@njit(cache=True, inline="always")
def _accept(u, d):
    """``u <= exp(d)`` for ``d <= 0``, the transcendental avoided where the
    squeeze ``1 + d <= exp(d) <= 1 / (1 - d)`` decides."""
    if u <= 1.0 + d:
        return True
    if u * (1.0 - d) > 1.0:
        return False
    return u <= np.exp(d)


@njit
def _exact_weights(X_t, W_t, theta, nxt, t, log_transition, out):
    """Cumulative backward weights ``W_t^i f(nxt | x_t^i)`` into ``out``,
    unnormalised; returns their total (``nan`` when no particle of positive
    weight can lead to ``nxt``). Computed as ``W_t^i exp(l_i - m)``, ``l_i``
    the log transition density and ``m`` its largest value over the
    particles of positive weight, which needs no logarithm; if every term
    underflows (the best transition belongs to a particle of tiny weight), in
    log space instead, ``exp(log W_t^i + l_i - max)``."""
    N = X_t.shape[0]
    m = -np.inf
    for i in range(N):
        out[i] = log_transition(theta, X_t[i], nxt, t)
        if W_t[i] > 0.0 and out[i] > m:
            m = out[i]
    total = 0.0
    for i in range(N):
        total += W_t[i] * np.exp(out[i] - m)
        out[i] = total
    if total > 1e-250:
        return total
    m = -np.inf
    for i in range(N):
        out[i] = (np.log(W_t[i]) if W_t[i] > 0.0 else -np.inf) + log_transition(theta, X_t[i], nxt, t)
        m = max(m, out[i])
    if not m > -np.inf:
        return np.nan
    total = 0.0
    for i in range(N):
        total += np.exp(out[i] - m)
        out[i] = total
    return total


@njit(cache=True)
def _group_by(idx, N, counts, order):
    """Counting sort: ``order`` lists the trajectories grouped by ``idx`` (their
    particle); ``counts[k]`` becomes the start of particle ``k``'s group
    (``counts`` has N + 1 entries)."""
    counts[:] = 0
    for j in range(idx.shape[0]):
        counts[idx[j] + 1] += 1
    for k in range(N):
        counts[k + 1] += counts[k]
    fill = counts[:N].copy()
    for j in range(idx.shape[0]):
        order[fill[idx[j]]] = j
        fill[idx[j]] += 1


@njit
def backward_simulation(X, W, theta, M, seed, log_transition, transition_bound):
    """``M`` trajectories (M, T) from the filter's ``X``, ``W`` by FFBSi
    (module docstring). At each step the trajectories are grouped by their
    particle ``k`` at ``t + 1`` (they share one backward distribution); a
    group draws by rejection (proposals from an alias table) until it has
    spent ``N`` proposals, and then computes the exact backward weights once
    and draws its remaining members from them: a group never costs more than
    twice the cheaper of the two ways (a ski-rental rule). Also returns the
    share of draws made from exact weights."""
    state = _seeded(seed)
    T, N = X.shape
    paths = np.empty((M, T))
    idx = np.empty(M, dtype=np.int64)  # each trajectory's particle at t + 1
    counts = np.empty(N + 1, dtype=np.int64)
    order = np.empty(M, dtype=np.int64)
    prob = np.empty(N)
    alias = np.empty(N, dtype=np.int64)
    small = np.empty(N, dtype=np.int64)
    large = np.empty(N, dtype=np.int64)
    table = np.empty(N)
    exact = 0
    _alias_table(W[T - 1], prob, alias, small, large)
    for j in range(M):
        idx[j] = _alias_draw(prob, alias, state)
        paths[j, T - 1] = X[T - 1, idx[j]]
    for t in range(T - 2, -1, -1):
        _alias_table(W[t], prob, alias, small, large)
        log_bound = np.log(transition_bound(theta, t + 1))
        _group_by(idx, N, counts, order)
        for k in range(N):
            first, last = counts[k], counts[k + 1]
            if first == last:
                continue
            nxt = X[t + 1, k]
            budget = N
            total = -1.0
            for r in range(first, last):
                j = order[r]
                chosen = -1
                while total < 0.0 and budget > 0:
                    budget -= 1
                    i = _alias_draw(prob, alias, state)
                    if _accept(_uniform(state), log_transition(theta, X[t, i], nxt, t + 1) - log_bound):
                        chosen = i
                        break
                if chosen < 0:
                    if total < 0.0:
                        total = _exact_weights(X[t], W[t], theta, nxt, t + 1, log_transition, table)
                        if not total > 0.0:
                            raise ValueError("backward simulation: no particle of positive weight at a step can "
                                             "lead to the state after it (transition density zero)")
                    exact += 1
                    chosen = _draw_index(table, _uniform(state) * total)
                idx[j] = chosen
                paths[j, t] = X[t, chosen]
    return paths, exact / max(1, M * (T - 1))
