"""The progress bar of a fit: one bar for all restarts, with a total that means something.

The bar counts restarts (``n_init`` in all). Within a restart it advances by
how far EM has come towards the convergence rule: EM's change of the
log-likelihood falls about geometrically, so the fraction

    log(change_1 / change_t) / log(change_1 / threshold),   threshold = tol (1 + |loglik|),

grows about linearly in the iterations and reaches 1 at convergence (it never
moves back; with ``tol=0``, or when the change does not fall, it is the share
of ``max_iter`` done). The postfix shows the iteration, the log-likelihood and
its last change. A restart that stops fills its share of the bar, so a
finished fit reads 100%.

``progress=True`` shows the bar; ``False`` never; ``None`` (the default)
shows it in a terminal only, and only once the fit has run for
``AUTO_DELAY`` seconds, so quick fits stay quiet.
"""

from __future__ import annotations

import math

#: seconds a fit with ``progress=None`` runs before its bar appears (in a terminal)
AUTO_DELAY = 3.0


class Progress:
    """The bar of one fit (module docstring); every method is a no-op when hidden."""

    def __init__(self, name: str, n_init: int, tol: float, max_iter: int, show: bool | None):
        self.tol, self.max_iter = tol, max_iter
        self.restart, self.first, self.done = 0, None, 0.0
        self.bar = None
        if show is False:
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=n_init, desc=name, unit="restart", leave=False, mininterval=0.5,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}{postfix}",
            disable=None if show is None else False, delay=AUTO_DELAY if show is None else 0.0,
        )
        if self.bar.disable:  # not a terminal: no per-iteration work at all
            self.bar = None

    def start(self, restart: int) -> None:
        self.restart, self.first, self.done = restart, None, 0.0
        self._show(restart, "starting")

    def update(self, iteration: int, loglik: float, change: float) -> None:
        """After an iteration: advance by the fraction of the way to convergence."""
        if self.bar is None:
            return
        fraction = iteration / self.max_iter
        threshold = self.tol * (1.0 + abs(loglik))
        if change > 0 and threshold > 0:
            self.first = change if self.first is None else self.first
            if self.first > threshold and change < self.first:
                fraction = max(fraction, math.log(self.first / change) / math.log(self.first / threshold))
        self.done = min(max(self.done, fraction), 0.99)
        self._show(self.restart + self.done, f"iteration {iteration}, loglik {loglik:.6f}, change {change:.2e}")

    def finish(self) -> None:
        """The restart stopped (converged, at ``max_iter``, or failed)."""
        self._show(self.restart + 1, "done")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def _show(self, position: float, status: str) -> None:
        """Move the bar; tqdm redraws at most every ``mininterval`` seconds."""
        if self.bar is None:
            return
        self.bar.set_postfix_str(f"restart {self.restart + 1}/{self.bar.total}: {status}", refresh=False)
        self.bar.update(position - self.bar.n)


def counting(items, total: int, desc: str, unit: str, show: bool | None):
    """``items`` with a bar counting them (for loops of many fits, such as
    permutations); ``show`` as for a fit: True, False, or None (a terminal
    only, after ``AUTO_DELAY`` seconds)."""
    if show is False:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, total=total, desc=desc, unit=unit, leave=False, mininterval=0.5, disable=None if show is None
                else False, delay=AUTO_DELAY if show is None else 0.0)
