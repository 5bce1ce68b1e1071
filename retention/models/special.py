"""Special functions the models share.

* :func:`log_hyp2f1_unit_a` — ``log 2F1(1, b; b + gap; z)`` for ``0 <= z < 1`` by Gauss's
  continued fraction, elementwise over arrays: the Pareto/NBD's likelihood integrals and the
  sBG's discounted survival sum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["log_hyp2f1_unit_a"]

#: Default relative change of a step below which a row has converged.
CF_TOL = 1e-15
#: Default number of steps after which rows still running are NaN.
CF_MAX_STEPS = 100_000


def log_hyp2f1_unit_a(b: Any, gap: Any, z: Any, *, tol: float = CF_TOL,
                      max_steps: int = CF_MAX_STEPS) -> np.ndarray:
    """``log 2F1(1, b; b + gap; z)`` elementwise, for ``b, gap > 0`` and ``0 <= z < 1``.

    The function is ``E[1 / (1 - z X)]`` with ``X ~ Beta(b, gap)``. It is evaluated by Gauss's
    continued fraction for ``2F1(a + 1, b; c; z) / 2F1(a, b; c - 1; z)`` at ``a = 0``::

        2F1(1, b; c; z) = 1 / (1 - g_1 z / (1 - g_2 z / (1 - g_3 z / ...))),   c = b + gap,
        g_1 = b / c,  g_{2n+1} = (b + n)(c + n - 1) / ((c + 2n - 1)(c + 2n)),
        g_{2n+2} = (n + 1)(gap + n) / ((c + 2n)(c + 2n + 1)).

    Every ``g`` lies in (0, 1), so the convergents ``A_m / B_m`` (from the recurrences
    ``X_m = X_{m-1} - g_m z X_{m-2}``) are positive and increase to the value, and the fraction
    converges for every ``z < 1``: in about ``15 / sqrt(1 - z)`` steps at worst, where the
    power series needs about ``40 / (1 - z)`` terms. The relative error is of the order of
    ``1e-15 / (1 - z)``: the function is that sensitive to ``z`` near 1. ``gap`` is passed
    instead of ``c`` so that ``c - b`` stays exact when ``b`` is large.

    The convergents are taken from the recurrences rather than with the modified Lentz
    algorithm, whose step factor can settle a few units in the last place away from 1 (e.g.
    for ``b = gap = 0.5``), so that it neither stops nor stops drifting.
    :func:`scipy.special.hyp2f1` is not used: near ``z = 1`` it returns ``inf`` when
    ``gap - 1`` is a whole number (e.g. ``2F1(1, 69; 133; 1/1.0625)``), NaN for some large
    ``b``, wrong finite values (``2F1(1, 1.01; 2.01; 1/1.001)`` comes out negative), and
    loses digits when ``gap`` is a whole number.

    All rows are advanced together; rows that have converged leave the active set.

    Parameters
    ----------
    b, gap, z : float or array-like
        Broadcast together.
    tol : float, default 1e-15
        A row stops when a step changes its value by less than this relative amount.
    max_steps : int, default 100000
        Rows still running after this many steps (``1 - z`` below about
        ``(15 / max_steps) ** 2``) are NaN.

    Returns
    -------
    ndarray
        Shaped like the broadcast inputs (0-d for scalars).

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([0.5])  # 2F1(1, 1; 2; z) = -log(1 - z) / z
    >>> value = np.exp(log_hyp2f1_unit_a(1.0, 1.0, z))
    >>> bool(np.isclose(value[0], -np.log(0.5) / 0.5, rtol=1e-14))
    True
    """
    b, gap, z = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(b, gap, z))
    shape = b.shape
    b, gap, z = b.ravel(), gap.ravel(), z.ravel()
    out = np.zeros(b.shape)
    active = np.flatnonzero(z > 0)
    bb, gg, zz = b[active], gap[active], z[active]
    cc = bb + gg
    num_prev = np.zeros(len(active))
    num = np.ones(len(active))
    den_prev = np.ones(len(active))
    den = np.ones(len(active))
    value = np.ones(len(active))
    m = 0
    while len(active):
        m += 1
        if m > max_steps:  # z too close to 1
            out[active] = np.nan
            break
        if m == 1:
            g = bb / cc
        elif m % 2:
            n = (m - 1) // 2
            g = (bb + n) * (cc + (n - 1.0)) / ((cc + (2.0 * n - 1.0)) * (cc + 2.0 * n))
        else:
            n = (m - 2) // 2
            g = (n + 1.0) * (gg + n) / ((cc + 2.0 * n) * (cc + (2.0 * n + 1.0)))
        step = -g * zz
        num_prev, num = num, num + step * num_prev
        den_prev, den = den, den + step * den_prev
        previous, value = value, num / den
        small = den < 1e-200  # B_m decreases: rescale long before it could underflow
        if small.any():
            scale = np.where(small, den, 1.0)
            num_prev, num, den_prev, den = num_prev / scale, num / scale, den_prev / scale, \
                den / scale
        done = np.abs(value - previous) <= tol * value
        if m % 8 == 0 or done.all():
            if done.any():
                out[active[done]] = np.log(value[done])
                keep = ~done
                active = active[keep]
                bb, gg, zz, cc = bb[keep], gg[keep], zz[keep], cc[keep]
                num_prev, num, den_prev, den = num_prev[keep], num[keep], den_prev[keep], \
                    den[keep]
                value = value[keep]
    return out.reshape(shape)
