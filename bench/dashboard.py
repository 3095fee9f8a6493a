"""Latency benchmark: replays the browser's callback requests against the app in-process and prints percentiles.

    python bench/dashboard.py --db PATH [--json] [--requests N]

The app is created with ``create_app()`` and driven through its Flask test client with the same requests the
browser sends: ``GET /_dash-layout`` and ``/_dash-dependencies`` once, then for every page a *page load* (the
pages router callback, then every initial callback of the rendered layout, in dependency order, each POSTed to
``/_dash-update-component`` with the payload shape of dash-renderer), *filter changes* (a different option of
each dropdown / radio / select, plus the callbacks they chain into), *drill-downs* (a click on the first point of
each graph whose ``clickData`` feeds a callback) and, on the Forecast page, node switches (its node dropdown).
Each page is loaded, drilled into, loaded again and then has every control changed, as a user would.
The first pass covers every page; passes then repeat with other option choices until ``--requests`` callback
requests were timed, so both cache misses and hits are measured. Background callbacks (buttons that start a refresh or import) and clientside callbacks
are not replayed. Prints ``{"requests", "p50_ms", "p95_ms", "max_ms", "rss_mb", "by_callback": {name:
{"p50_ms", "p95_ms", "n"}}}``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONTROL_TYPES = {"Dropdown", "RadioItems", "Select", "Checklist", "Tabs"}
MAX_CHAIN = 4


def _walk(node, found: dict) -> None:
    """Collect ``{id_key: (component_type, props)}`` from a Dash component JSON tree."""
    if isinstance(node, list):
        for child in node:
            _walk(child, found)
        return
    if not isinstance(node, dict):
        return
    if "props" in node and "type" in node:
        props = node["props"]
        if "id" in props:
            found[_key(props["id"])] = (node["type"], props)
        for value in props.values():
            if isinstance(value, (dict, list)):
                _walk(value, found)
    else:
        for value in node.values():
            if isinstance(value, (dict, list)):
                _walk(value, found)


def _key(component_id) -> str:
    return json.dumps(component_id, sort_keys=True) if isinstance(component_id, dict) else str(component_id)


def _split_outputs(output: str) -> list[tuple[object, str]]:
    """dash-renderer's parsing of a callback's ``output`` string into (id, property) pairs."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    out = []
    for part in parts:
        cid, _, prop = part.rpartition(".")
        out.append((json.loads(cid) if cid.startswith("{") else cid, prop))
    return out


def _is_pattern(cid) -> bool:
    """A wildcard ID (``ALL``/``MATCH``/``ALLSMALLER`` arrive as ``["ALL"]``...); a plain dict ID is not one."""
    return isinstance(cid, dict) and any(isinstance(v, list) for v in cid.values())


def _matches(pattern: dict, cid) -> bool:
    if not isinstance(cid, dict) or set(cid) != set(pattern):
        return False
    return all(isinstance(v, list) or v == cid[k] for k, v in pattern.items())  # wildcards arrive as ["ALL"]


class Replayer:
    """Holds the rendered components' props and fires callbacks the way the browser does."""

    def __init__(self, client, deps: list[dict], names: dict[str, str]):
        self.client, self.deps, self.names = client, deps, names
        self.props: dict[str, tuple[str, dict]] = {}
        self.shell: dict[str, tuple[str, dict]] = {}
        self.timings: list[tuple[str, float]] = []
        self.actions = {"page_loads": 0, "filter_changes": 0, "drill_downs": 0}

    # --- payloads
    def _ids_for(self, dep_id) -> list:
        if _is_pattern(dep_id):
            return [json.loads(k) for k in self.props if k.startswith("{") and _matches(dep_id, json.loads(k))]
        return [dep_id] if _key(dep_id) in self.props else []

    def _value(self, cid, prop):
        return self.props.get(_key(cid), ("", {}))[1].get(prop)

    def _entry(self, spec: dict):
        if _is_pattern(spec["id"]):
            return [{"id": cid, "property": spec["property"], "value": self._value(cid, spec["property"])}
                    for cid in self._ids_for(spec["id"])]
        return {"id": spec["id"], "property": spec["property"], "value": self._value(spec["id"], spec["property"])}

    def ready(self, dep: dict) -> bool:
        """All inputs and at least one output are on the page (what the renderer requires to fire)."""
        inputs_ok = all(self._ids_for(i["id"]) or _is_pattern(i["id"]) for i in dep["inputs"])
        outputs = _split_outputs(dep["output"])
        return inputs_ok and any(self._ids_for(cid) for cid, _ in outputs)

    def fire(self, dep: dict, changed: list[str]) -> list[tuple[str, str]]:
        """POST one callback; store the returned props; return the (id_key, prop) pairs that changed."""
        outputs = []
        for cid, prop in _split_outputs(dep["output"]):
            if _is_pattern(cid):
                outputs.append([{"id": c, "property": prop} for c in self._ids_for(cid)])
            else:
                outputs.append({"id": cid, "property": prop})
        body = {"output": dep["output"], "outputs": outputs if dep["output"].startswith("..") else outputs[0],
                "inputs": [self._entry(i) for i in dep["inputs"]],
                "state": [self._entry(s) for s in dep.get("state", [])], "changedPropIds": changed}
        t0 = time.perf_counter()
        resp = self.client.post("/_dash-update-component", json=body)
        elapsed = (time.perf_counter() - t0) * 1000
        self.timings.append((self.names.get(dep["output"], dep["output"]), elapsed))
        if resp.status_code == 204:
            return []
        if resp.status_code != 200:
            raise RuntimeError(f"callback {self.names.get(dep['output'])} answered HTTP {resp.status_code}: "
                               f"{resp.get_data(as_text=True)[:500]}")
        changed_out = []
        for id_key, props in resp.get_json().get("response", {}).items():
            if id_key.startswith("{"):  # Dash writes dict IDs compactly; one key per component (see _key)
                id_key = _key(json.loads(id_key))
            comp = self.props.setdefault(id_key, ("", {"id": id_key}))[1]
            for prop, value in props.items():
                prop = prop.split("@")[0]
                comp[prop] = value
                changed_out.append((id_key, prop))
                if prop == "children":
                    found: dict = {}
                    _walk(value, found)
                    self.props.update(found)
        return changed_out

    def cascade(self, changed: list[tuple[str, str]], fired: set, depth: int = 0) -> None:
        """Fire the callbacks whose inputs just changed (once each per user action), depth-limited."""
        if depth >= MAX_CHAIN or not changed:
            return
        changed_set = {f"{k}.{p}" for k, p in changed}
        next_changed = []
        for i, dep in enumerate(self.deps):
            if i in fired or dep.get("clientside_function") or self._is_background(dep):
                continue
            trig = [f"{_key(inp['id'])}.{inp['property']}" for inp in dep["inputs"]]
            hit = [t for t in trig if t in changed_set]
            if hit and self.ready(dep):
                fired.add(i)
                next_changed += self.fire(dep, hit)
        self.cascade(next_changed, fired, depth + 1)

    def _is_background(self, dep) -> bool:
        return bool(dep.get("background")) or dep["output"] in self.background

    background: set = set()

    # --- user actions
    def load_page(self, path: str) -> None:
        router = next(d for d in self.deps if "_pages_content.children" in d["output"])
        self.actions["page_loads"] += 1
        pathname, _, search = path.partition("?")
        self.props = {k: (t, dict(p)) for k, (t, p) in self.shell.items()}  # navigation replaces the content
        self.props["_pages_location"][1].update(pathname=pathname, search=("?" + search) if search else "")
        before = set(self.props)
        changed = self.fire(router, ["_pages_location.pathname"])
        page_ids = set(self.props) - before | {k for k, _ in changed}
        fired: set = {self.deps.index(router)}
        initial = []
        for i, dep in enumerate(self.deps):
            if i in fired or dep.get("clientside_function") or dep.get("prevent_initial_call") \
                    or self._is_background(dep) or not self.ready(dep):
                continue
            outs = {_key(c) for c, _ in _split_outputs(dep["output"])}
            if outs & page_ids or any(_key(x["id"]) in page_ids for x in dep["inputs"]):
                initial.append(i)
        # dependency order: a callback whose inputs are another initial callback's outputs runs after it
        produced = {i: {f"{_key(c)}.{p}" for c, p in _split_outputs(self.deps[i]["output"])} for i in initial}
        done: set = set()
        while len(done) < len(initial):
            progressed = False
            for i in initial:
                if i in done:
                    continue
                needs = {f"{_key(x['id'])}.{x['property']}" for x in self.deps[i]["inputs"]}
                if any(needs & produced[j] for j in initial if j not in done and j != i):
                    continue
                fired.add(i)
                self.fire(self.deps[i], [])
                done.add(i)
                progressed = True
            if not progressed:  # a cycle: fire the rest in declaration order
                for i in initial:
                    if i not in done:
                        self.fire(self.deps[i], [])
                        done.add(i)
        self.page_ids = page_ids

    def controls(self) -> list[tuple[str, str, list]]:
        """(id_key, prop, option values) of the page's selection controls that feed a callback."""
        inputs = {(_key(i["id"]), i["property"]) for d in self.deps for i in d["inputs"]}
        out = []
        for key in sorted(self.page_ids):
            ctype, props = self.props.get(key, ("", {}))
            if ctype == "Tabs" and (key, "active_tab") in inputs:
                tabs = [c["props"].get("tab_id") for c in props.get("children", []) if isinstance(c, dict)]
                out.append((key, "active_tab", [t for t in tabs if t]))
            elif ctype in CONTROL_TYPES and (key, "value") in inputs and props.get("options"):
                opts = [o["value"] if isinstance(o, dict) else o for o in props["options"]]
                out.append((key, "value", opts))
        return out

    def change(self, key: str, prop: str, value) -> None:
        comp = self.props[key][1]
        if comp.get("multi") and not isinstance(value, list):
            value = [value]
        comp[prop] = value
        self.actions["filter_changes"] += 1
        self.cascade([(key, prop)], set())

    def click_targets(self) -> list[str]:
        clicks = {_key(i["id"]) for d in self.deps for i in d["inputs"] if i["property"] == "clickData"}
        return [k for k in sorted(self.page_ids) if k in clicks and self.props[k][1].get("figure")]

    def click(self, key: str) -> bool:
        fig = self.props[key][1].get("figure") or {}
        for curve, trace in enumerate(fig.get("data", [])):
            trace = {k: _array(v) for k, v in trace.items()}
            xs, ys = trace.get("x"), trace.get("y")
            if isinstance(xs, list) and xs:
                point = {"curveNumber": curve, "pointNumber": 0, "pointIndex": 0, "x": xs[0],
                         "y": ys[0] if isinstance(ys, list) and ys else None}
                for extra in ("customdata", "label", "text", "hovertext"):
                    if isinstance(trace.get(extra), list) and trace[extra]:
                        point[extra] = trace[extra][0]
                self.props[key][1]["clickData"] = {"points": [point]}
                self.actions["drill_downs"] += 1
                self.cascade([(key, "clickData")], set())
                return True
        return False


def _array(value):
    """Plotly's JSON encodes numeric arrays as ``{"dtype", "bdata"}`` (base64); decode them to lists."""
    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        import base64

        import numpy as np
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return value


def _percentile(values: list[float], q: float) -> float:
    import numpy as np
    return float(np.percentile(values, q)) if values else float("nan")


def run(db: str, n_requests: int = 300, pages: list[str] | None = None) -> dict:
    """Build the app on ``db`` and replay page loads, filter changes and drill-downs until ``n_requests``."""
    import psutil

    import config
    os.environ["SALES_DB"] = config.database_url(db)
    import dash

    from app import create_app
    app = create_app()
    client = app.server.test_client()
    client.get("/")  # the first request moves the registered callbacks into this app
    deps = client.get("/_dash-dependencies").get_json()
    names = {k: getattr(v.get("callback"), "__name__", k) for k, v in app.callback_map.items()}
    names.update({k: "pages_router (page layout)" for k in names if "_pages_content.children" in k})
    layout = client.get("/_dash-layout").get_json()
    replay = Replayer(client, deps, names)
    replay.background = {k for k, v in app.callback_map.items() if v.get("background") or v.get("long")}
    _walk(layout, replay.props)
    replay.shell = dict(replay.props)
    paths = pages or [p["relative_path"] for p in dash.page_registry.values()]
    proc = psutil.Process()
    rss_peak = proc.memory_info().rss
    n_pass = 0
    while len(replay.timings) < n_requests:
        for path in paths:
            replay.load_page(path)
            for key in replay.click_targets():  # drill down from the page as it opens
                replay.click(key)
            replay.load_page(path)
            for key, prop, options in replay.controls():
                if len(options) > 1:
                    current = replay.props[key][1].get(prop)
                    choices = [o for o in options if o != current] or options
                    replay.change(key, prop, choices[n_pass % len(choices)])
            rss_peak = max(rss_peak, proc.memory_info().rss)
            if n_pass > 0 and len(replay.timings) >= n_requests:  # the first pass always covers every page
                break
        n_pass += 1
    times = [t for _, t in replay.timings]
    by_cb: dict[str, list[float]] = {}
    for name, t in replay.timings:
        by_cb.setdefault(name, []).append(t)
    return {"requests": len(times), "p50_ms": round(_percentile(times, 50), 1),
            "p95_ms": round(_percentile(times, 95), 1), "max_ms": round(max(times), 1),
            "rss_mb": round(rss_peak / 2**20, 1), "passes": n_pass, "pages": paths, **replay.actions,
            "by_callback": {k: {"p50_ms": round(_percentile(v, 50), 1), "p95_ms": round(_percentile(v, 95), 1),
                                "n": len(v)} for k, v in sorted(by_cb.items())}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True, help="database path or SQLAlchemy URL to benchmark against")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--requests", type=int, default=300, help="callback requests to time (default 300)")
    p.add_argument("--pages", default=None, help="comma-separated page paths (default: every page)")
    args = p.parse_args(argv)
    db_path = Path(args.db)
    if "://" not in args.db and not db_path.exists():
        print(f"error: {args.db}: no such database (create one with `python cli.py demo --db {args.db}`)",
              file=sys.stderr)
        return 2
    result = run(args.db, args.requests, args.pages.split(",") if args.pages else None)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['requests']} requests ({result['page_loads']} page loads, {result['filter_changes']} filter "
              f"changes, {result['drill_downs']} drill-downs): p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
              f"max {result['max_ms']} ms, RSS {result['rss_mb']} MB")
        width = max(len(k) for k in result["by_callback"])
        for name, r in sorted(result["by_callback"].items(), key=lambda kv: -kv[1]["p95_ms"]):
            print(f"  {name:<{width}}  p50 {r['p50_ms']:>7} ms  p95 {r['p95_ms']:>7} ms  n={r['n']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
