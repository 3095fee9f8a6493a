"""Home page: the datasets in the store (replaced by the Overview page when the dashboard lands)."""
import dash
import dash_bootstrap_components as dbc
from dash import html

from data import store

dash.register_page(__name__, path="/", name="Home")


def layout(**_query):
    if not store.db_exists():
        return dbc.Alert("The store is empty: run `python cli.py demo` or `python cli.py ingest ...`.",
                         color="info")
    ds = store.datasets()
    rows = [html.Tr([html.Td(r["name"]), html.Td(r["source"]), html.Td(r["frequency"]),
                     html.Td(f"{r['start_date']:%Y-%m-%d} .. {r['end_date']:%Y-%m-%d}"),
                     html.Td(f"{r['rows_written']:,}"), html.Td(f"{r['imported_at']:%Y-%m-%d %H:%M}")])
            for r in ds.to_dict("records")]
    head = html.Thead(html.Tr([html.Th(h) for h in ("Dataset", "Source", "Freq", "Dates", "Rows", "Imported")]))
    return html.Div([html.H3("Datasets in the store"), dbc.Table([head, html.Tbody(rows)], striped=True)])
