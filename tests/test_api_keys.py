"""Series keys in API paths: keys hold '/' and '='; an id holding them is percent-escaped inside the key
(``store=1%2Fproduct%3DB``), so a client URL-encodes the key's '%' (``urllib.parse.quote(key, safe="/=")``)."""
from __future__ import annotations

from urllib.parse import quote

import pandas as pd

# A server answering on a loopback address: with no user it runs open (auth.web.request_principal).
LOCAL = "http://127.0.0.1"


def test_keys_with_escaped_ids_reach_their_own_series(tmp_db, tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_api
    from data import ingest, store
    days = pd.date_range("2024-01-01", periods=3, freq="D").strftime("%Y-%m-%d")
    rows = [{"Date": d, "Store": s, "Product": p, "Sales": sales + j}
            for s, p, sales in (("1/product=B", "A", 100.0), ("1", "B", 500.0)) for j, d in enumerate(days)]
    pd.DataFrame(rows).to_csv(tmp_path / "ids.csv", index=False)
    ingest.ingest_csv(tmp_path / "ids.csv", "date=Date,sales=Sales,store=Store,product=Product", url=tmp_db)
    tricky = store.node_id("store_product", store_id="1/product=B", product_id="A")
    plain = store.node_id("store_product", store_id="1", product_id="B")
    assert tricky == "store=1%2Fproduct%3DB/product=A" and plain == "store=1/product=B"
    c = TestClient(create_api(), base_url=LOCAL)
    for key, first in ((tricky, 100.0), (plain, 500.0)):
        body = c.get(f"/api/v1/series/{quote(key, safe='/=')}").json()
        assert body["key"] == key and [p["y"] for p in body["points"]] == [first, first + 1, first + 2]
    store_key = quote(store.node_id("store", store_id="1/product=B"), safe="/=")
    assert c.get(f"/api/v1/series/{store_key}").json()["points"][0]["y"] == 100.0
    assert c.get("/api/v1/nodes", params={"q": "%2F"}).json()["total"] >= 2
