"""Temperature and precipitation slopes and response curves on a panel with known weather effects."""
import numpy as np

from analytics import weather
from analytics._synthetic import panel


def test_slopes_recovered_inside_ci():
    df, ev = panel(seed=21, temp_slope=-0.015, rain_slope=-0.02)
    slopes, curves = weather.weather_effects(df, "D", ev)
    t = slopes[slopes["kind"] == "temperature"].iloc[0]
    p = slopes[slopes["kind"] == "precipitation"].iloc[0]
    assert t["unit"] == "relative_per_degC" and t["ci_low"] < -0.015 < t["ci_high"]
    assert p["unit"] == "relative_per_mm" and p["ci_low"] < -0.02 < p["ci_high"]


def test_temperature_curve_follows_the_slope():
    df, ev = panel(seed=22, temp_slope=0.03)
    _, curves = weather.weather_effects(df, "D", ev)
    temp = curves[curves["variable"] == "temp_c"].sort_values("bin_mid")
    ref = temp[temp["reference"]].iloc[0]
    assert ref["estimate"] == 0.0
    # Shape, not exact values: within a 5 °C bin temperature still moves with the season, and the seasonal
    # terms absorb part of that, so bin effects are slightly attenuated relative to the planted slope.
    assert temp.iloc[0]["ci_high"] < 0 < temp.iloc[-1]["ci_low"]
    assert temp["estimate"].is_monotonic_increasing
    rain = curves[curves["variable"] == "precip_mm"]
    assert rain.iloc[0]["reference"] and rain.iloc[0]["bin_low"] == 0.0


def test_weather_needs_a_weather_column():
    df, ev = panel(seed=0, periods=60)
    try:
        weather.weather_effects(df.drop(columns=["temp_c", "precip_mm"]), "D", ev)
    except ValueError as err:
        assert "temp_c" in str(err)
    else:  # pragma: no cover
        raise AssertionError("expected ValueError")
