"""The planted effects of the synthetic demo data and the ground-truth table derived from them.

Every effect acts multiplicatively, i.e. additively on log sales, so each one is a well-defined relative
change: an effect stated as ``r`` multiplies expected sales by ``1 + r`` (log effect ``log(1 + r)``), and
effects combine by multiplying. The same numbers drive the generator (:mod:`data.demo`) and fill the
``demo_truth`` table, in the units the ``effects`` command reports.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

YEAR_DAYS = 365.25  # yearly seasonal period (days)
WEEK_DAYS = 7  # weekly seasonal period (days)

# Region: (annual mean °C, seasonal amplitude °C, wet-day probability).
REGIONS = {"North": (9.0, 12.0, 0.34), "South": (20.0, 8.0, 0.22), "West": (15.0, 6.0, 0.18)}
TEMP_REF_C = 15.0  # the temperature response is centred here
TEMP_ANOMALY_SD = 4.5  # stationary s.d. (°C) of the daily AR(1) anomaly: non-seasonal variation
TEMP_ANOMALY_AR = 0.75
RAIN_MEAN_MM = 9.0  # mean amount on a wet day (gamma, shape 0.9)
RAIN_PER_MM = -0.008  # relative change of sales per mm of rain (all categories)

ANNUAL_GROWTH = 0.04  # trend: +4 % per year
SIZE_ELASTICITY = 0.9  # sales ∝ (size / 120,000 sq ft) ** 0.9
SIZE_REF = 120_000.0
NOISE_SD = 0.18  # stationary s.d. of the log-scale noise
NOISE_AR = 0.3  # its day-to-day autocorrelation within a series
SERIES_LEVEL_SD = 0.15  # store x product idiosyncratic level (log s.d.)

PROMO_SHARE = 0.15  # target share of promotion days per series (runs of 3-7 days)
PROMO_RUN = (3, 7)
PROMO_DEPTHS = (0.10, 0.15, 0.20, 0.25, 0.30)  # discount depth per run (promo_intensity)
PROMO_REF_DEPTH = 0.20  # the lift below holds at this depth (= the mean depth); log lift ∝ depth

# Category parameters. weekly: log effect Monday..Sunday (centred by the generator);
# yearly: list of (log amplitude, peak day-of-year, harmonic) cosines with period 365.25 days.
CATEGORIES = {
    "Beverages": dict(lift=0.25, temp=0.018, base=120.0, price=(1.5, 4.0),
                      weekly=(-0.08, -0.10, -0.06, -0.02, 0.08, 0.14, 0.04),
                      yearly=[(0.08, 196, 1)],
                      names=("Cola 2L", "Sparkling Water", "Orange Juice", "Iced Tea", "Lemonade", "Cold Brew",
                             "Energy Drink", "Still Water", "Ginger Ale", "Sports Drink")),
    "Grocery": dict(lift=0.18, temp=-0.004, base=200.0, price=(2.0, 10.0),
                    weekly=(-0.05, -0.08, -0.06, -0.02, 0.05, 0.12, 0.04),
                    yearly=[(0.06, 340, 1)],
                    names=("Pasta", "Rice 1kg", "Olive Oil", "Coffee Beans", "Cereal", "Canned Tomatoes",
                           "Flour", "Peanut Butter", "Soup", "Crackers")),
    "Apparel": dict(lift=0.35, temp=-0.010, base=90.0, price=(10.0, 60.0),
                    weekly=(-0.15, -0.15, -0.10, -0.05, 0.10, 0.25, 0.10),
                    yearly=[(0.10, 350, 1), (0.07, 225, 2)],
                    names=("T-Shirt", "Jeans", "Rain Jacket", "Sneakers", "Wool Sweater", "Socks 3-pack",
                           "Hoodie", "Shorts", "Scarf", "Cap")),
    "Garden": dict(lift=0.30, temp=0.012, base=60.0, price=(5.0, 40.0),
                   weekly=(-0.12, -0.12, -0.10, -0.06, 0.02, 0.20, 0.18),
                   yearly=[(0.35, 130, 1)],
                   names=("Potting Soil", "Garden Hose", "Seeds Mix", "Lawn Fertilizer", "Pruning Shears",
                          "Planter", "Sprinkler", "Grill Charcoal", "Patio Chair", "Watering Can")),
}

# Relative effect ON the holiday date, by the `holidays` package's US names. -1.0 = stores closed.
HOLIDAY_EFFECTS = {
    "New Year's Day": -0.35, "New Year's Day (observed)": -0.10,
    "Martin Luther King Jr. Day": 0.05, "Washington's Birthday": 0.08,
    "Memorial Day": 0.20, "Juneteenth National Independence Day": 0.03,
    "Juneteenth National Independence Day (observed)": 0.02,
    "Independence Day": 0.30, "Independence Day (observed)": 0.10, "Labor Day": 0.15,
    "Columbus Day": 0.04, "Veterans Day": 0.06, "Veterans Day (observed)": 0.03,
    "Thanksgiving Day": -1.0, "Christmas Day": -1.0, "Christmas Day (observed)": -0.05,
}
CLOSED_HOLIDAYS = ("Thanksgiving Day", "Christmas Day")
# Pre-holiday ramp: (days, relative effect on the day before). Day -k of D gets log(1+peak) * (D+1-k)/D.
HOLIDAY_RAMPS = {"Christmas Day": (7, 0.45), "Thanksgiving Day": (3, 0.20), "Independence Day": (2, 0.10)}

# Dirt for the quality report (shares of open rows; each at least the given minimum).
MISSING_SHARE, GAP_SERIES_SHARE, GAP_DAYS = 0.003, 0.02, (7, 21)
OUTLIER_SHARE, OUTLIER_FACTOR = 0.0002, (4.0, 8.0)
NEGATIVE_SHARE = 0.0001
DUPLICATE_SHARE = 0.001


def holiday_effect(name: str) -> float:
    """The planted relative effect of a holiday on its date (0 for names this spec does not list)."""
    return HOLIDAY_EFFECTS.get(name, 0.0)


def weekly_log(category: str) -> np.ndarray:
    """Centred log weekly profile (Monday..Sunday) of a category."""
    w = np.asarray(CATEGORIES[category]["weekly"], dtype=float)
    return w - w.mean()


def yearly_log(category: str, day_number: np.ndarray) -> np.ndarray:
    """Log yearly seasonality of a category at the given day numbers (days since 1970-01-01)."""
    out = np.zeros(len(day_number))
    doy = np.mod(day_number - 0.0, YEAR_DAYS)  # 1970-01-01 is day-of-year 0
    for amp, peak, harmonic in CATEGORIES[category]["yearly"]:
        out += amp * np.cos(2 * math.pi * harmonic * (doy - peak) / YEAR_DAYS)
    return out


def truth_frame(holiday_names: list[str], categories: list[str], dirt: dict) -> pd.DataFrame:
    """The ``demo_truth`` rows (kind, group, name, value, unit) for the categories and holidays generated.

    Parameters
    ----------
    holiday_names : list of str
        Holiday names (as the ``holidays`` package gives them) that occur in the generated date range.
    categories : list of str
        Categories present in the generated products.
    dirt : dict
        Counts of planted dirt (name -> rows).

    Returns
    -------
    pandas.DataFrame
        One row per planted effect, in the units of ``cli.py effects``.
    """
    rows = []
    for cat in categories:
        p = CATEGORIES[cat]
        rows.append(("promo_lift", cat, "promotion", p["lift"], "relative"))
        rows.append(("temperature", cat, "per_degC", p["temp"], "relative_per_degC"))
        rows.append(("weekly_profile_range", cat, "max_minus_min_log", float(np.ptp(weekly_log(cat))), "log"))
    rows.append(("promo_intensity", "all", "reference_depth", PROMO_REF_DEPTH, "discount_share"))
    rows.append(("precipitation", "all", "per_mm", RAIN_PER_MM, "relative_per_mm"))
    rows.append(("temperature_reference", "all", "degC", TEMP_REF_C, "degC"))
    for name in sorted(set(holiday_names)):
        rows.append(("holiday", "all", name, holiday_effect(name), "relative"))
    for name, (days, peak) in HOLIDAY_RAMPS.items():
        if name in holiday_names:
            rows.append(("holiday_ramp", "all", name, peak, "relative_day_before"))
            rows.append(("holiday_ramp_days", "all", name, float(days), "days"))
    rows.append(("seasonal_period", "all", "weekly", float(WEEK_DAYS), "days"))
    rows.append(("seasonal_period", "all", "yearly", YEAR_DAYS, "days"))
    rows.append(("trend", "all", "annual_growth", ANNUAL_GROWTH, "relative_per_year"))
    rows.append(("store_size", "all", "elasticity", SIZE_ELASTICITY, "log_per_log_size"))
    rows.append(("noise", "all", "log_sd", NOISE_SD, "log"))
    rows.append(("noise", "all", "ar1", NOISE_AR, "autocorrelation"))
    for name, value in dirt.items():
        rows.append(("dirt", "all", name, float(value), "rows"))
    return pd.DataFrame(rows, columns=["kind", "group", "name", "value", "unit"])
