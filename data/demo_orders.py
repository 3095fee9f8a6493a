"""Demo order lines with known truth: customers drawn from planted BG/NBD and Gamma-Gamma parameters.

Each customer joins on a day in the first half of the demo's history (their first purchase), has a home store
(drawn in proportion to the stores' demo sales), buys while alive at a Poisson rate ``lambda ~ Gamma(r, alpha)``
per week and drops out after each repeat purchase with probability ``p ~ Beta(a, b)`` (BG/NBD); every purchase is
worth ``z ~ Gamma(p, nu)``, ``nu ~ Gamma(q, gamma)`` per customer (Gamma-Gamma). A purchase is one order of one
to a few lines; its products are drawn in proportion to the demo's simulated sales of the home store on that day
(so the demo's promotions, holidays, weather and seasonality shape what is bought), its value is split over
the lines, quantities follow from the day's price and the discount is the day's promotion depth. A purchase on a
day the store is closed moves to the next open day. The planted values default to the published CDNOW estimates
(BG/NBD: Fader, Hardie & Lee 2005; Gamma-Gamma: Fader, Hardie & Lee 2005 "RFM and CLV").
"""
from __future__ import annotations

import numpy as np
import pandas as pd

PLANTED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PLANTED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}
N_CUSTOMERS = 6000
JOIN_SHARE = 0.5  # customers join (first purchase) uniformly over this first share of the history
MEAN_EXTRA_LINES = 0.8  # lines per order = 1 + Poisson(this), at most the number of products


def simulate_bgnbd(rng: np.random.Generator, params: dict, T) -> list[np.ndarray]:
    """Repeat-purchase times in (0, T_i] (weeks) of customers drawn from BG/NBD ``params``, one array each."""
    T = np.asarray(T, dtype=float)
    n = len(T)
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    drop = rng.beta(params["a"], params["b"], n)
    times: list[list[float]] = [[] for _ in range(n)]
    now = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(1.0, len(idx)) / np.maximum(lam[idx], 1e-12)
        inside = now[idx] <= T[idx]
        for i, t in zip(idx[inside], now[idx][inside]):
            times[i].append(t)
        alive[idx[~inside]] = False
        dies = idx[inside][rng.random(int(inside.sum())) < drop[idx[inside]]]
        alive[dies] = False
    return [np.asarray(t) for t in times]


def simulate_spend(rng: np.random.Generator, params: dict, counts) -> list[np.ndarray]:
    """Transaction values of customers drawn from Gamma-Gamma ``params`` (``counts[i]`` values for customer i)."""
    counts = np.asarray(counts, dtype=int)
    nu = rng.gamma(params["q"], 1.0 / params["gamma"], len(counts))
    return [rng.gamma(params["p"], 1.0 / nu_i, c) for nu_i, c in zip(nu, counts)]


def _sales_cube(sales: pd.DataFrame, stores: list, products: list, dates: pd.DatetimeIndex):
    """(store, product, day) arrays of non-negative sales, price and promotion depth from the demo's rows."""
    si = pd.Index(stores).get_indexer(sales["store_id"])
    pi = pd.Index(products).get_indexer(sales["product_id"])
    di = dates.get_indexer(pd.to_datetime(sales["date"]))
    shape = (len(stores), len(products), len(dates))
    cube, price, depth = np.zeros(shape), np.full(shape, np.nan), np.zeros(shape)
    cube[si, pi, di] = np.clip(sales["sales"].to_numpy(float), 0, None)
    price[si, pi, di] = sales["price"].to_numpy(float)
    depth[si, pi, di] = sales["promo_intensity"].fillna(0).to_numpy(float)
    fallback = np.nanmedian(np.where(np.isnan(price), np.nan, price), axis=2, keepdims=True)
    price = np.where(np.isnan(price) | (price <= 0), np.broadcast_to(fallback, shape), price)
    return cube, np.nan_to_num(price, nan=1.0), depth


def _purchase_days(rng, births: np.ndarray, n_days: int, bg: dict) -> tuple[np.ndarray, np.ndarray]:
    """Customer index and day index of every purchase (first purchase included), ordered by customer and day.

    A repeat purchase at time ``t`` weeks falls on day ``birth + ceil(7 t)`` (never the first purchase's day).
    """
    T = (n_days - 1 - births) / 7.0
    repeat = simulate_bgnbd(rng, bg, T)
    cust = np.concatenate([np.full(1 + len(t), i) for i, t in enumerate(repeat)])
    day = np.concatenate([np.concatenate([[b], b + np.ceil(t * 7.0)]) for b, t in zip(births, repeat)])
    return cust, day.astype(int)


def _distinct_days(cust: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days made strictly increasing within each customer (a purchase on a taken day moves to the next free one).

    The models count purchase days, so two purchases on one day would be one: moving keeps every planted purchase.
    """
    start = np.r_[0, np.flatnonzero(np.diff(cust)) + 1]
    rank = np.arange(len(cust)) - np.repeat(start, np.diff(np.r_[start, len(cust)]))
    shifted = pd.Series(day - rank).groupby(cust).cummax().to_numpy()
    return shifted + rank


def generate(sales: pd.DataFrame, stores: pd.DataFrame, products: pd.DataFrame, seed: int = 42,
             n_customers: int = N_CUSTOMERS, bgnbd: dict | None = None, gamma_gamma: dict | None = None
             ) -> tuple[pd.DataFrame, dict]:
    """Order lines drawn from planted customer models over the demo's daily sales.

    Parameters
    ----------
    sales : pandas.DataFrame
        The demo's daily rows (``store_id, product_id, date, sales, price, promo_intensity``).
    stores, products : pandas.DataFrame
        The demo's ``store_id`` and ``product_id`` dimensions.
    seed : int
        Random seed (the same seed and inputs give identical lines).
    n_customers : int
        Customers to simulate.
    bgnbd, gamma_gamma : dict, optional
        Planted parameters (default the CDNOW estimates, :data:`PLANTED_BGNBD`, :data:`PLANTED_GAMMA_GAMMA`).

    Returns
    -------
    (pandas.DataFrame, dict)
        The lines (``order_id, customer, date, product, store, quantity, revenue, discount``, discount as a rate)
        and the truth (planted parameters, customers, orders, lines, the join window).
    """
    bg, gg = dict(bgnbd or PLANTED_BGNBD), dict(gamma_gamma or PLANTED_GAMMA_GAMMA)
    if int(n_customers) < 1:
        raise ValueError(f"n_customers must be >= 1, got {n_customers!r}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 17]))
    dates = pd.date_range(pd.Timestamp(sales["date"].min()), pd.Timestamp(sales["date"].max()), freq="D")
    store_ids, product_ids = list(stores["store_id"]), list(products["product_id"])
    cube, price, depth = _sales_cube(sales, store_ids, product_ids, dates)
    by_store = cube.sum(axis=(1, 2))
    home = rng.choice(len(store_ids), int(n_customers), p=by_store / by_store.sum())
    births = rng.integers(0, max(1, int(len(dates) * JOIN_SHARE)), int(n_customers))
    cust, day = _purchase_days(rng, births, len(dates), bg)
    open_day = cube.sum(axis=1) > 0  # (store, day)
    for _ in range(14):  # closed days: move the purchase to the next open (and free) day
        day = _distinct_days(cust, day)
        shut = ~open_day[home[cust], np.minimum(day, len(dates) - 1)]
        if not shut.any():
            break
        day[shut] += 1
    keep = day < len(dates)  # a purchase pushed past the last day is not observed
    cust, day = cust[keep], day[keep]
    counts = np.bincount(cust, minlength=int(n_customers))
    value = np.concatenate(simulate_spend(rng, gg, counts))  # ordered by customer, like cust/day
    n_orders = len(cust)
    k = np.minimum(1 + rng.poisson(MEAN_EXTRA_LINES, n_orders), len(product_ids))
    s = home[cust]
    weights = cube[s, :, day] + 1e-9  # (orders, products)
    keys = np.log(weights) + rng.gumbel(size=weights.shape)  # Gumbel top-k: sampling without replacement
    ranked = np.argsort(-keys, axis=1)
    order_idx = np.repeat(np.arange(n_orders), k)
    slot = np.arange(len(order_idx)) - np.repeat(np.cumsum(k) - k, k)
    prod = ranked[order_idx, slot]
    share = rng.gamma(2.0, 1.0, len(order_idx))
    share /= np.bincount(order_idx, share)[order_idx]
    revenue = np.maximum(np.round(value[order_idx] * share, 2), 0.01)  # no line of zero value
    unit_price = price[s[order_idx], prod, day[order_idx]]
    lines = pd.DataFrame({
        "order_id": [f"O{i + 1:07d}" for i in order_idx],
        "customer": [f"C{c + 1:06d}" for c in cust[order_idx]],
        "date": dates[day[order_idx]],
        "product": np.asarray(product_ids, dtype=object)[prod],
        "store": np.asarray(store_ids, dtype=object)[s[order_idx]],
        "quantity": np.maximum(1, np.round(revenue / unit_price)).astype(float),
        "revenue": revenue,
        "discount": depth[s[order_idx], prod, day[order_idx]],
    }).sort_values(["date", "order_id", "product"], kind="stable").reset_index(drop=True)
    truth = {"bgnbd": bg, "gamma_gamma": gg, "customers": int(n_customers), "orders": int(n_orders),
             "lines": int(len(lines)), "seed": int(seed), "join_share": JOIN_SHARE,
             "time_unit": "week", "start": str(dates[0].date()), "end": str(dates[-1].date())}
    return lines, truth


def truth_rows(truth: dict) -> pd.DataFrame:
    """The planted customer parameters as ``demo_truth`` rows (kind ``customers``)."""
    rows = [("customers", "bgnbd", k, float(v), "per_week" if k == "alpha" else "parameter")
            for k, v in truth["bgnbd"].items()]
    rows += [("customers", "gamma_gamma", k, float(v), "money" if k == "gamma" else "parameter")
             for k, v in truth["gamma_gamma"].items()]
    rows.append(("customers", "all", "customers", float(truth["customers"]), "customers"))
    return pd.DataFrame(rows, columns=["kind", "group", "name", "value", "unit"])


def add_to_store(seed: int = 42, n_customers: int | None = None, url: str | None = None) -> dict:
    """`cli.py demo --orders`: replace the demo's daily facts by order lines drawn over them, loaded as an import.

    Reads the demo just written (stores, products, daily sales), draws the order lines (:func:`generate`), deletes
    the demo's daily sales (dimensions, weather, calendar, plan and truth stay) and loads the lines through
    :func:`data.orders.load_order_lines` (which writes the order lines and their store x product x day sums in one
    transaction), then adds the planted customer parameters to ``demo_truth``. The import is logged as the demo's
    (name ``demo``, a ``synthetic`` source), so ``cli.py demo`` can replace it again without ``--force``.
    """
    from sqlalchemy import delete

    from data import facts, orders, schema, store
    from data.guards import DEMO_NAME, DEMO_SOURCE_PREFIX

    daily = facts.sales_facts(url, columns=("store_id", "product_id", "date", "sales", "price", "promo_intensity"))
    lines, truth = generate(daily, facts.stores(url), facts.products(url), seed=seed,
                            n_customers=n_customers or N_CUSTOMERS)
    with store.session_scope(url=url) as session:
        session.execute(delete(schema.Sale.__table__))
    summary = orders.load_order_lines(lines, dataset_name=DEMO_NAME, url=url,
                                      source=f"{DEMO_SOURCE_PREFIX} seed={seed} order lines")
    with store.session_scope(url=url) as session:
        session.execute(delete(schema.DemoTruth.__table__).where(schema.DemoTruth.kind == "customers"))
        store.bulk_insert(session, schema.DemoTruth, truth_rows(truth))
    return {"customers": truth["customers"], "orders": summary.get("orders"), "order_lines": summary.get("order_lines"),
            "facts": summary.get("rows_written"), "planted": {"bgnbd": truth["bgnbd"],
                                                              "gamma_gamma": truth["gamma_gamma"]},
            "message": summary.get("message")}


def format_summary(s: dict) -> str:
    """The `demo --orders` lines of the demo summary."""
    bg, gg = s["planted"]["bgnbd"], s["planted"]["gamma_gamma"]
    return (f"  order lines: {s['order_lines']:,} lines, {s['orders']:,} orders of {s['customers']:,} customers "
            f"(now the sales facts: {s['facts']:,} store x product x day rows)\n"
            f"  planted customers: BG/NBD r={bg['r']}, alpha={bg['alpha']}, a={bg['a']}, b={bg['b']} (weeks); "
            f"Gamma-Gamma p={gg['p']}, q={gg['q']}, gamma={gg['gamma']}; `python cli.py customers` fits them")
