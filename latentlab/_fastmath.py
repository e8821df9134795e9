"""An exponential for numba kernels that the compiler inlines (the C
library's ``exp`` is an opaque call that costs about four times as much in
the inner loops of the E-steps: 6-8 ns against 1.5 ns on this machine).

``exp(z) = 2^k exp(f)`` with ``k = round(z / log 2)`` and ``|f| <= log(2) / 2``
(Cody & Waite's reduction, ``log 2`` split in two parts so ``f`` is exact), and
``exp(f)`` by its Taylor polynomial of degree 13, whose remainder is below
``(log(2)/2)^14 / 14! < 2e-17``; ``2^k`` is built from its bits. The result is
within 2 units in the last place of the C library's; arguments below -708
(where the result would be subnormal) give ``exp(-708)``, about 3e-308, so
that the function has no branch.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["exp_fast"]

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10


@nb.njit(cache=True, fastmath=True, inline="always")
def exp_fast(z):
    """``exp(z)`` for ``z <= 709`` (module docstring); ``exp(-708)`` below -708."""
    z = max(z, -708.0)
    t = np.floor(z * _LOG2E + 0.5)
    f = z - t * _LN2_HI - t * _LN2_LO
    p = 1.0 + f * (1.0 + f * (0.5 + f * (1.0 / 6 + f * (1.0 / 24 + f * (1.0 / 120 + f * (1.0 / 720 + f * (
        1.0 / 5040 + f * (1.0 / 40320 + f * (1.0 / 362880 + f * (1.0 / 3628800 + f * (1.0 / 39916800 + f * (
            1.0 / 479001600 + f / 6227020800))))))))))))
    return p * np.int64((np.int64(t) + 1023) << 52).view(np.float64)
