"""Explore's drill-down rules: which hierarchy nodes a filter selects and which nodes break it down one level further."""
from __future__ import annotations

from typing import Callable

from domain import BOTTOM_LEVEL

# Selections larger than this are refused with a clear message; breakdowns are cut to this many children.
MAX_NODES = 2000


def select_nodes(region: str | None, stores, category: str | None, products,
                 node_ids: Callable[..., list[str]]) -> dict:
    """The nodes an Explore filter selects and the children that break the selection down.

    The selected series is the sum of ``nodes`` (a single node whenever the filter names one, e.g.
    ``store=3/category=Food``); the breakdown goes total -> regions -> stores -> store x category ->
    store x product, or category -> products -> stores selling it. One region only skips to the stores, and
    one category per store (e.g. Walmart) skips to the products.

    Parameters
    ----------
    region, category : str or None
        The region and category filters (None: any).
    stores, products : sequence of str
        The store and product id filters (empty: any).
    node_ids : callable
        ``node_ids(level, region=None, stores=(), category=None, products=())``: the sorted keys of the nodes
        of ``level`` matching every given filter (the data layer's query).

    Returns
    -------
    dict
        ``{"nodes": [...], "children": [...], "child_level": str | None}``.

    Raises
    ------
    ValueError
        When the selection covers more than :data:`MAX_NODES` series.
    """
    stores, products = list(stores or []), list(products or [])
    narrow = {k: v for k, v in (("stores", stores), ("region", region)) if v}  # store-side filters given
    if products:
        if narrow:
            nodes = node_ids(BOTTOM_LEVEL, products=products, **narrow)
            children = nodes if len(nodes) > 1 else []
        else:
            nodes = node_ids("product", products=products)
            children = node_ids(BOTTOM_LEVEL, products=products)
        child_level = BOTTOM_LEVEL
    elif category:
        if narrow:
            nodes = node_ids("store_category", category=category, **narrow)
            children, child_level = node_ids(BOTTOM_LEVEL, category=category, **narrow), BOTTOM_LEVEL
        else:
            nodes = node_ids("category", category=category)
            children, child_level = node_ids("product", category=category), "product"
    elif stores:
        nodes = node_ids("store", stores=stores)
        children, child_level = node_ids("store_category", stores=stores), "store_category"
        if len(children) <= len(stores):  # one category per store: go straight to products
            children, child_level = node_ids(BOTTOM_LEVEL, stores=stores), BOTTOM_LEVEL
    elif region:
        nodes = node_ids("region", region=region)
        children, child_level = node_ids("store", region=region), "store"
    else:
        nodes = ["total"]
        children, child_level = node_ids("region"), "region"
        if len(children) <= 1:  # one region only: go straight to the stores
            children, child_level = node_ids("store"), "store"
    if len(nodes) > MAX_NODES:
        raise ValueError(f"the selection covers {len(nodes)} series; narrow it to at most {MAX_NODES} "
                         "(pick a region, a category or fewer stores/products)")
    return {"nodes": nodes, "children": children[:MAX_NODES], "child_level": child_level if children else None}
