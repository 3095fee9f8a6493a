"""Cancellations and returns in order lines: found, matched to the sale they undo, and netted from it.

A line is a return when its quantity is negative or its order id starts with the returns prefix (``C`` in many
shop exports); its quantity and revenue are then made negative. Each return is matched to sale lines of the
same product, in this order of preference:

1. the order it refers to: the return's order id without the prefix (``C1001`` -> ``1001``), or its own order
   (a negative line inside the original order);
2. the same customer's most recent earlier sales of the product, at most :data:`RETURN_WINDOW_DAYS` before.

Units are allocated greedily (most recent sale first) up to what each sale line has left, so one return can undo
several sale lines and no sale is undone twice. Matched units and their share of the return's revenue are netted
from the sale's own day (a cancelled order was not demand); the part of a return with no sale in the data is
kept in the order lines, counted and reported, and not subtracted from any day.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

RETURN_WINDOW_DAYS = 365
_EPS = 1e-9


def mark_returns(lines: pd.DataFrame, prefix: str | None) -> pd.DataFrame:
    """``is_return`` (negative quantity or prefixed order id), with quantity and revenue made negative for them."""
    out = lines.copy()
    ret = out["quantity"] < 0
    if prefix:
        ret |= out["order_id"].str.startswith(prefix)
    out["is_return"] = ret.astype(int)
    out.loc[ret, "quantity"] = -out.loc[ret, "quantity"].abs()
    out.loc[ret, "revenue"] = -out.loc[ret, "revenue"].abs()
    return out


def _reference(order_ids: pd.Series, prefix: str | None) -> pd.Series:
    if not prefix:
        return order_ids
    return order_ids.where(~order_ids.str.startswith(prefix), order_ids.str.slice(len(prefix)))


def _has_key(sales: pd.DataFrame, col: str, keys: pd.DataFrame) -> np.ndarray:
    """Which sales have (``col``, product) among ``keys`` (columns ``k``, ``product``)."""
    keys = keys.dropna().drop_duplicates()
    probe = pd.DataFrame({"k": sales[col].to_numpy(), "product": sales["product"].to_numpy()})
    return probe.merge(keys.assign(hit=True), on=["k", "product"], how="left")["hit"].notna().to_numpy()


def match_returns(lines: pd.DataFrame, prefix: str | None = None,
                  window_days: int = RETURN_WINDOW_DAYS) -> pd.DataFrame:
    """Allocations of return units to sale lines: ``ret``, ``sale`` (positions in ``lines``), ``units``.

    ``lines`` needs ``order_id, customer, date, ts, product, quantity, is_return`` and a 0..n-1 index.
    """
    is_ret = lines["is_return"].to_numpy() == 1
    qty = lines["quantity"].to_numpy(dtype=float)
    if not is_ret.any():
        return pd.DataFrame({"ret": pd.Series(dtype=int), "sale": pd.Series(dtype=int),
                             "units": pd.Series(dtype=float)})
    when = lines["ts"].to_numpy()
    sale_mask = ~is_ret & (qty > 0)
    order_sorted = np.lexsort((np.arange(len(lines)), when))  # chronological, file order within a time
    rets = lines.iloc[order_sorted[is_ret[order_sorted]]]
    refs = _reference(rets["order_id"], prefix)
    sales = lines.iloc[order_sorted[sale_mask[order_sorted]]]
    # Only sales that share a key with some return can be matched: group those few, not every sale.
    wanted = (_has_key(sales, "order_id", pd.DataFrame({"k": refs.to_numpy(), "product": rets["product"].to_numpy()}))
              | _has_key(sales, "customer", pd.DataFrame({"k": rets["customer"].to_numpy(),
                                                          "product": rets["product"].to_numpy()})))
    sales = sales[wanted]
    by_order = sales.groupby(["order_id", "product"], sort=False).indices
    by_customer = sales.dropna(subset=["customer"]).groupby(["customer", "product"], sort=False).indices
    sale_pos = sales.index.to_numpy()
    sale_when = sales["ts"].to_numpy()
    left = dict(zip(sale_pos, qty[sale_pos]))
    refs = refs.to_numpy()
    window = np.timedelta64(window_days, "D")
    alloc = []
    for pos, ref, cust, prod, t in zip(rets.index, refs, rets["customer"], rets["product"], rets["ts"].to_numpy()):
        need = -qty[pos]
        candidates = list(reversed(by_order.get((ref, prod), [])))
        if cust is not None and not (isinstance(cust, float) and np.isnan(cust)):
            mine = by_customer.get((cust, prod), [])
            if len(mine):
                mine = mine[(sale_when[mine] <= t) & (sale_when[mine] >= t - window)]
                candidates += list(reversed(mine))
        for k in candidates:
            s = sale_pos[k]
            take = min(need, left[s])
            if take <= _EPS:
                continue
            alloc.append((pos, s, take))
            left[s] -= take
            need -= take
            if need <= _EPS:
                break
    return pd.DataFrame(alloc, columns=["ret", "sale", "units"]).astype({"ret": int, "sale": int, "units": float})


def net_of_returns(lines: pd.DataFrame, alloc: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """``lines`` with the returns' match columns set (``matched_order``, ``matched_line``: the first sale line a
    return undoes), the sale lines with matched returns netted (``quantity``, ``revenue``), and the units matched
    per line (0 for sales)."""
    out = lines.copy()
    out["matched_order"], out["matched_line"] = None, pd.array([pd.NA] * len(out), dtype="Int64")
    ret_mask = out["is_return"] == 1
    if alloc.empty:
        return out, out[~ret_mask].copy(), pd.Series(0.0, index=out.index)
    qty, rev = out["quantity"].to_numpy(dtype=float), out["revenue"].to_numpy(dtype=float)
    share = alloc["units"].to_numpy() / -qty[alloc["ret"].to_numpy()]
    alloc = alloc.assign(revenue=share * -rev[alloc["ret"].to_numpy()])
    per_sale = alloc.groupby("sale")[["units", "revenue"]].sum()
    sales = out[~ret_mask].copy()
    hit = sales.index.intersection(per_sale.index)
    sales.loc[hit, "quantity"] = (sales.loc[hit, "quantity"] - per_sale.loc[hit, "units"]).clip(lower=0.0)
    sales.loc[hit, "revenue"] = (sales.loc[hit, "revenue"] - per_sale.loc[hit, "revenue"]).clip(lower=0.0)
    first = alloc.drop_duplicates("ret").set_index("ret")["sale"]
    out.loc[first.index, "matched_order"] = out.loc[first.to_numpy(), "order_id"].to_numpy()
    out.loc[first.index, "matched_line"] = out.loc[first.to_numpy(), "line"].to_numpy()
    matched_units = alloc.groupby("ret")["units"].sum().reindex(out.index, fill_value=0.0)
    return out, sales, matched_units


def report(out: pd.DataFrame, ret_mask: pd.Series, matched_units: pd.Series) -> dict:
    """The returns among ``ret_mask`` counted: lines, units and revenue; fully, partly and not matched."""
    units = -out.loc[ret_mask, "quantity"]
    got = matched_units[ret_mask]
    full = got >= units - 1e-6
    none = got <= _EPS
    unmatched_units = float((units - got).clip(lower=0).sum())
    share = (units - got).clip(lower=0) / units.where(units > 0)
    return {"lines": int(ret_mask.sum()), "units": round(float(units.sum()), 6),
            "revenue": round(float(-out.loc[ret_mask, "revenue"].sum()), 2),
            "matched": int((full & ~none).sum() if len(units) else 0), "partly_matched": int((~full & ~none).sum()),
            "unmatched": int(none.sum()), "unmatched_units": round(unmatched_units, 6),
            "unmatched_revenue": round(float((share.fillna(1.0) * -out.loc[ret_mask, "revenue"]).sum()), 2)}
