"""Arrays for the LSTM (:mod:`models.lstm`): the fitted scaler, right-aligned series panels and training windows.

Pure numpy/pandas (no torch). Every series is placed on one time axis so that its last observed date sits at the
same index ``end``; the ``horizon`` slots after it hold the forecast dates' known inputs. A window is a series and
an origin index ``o``: the encoder reads steps ``o - L + 1 .. o`` (scaled sales, an observed flag and the known
inputs), the decoder the known inputs of ``o + 1 .. o + H`` plus values the origin already knows: the last
same-phase value (seasonal naive, lag ``m * ceil(k / m)`` for step ``k``), the value one year before (when that
is not after the origin) and whether the seasonal-lag day was a promotion.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from domain import freq_step
from models.events import event_flags
from models.features import hierarchy_codes

YEAR_LAG = {"D": 364, "W": 52}
FLAGS = {"promo": 0.0, "is_holiday": 0.0, "is_open": 1.0}  # used as they are; the value is the neutral fill
CONTINUOUS = ("temp_c", "precip_mm", "promo_intensity")   # z-scored with the training mean and s.d.
MAX_CATEGORIES = 1000  # a hierarchy column with more members gets no embedding (it would mostly memorise ids)


@dataclass
class Scaler:
    """What the fit learned about the inputs: per-series scale, exogenous standardisation, hierarchy vocabularies."""

    scale: pd.Series            # per series mean |y| (1 where 0); targets and lags are divided by it
    exog_cols: tuple            # exogenous columns of the training frame, in order
    mean: dict                  # continuous column -> training mean
    std: dict                   # continuous column -> training s.d. (1 where 0)
    price_median: pd.Series | None  # per series median positive price (the price input is price / median - 1)
    log_scale_mean: float
    log_scale_std: float
    hierarchy: pd.DataFrame     # series -> member of each used hierarchy column ("" = none)
    vocab: dict                 # hierarchy column -> sorted members (embedding index = position + 1; 0 unknown)


def fit_scaler(df: pd.DataFrame, exog_cols, hierarchy_cols) -> Scaler:
    """The :class:`Scaler` of a training frame (``series_id, ds, y``, exogenous and hierarchy columns)."""
    scale = df.groupby("series_id", sort=True)["y"].apply(lambda s: float(np.mean(np.abs(s))))
    scale = scale.where(scale > 0, 1.0)
    mean, std = {}, {}
    for c in (c for c in CONTINUOUS if c in exog_cols):
        v = df[c].to_numpy(dtype=float)
        mean[c] = float(np.mean(v))
        sd = float(np.std(v))
        std[c] = sd if sd > 1e-9 else 1.0
    price_median = None
    if "price" in exog_cols:
        price = df["price"].astype(float).where(lambda p: p > 0)
        price_median = price.groupby(df["series_id"]).median().reindex(scale.index)
    log_scale = np.log1p(scale.to_numpy())
    hier = hierarchy_codes(df, hierarchy_cols)
    vocab = {c: sorted(hier[c].unique()) for c in hier.columns if hier[c].nunique() <= MAX_CATEGORIES}
    return Scaler(scale, tuple(exog_cols), mean, std, price_median, float(log_scale.mean()),
                  float(log_scale.std()) or 1.0, hier[list(vocab)], vocab)


def known_names(scaler: Scaler, freq: str) -> list[str]:
    """Names of the known (calendar and exogenous) inputs, in the order of the panel's last axis."""
    cal = (["dow_sin", "dow_cos"] if freq == "D" else []) + ["year_sin", "year_cos"]
    events = list(event_flags(pd.DatetimeIndex([pd.Timestamp("2020-01-01")]), freq))
    return cal + events + list(scaler.exog_cols)


def _calendar(dates: np.ndarray, freq: str) -> np.ndarray:
    """Calendar inputs of an array of dates (any shape): cycles of the weekday (daily) and the year, event flags."""
    flat = dates.ravel()
    uniq, inv = np.unique(flat, return_inverse=True)
    idx = pd.DatetimeIndex(uniq)
    cols = []
    if freq == "D":
        dow = 2 * np.pi * idx.dayofweek.to_numpy() / 7
        cols += [np.sin(dow), np.cos(dow)]
    doy = 2 * np.pi * (idx.dayofyear.to_numpy() - 1) / 365.25
    cols += [np.sin(doy), np.cos(doy)]
    cols += list(event_flags(idx, freq).values())
    mat = np.column_stack(cols).astype(np.float32)
    return mat[inv].reshape(*dates.shape, mat.shape[1])


def _exog(rows: pd.DataFrame, scaler: Scaler) -> np.ndarray:
    """The exogenous inputs of frame rows; a column the rows lack gets its neutral value (no promotion, open,
    the mean temperature, the usual price)."""
    out = np.zeros((len(rows), len(scaler.exog_cols)), dtype=np.float32)
    for j, c in enumerate(scaler.exog_cols):
        if c not in rows.columns:
            out[:, j] = FLAGS.get(c, 0.0)
            continue
        v = rows[c].to_numpy(dtype=float)
        if c in scaler.mean:
            v = (v - scaler.mean[c]) / scaler.std[c]
        elif c == "price":
            med = rows["series_id"].map(scaler.price_median).to_numpy(dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                v = np.where((v > 0) & (med > 0), v / med - 1.0, 0.0)
        out[:, j] = np.nan_to_num(v, nan=FLAGS.get(c, 0.0))
    return out


@dataclass
class Panel:
    """Series on one right-aligned time axis: index ``end`` is every series' last observed date."""

    sids: np.ndarray            # (S,) series ids, sorted
    y: np.ndarray               # (S, T) scaled sales, 0 where not observed
    obs: np.ndarray             # (S, T) 1 where a sales value was observed
    known: np.ndarray           # (S, T, F) calendar and exogenous inputs
    promo: np.ndarray           # (S, T) the promotion flag (for the seasonal-lag promotion input)
    static_num: np.ndarray      # (S, 1) standardised log scale
    static_cat: np.ndarray      # (S, C) hierarchy member indices (0 unknown)
    first: np.ndarray           # (S,) index of each series' first observed date
    end: int
    weight: np.ndarray          # (S,) series scale / mean scale


def build_panel(history: pd.DataFrame, future: pd.DataFrame | None, scaler: Scaler, freq: str, horizon: int,
                pad: int) -> Panel:
    """Place ``history`` (and the ``future`` inputs after each series' last date) on one right-aligned axis.

    ``pad`` (>= the context length) empty steps come first so every encoder window stays inside the arrays and
    index 0 is never observed (lags before a series' start point there); ``horizon`` slots follow ``end``.
    Missing dates inside a series are unobserved steps.
    """
    step = freq_step(freq)
    sids = np.array(sorted(history["series_id"].unique()), dtype=object)
    s_of = pd.Series(np.arange(len(sids)), index=sids)
    last = history.groupby("series_id")["ds"].max().reindex(sids)
    span = ((last - history.groupby("series_id")["ds"].min().reindex(sids)) / step).round().astype(int)
    end = pad + int(span.max())
    T = end + 1 + horizon
    S = len(sids)
    offsets = (np.arange(T) - end)[None, :] * step.to_timedelta64()
    dates = last.to_numpy()[:, None] + offsets
    cal = _calendar(dates, freq)
    neutral = np.array([FLAGS.get(c, 0.0) for c in scaler.exog_cols], dtype=np.float32)
    exog = np.broadcast_to(neutral, (S, T, len(neutral))).copy()
    y = np.zeros((S, T), dtype=np.float32)
    obs = np.zeros((S, T), dtype=np.float32)
    promo = np.zeros((S, T), dtype=np.float32)
    promo_col = scaler.exog_cols.index("promo") if "promo" in scaler.exog_cols else None
    for frame, is_hist in ((history, True), (future, False)):
        if frame is None or frame.empty:
            continue
        frame = frame[frame["series_id"].isin(s_of.index)]
        s = s_of.reindex(frame["series_id"]).to_numpy()
        t = end - ((last.reindex(frame["series_id"]).to_numpy() - frame["ds"].to_numpy()) / step).round().astype(int)
        keep = (t >= 0) & (t < T) & ((t <= end) if is_hist else (t > end))
        s, t, frame = s[keep], t[keep], frame[keep]
        exog[s, t] = _exog(frame, scaler)
        if promo_col is not None:
            promo[s, t] = frame["promo"].to_numpy(dtype=np.float32)
        if is_hist:
            y[s, t] = frame["y"].to_numpy(dtype=float) / scaler.scale.reindex(frame["series_id"]).to_numpy()
            obs[s, t] = 1.0
    scale = scaler.scale.reindex(sids).fillna(1.0).to_numpy(dtype=float)
    static_num = ((np.log1p(scale) - scaler.log_scale_mean) / scaler.log_scale_std)[:, None].astype(np.float32)
    cats = [scaler.hierarchy[c].reindex(sids).map({v: i + 1 for i, v in enumerate(vocab)}).fillna(0)
            for c, vocab in scaler.vocab.items()]
    static_cat = (np.column_stack(cats) if cats else np.zeros((S, 0))).astype(np.int64)
    return Panel(sids, y, obs, np.concatenate([cal, exog], axis=2), promo, static_num, static_cat,
                 end - span.to_numpy(), end, (scale / scale.mean()).astype(np.float32))


def gather(panel: Panel, s: np.ndarray, o: np.ndarray, limit: np.ndarray, context: int, horizon: int, m: int,
           year_lag: int) -> dict[str, np.ndarray]:
    """The encoder and decoder inputs, targets and target mask of windows ``(s, o)`` (arrays of equal length).

    Targets after ``limit`` (per window) are masked: training windows never score a step of the validation part.
    """
    k = np.arange(1, horizon + 1)
    enc_t = o[:, None] + np.arange(1 - context, 1)[None, :]
    dec_t = o[:, None] + k[None, :]
    # lags before the axis start point at index 0, an empty step (every series starts at or after ``pad`` >= 1)
    sn_t = np.maximum(dec_t - m * np.ceil(k / m).astype(int)[None, :], 0)
    yr_ok = (k <= year_lag)[None, :]
    yr_t = np.maximum(np.where(yr_ok, dec_t - year_lag, o[:, None]), 0)
    S = s[:, None]
    enc = np.concatenate([panel.y[S, enc_t][..., None], panel.obs[S, enc_t][..., None], panel.known[S, enc_t]], 2)
    dec_extra = np.stack([panel.y[S, sn_t], panel.obs[S, sn_t], panel.y[S, yr_t] * yr_ok,
                          panel.obs[S, yr_t] * yr_ok, panel.promo[S, sn_t],
                          np.broadcast_to(k / horizon, dec_t.shape)], axis=2)
    dec = np.concatenate([panel.known[S, dec_t], dec_extra.astype(np.float32)], 2)
    mask = panel.obs[S, dec_t] * (dec_t <= limit[:, None])
    return {"enc": enc, "dec": dec, "static_num": panel.static_num[s], "static_cat": panel.static_cat[s],
            "target": panel.y[S, dec_t], "mask": mask.astype(np.float32), "weight": panel.weight[s]}


DECODER_EXTRA = 6  # the decoder inputs gather adds after the known ones


def windows(panel: Panel, context: int, val_steps: int, min_obs: int) -> tuple[np.ndarray, ...]:
    """Training and validation windows ``(s, o, limit)`` of a time-based split at ``end - val_steps``.

    Training windows have origins before the cutoff and score steps up to it; validation windows start at the
    cutoff (and every ``max(1, val_steps // 4)`` steps after it) and score only steps after it, so no training
    window ever sees a validation target, and nothing reads past the last observed date.
    """
    cut = panel.end - val_steps
    s_tr, o_tr = [], []
    for i, f in enumerate(panel.first):
        start = max(int(f) + min_obs - 1, context - 1)
        if start < cut:
            o = np.arange(start, cut)
            s_tr.append(np.full(len(o), i))
            o_tr.append(o)
    val_o = np.arange(cut, panel.end, max(1, val_steps // 4))
    ok = panel.first + min_obs - 1 <= cut
    s_val = np.repeat(np.flatnonzero(ok), len(val_o))
    o_val = np.tile(val_o, int(ok.sum()))
    s_tr = np.concatenate(s_tr) if s_tr else np.zeros(0, dtype=int)
    o_tr = np.concatenate(o_tr) if o_tr else np.zeros(0, dtype=int)
    return (s_tr, o_tr, np.full(len(o_tr), cut), s_val, o_val, np.full(len(o_val), panel.end))
