"""The economics of one promotion: expected incremental units, revenue and margin from the baseline and the lift.

Definitions (the forecast measure is sales *value*, the import's ``sales``; the saved effects are relative
changes of that value). For one store x product x week promoted at discount depth ``d``:

- ``V0`` the baseline sales value of the week (the stored forecast, summed over its days), ``P`` the regular
  price, ``C`` the unit cost, ``U0 = V0 / P`` the baseline units. Without a known price ``P = 1``: units are then
  sales at the regular price.
- the value lift at depth ``d``: ``L(d) = exp(b * d / d_ref) - 1`` where ``b = log(1 + lift)`` is the category's
  log lift at its reference depth ``d_ref`` (the mean depth of its past promotions): log lift proportional to
  depth. Units rise by ``lambda(d) = (1 + L(d)) / (1 - d) - 1`` because every unit now sells at ``P (1 - d)``.
- the post-promotion dip ``delta`` (relative, negative for a dip) acts on the ``post_share`` of a week after
  the promotion (3 days of a daily week: 3/7 of the week's baseline value).

expected incremental margin
    ``dM = lambda(d) U0 (P (1 - d) - C)  -  d P U0  +  delta post_share V0 (1 - C / P)``: the extra units at the
    promoted unit margin, minus the discount given away on the units that would have sold anyway, minus the
    margin lost in the dip.
expected incremental revenue ``dR = L(d) V0 + delta post_share V0``; incremental units ``dU = lambda(d) U0 +
delta post_share U0``; discount cost (the markdown spend a ``--budget`` limits) ``d V0 (1 + L(d)) / (1 - d)``.
"""
from __future__ import annotations

import numpy as np

VALUE_COLUMNS = ("incr_units", "incr_revenue", "incr_margin", "discount_cost")


def lift_at_depth(log_lift, depth, ref_depth):
    """Relative value lift ``exp(log_lift * depth / ref_depth) - 1`` (arrays broadcast)."""
    return np.expm1(np.asarray(log_lift, dtype=float) * np.asarray(depth, dtype=float)
                    / np.asarray(ref_depth, dtype=float))


def promotion_value(baseline, price, unit_cost, depth, log_lift, ref_depth, dip=0.0, post_share=0.0) -> dict:
    """Expected incremental units, revenue, margin and discount cost of promotions (see the module docstring).

    Parameters
    ----------
    baseline, price, unit_cost, depth : array_like
        Per promotion: baseline sales value of the week, regular price, unit cost, discount depth in (0, 1).
    log_lift, ref_depth : array_like
        ``log(1 + lift)`` at the reference depth, and that depth. May carry a trailing draws axis
        (shape ``(n, k)`` against the others' ``(n, 1)``) to evaluate many effect draws at once.
    dip : array_like
        Relative post-promotion change (``-0.05`` = a 5% dip), 0 where none was estimated.
    post_share : array_like
        Share of a week's baseline the dip acts on.

    Returns
    -------
    dict
        ``incr_units, incr_revenue, incr_margin, discount_cost`` arrays.
    """
    v0, p, c, d = (np.asarray(a, dtype=float) for a in (baseline, price, unit_cost, depth))
    lift = lift_at_depth(log_lift, d, ref_depth)
    units0 = v0 / p
    unit_lift = (1.0 + lift) / (1.0 - d) - 1.0
    dip_part = np.asarray(dip, dtype=float) * np.asarray(post_share, dtype=float)
    margin = unit_lift * units0 * (p * (1.0 - d) - c) - d * p * units0 + dip_part * v0 * (1.0 - c / p)
    return {"incr_units": unit_lift * units0 + dip_part * units0,
            "incr_revenue": lift * v0 + dip_part * v0,
            "incr_margin": margin,
            "discount_cost": d * v0 * (1.0 + lift) / (1.0 - d)}
