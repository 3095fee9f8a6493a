"""A global deep model: a two-layer sequence-to-sequence LSTM (PyTorch, CPU) with quantile outputs.

One network is trained over all series on windows of their scaled history (each series divided by its mean
absolute value). The encoder reads the last ``context_length`` steps: scaled sales, an observed flag, calendar
(weekday and year cycles, Easter flags), promotion, holiday, weather and the plan's depth, price and open flag.
The decoder reads the same known inputs for the ``horizon`` steps ahead (the plan's future promotions, prices and
closures when ``X_future`` carries them), plus the seasonal-naive value, the value a year before and whether the
seasonal-lag day was promoted. It emits the 2.5/10/50/90/97.5% quantiles of every step at once (direct
multi-horizon), trained with the pinball loss; the median is the point forecast, the 10-90% and 2.5-97.5% pairs
the 80% and 95% intervals (ordered by construction). Early stopping watches the loss on the last ``val_steps``
of the training history (a time split: training windows never score a validation step), and the intervals are
then rescaled so that they cover their nominal share of those validation steps (normalised conformalised
quantile regression). Seeded and deterministic on CPU for a given thread count.

torch is optional (``make deep``); :meth:`LSTMForecaster.missing_dependency` says why the model cannot run.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from domain import HIERARCHY_COLS, freq_step
from models.base import DEFAULT_HORIZON, BaseForecaster, exog_columns
from models.intervals import nest_intervals, tail
from models.lstm_data import DECODER_EXTRA, YEAR_LAG, build_panel, fit_scaler, gather, known_names, windows

TORCH_MISSING = ("model 'lstm' needs PyTorch, which is not installed: run `make deep` (installs "
                 "requirements-deep.txt, the CPU build of torch) or choose other --models")
DEFAULT_CONTEXT = {"D": 28, "W": 26}


class LSTMForecaster(BaseForecaster):
    """Global sequence-to-sequence LSTM with quantile (pinball-loss) outputs.

    Parameters
    ----------
    freq : {'D', 'W'}, default 'D'
    season_length : int, optional
        Season length ``m`` (default 7 daily, 52 weekly): the seasonal-naive decoder input uses lag
        ``m * ceil(k / m)`` for step ``k``.
    horizon : int, optional
        Decoder length, the largest step ahead (default 42 daily, 6 weekly); ``make_model`` sets the refresh's.
    context_length : int, optional
        Encoder length (default 28 days or 26 weeks): recent level, trend and promotions. Longer season
        patterns reach the decoder through its seasonal and year-ago inputs, which keeps the sequences short.
    hidden_size, num_layers, dropout, embedding_dim : int, int, float, int, default 32, 2, 0.1, 4
        LSTM width and depth (encoder and decoder each), dropout between the layers, and the width of the
        embedding of each hierarchy member (category, product, region, store). Small, to train on 2 cores.
    quantiles : tuple of float, default (0.025, 0.1, 0.5, 0.9, 0.975)
        Quantiles the network emits; must hold 0.5 (the point forecast). Interval levels not given by a
        symmetric pair are interpolated between the quantiles on the normal scale.
    max_epochs, patience : int, default 30, 4
        Epochs at most; stop after ``patience`` epochs without a better validation loss (the best weights are kept).
    windows_per_epoch, batch_size : int, default 8192, 256
        Windows drawn per epoch (with probability proportional to the series' scale) and per optimiser step:
        a sample of the hundreds of thousands of windows a daily panel has, which bounds the cost of an epoch.
    learning_rate : float, default 0.003
        Adam's step size.
    val_steps : int, optional
        Length of the validation part at the end of the history (default ``min(horizon, history // 5)``).
        The network learns from the steps before it only; forecasts still read the whole history.
    min_history : int, optional
        Observations a series needs before a window's origin (default one season, ``m``: then every weekly
        training window has its year-ago values, as every forecast of a series with a year of history does).
    calibrate : bool, default True
        Rescale each interval around the median so that it covers its nominal share of the validation steps.
    num_threads : int, default 1
        torch intra-op threads for fit and predict (the refresh passes its per-worker budget, 1). One by
        default: on a shared 2-core machine a second thread spins against the other processes and an epoch
        took minutes instead of seconds.
    seed : int, default 0
        Seeds the weights, dropout and the window draws.
    hierarchy_cols : tuple of str, default ``domain.HIERARCHY_COLS``
        Columns naming each series' members; each gets an embedding (columns absent or with more than 1,000
        members are left out).
    """

    name = "lstm"
    uses_exog = True
    is_global = True
    fitted_on_demand = True
    horizon_aware = True

    def __init__(self, freq: str = "D", season_length: int | None = None, horizon: int | None = None,
                 context_length: int | None = None, hidden_size: int = 32, num_layers: int = 2,
                 dropout: float = 0.1, embedding_dim: int = 4, quantiles: tuple = (0.025, 0.1, 0.5, 0.9, 0.975),
                 max_epochs: int = 30, patience: int = 4, windows_per_epoch: int = 8192, batch_size: int = 256,
                 learning_rate: float = 0.003, val_steps: int | None = None, min_history: int | None = None,
                 calibrate: bool = True,
                 num_threads: int = 1, seed: int = 0, hierarchy_cols: tuple = HIERARCHY_COLS):
        super().__init__(freq=freq, season_length=season_length)
        self.horizon = horizon
        self.context_length = context_length
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.embedding_dim = embedding_dim
        self.quantiles = quantiles
        self.max_epochs = max_epochs
        self.patience = patience
        self.windows_per_epoch = windows_per_epoch
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.val_steps = val_steps
        self.min_history = min_history
        self.calibrate = calibrate
        self.num_threads = num_threads
        self.seed = seed
        self.hierarchy_cols = hierarchy_cols

    @staticmethod
    def missing_dependency() -> str | None:
        """None when torch imports, else the message naming ``make deep``."""
        try:
            import torch  # noqa: F401
        except ImportError:
            return TORCH_MISSING
        return None

    # ------------------------------------------------------------------ sizes
    @property
    def horizon_steps(self) -> int:
        """The decoder length (``horizon``, default six weeks)."""
        return int(self.horizon) if self.horizon else DEFAULT_HORIZON.get(self.freq, 6)

    @property
    def context_steps(self) -> int:
        """The encoder length (``context_length``, default 28 days or 26 weeks)."""
        return int(self.context_length or DEFAULT_CONTEXT.get(self.freq, 26))

    def _window_args(self) -> dict:
        return {"context": self.context_steps, "horizon": self.horizon_steps, "m": self.m,
                "year_lag": YEAR_LAG.get(self.freq, 52)}

    # ------------------------------------------------------------------ fit
    def _fit(self, df: pd.DataFrame) -> None:
        message = self.missing_dependency()
        if message:
            raise ValueError(message)
        qs = tuple(float(q) for q in self.quantiles)
        if 0.5 not in qs or list(qs) != sorted(set(qs)) or not all(0 < q < 1 for q in qs):
            raise ValueError(f"lstm: quantiles must be increasing, inside (0, 1) and hold 0.5; got {self.quantiles}")
        from models.lstm_net import make_network, torch_session, train
        H, L = self.horizon_steps, self.context_steps
        cols = ["series_id", "ds", "y", *exog_columns(df)]
        hier = [c for c in self.hierarchy_cols if c in df.columns]
        self.history_ = df[cols].reset_index(drop=True)
        self.scaler_ = fit_scaler(df[cols + hier], exog_columns(df), self.hierarchy_cols)
        panel = build_panel(self.history_, None, self.scaler_, self.freq, H, pad=L)
        span = panel.end - int(panel.first.min()) + 1
        val = int(self.val_steps) if self.val_steps else max(1, min(H, span // 5))
        s_tr, o_tr, l_tr, s_va, o_va, l_va = windows(panel, L, val, self._min_obs())
        if len(s_tr) < 10 or len(s_va) == 0:
            raise ValueError(f"lstm: too little history: {len(s_tr)} training windows before the last {val} "
                             f"steps (each series needs more than {self._min_obs() + val} observations)")
        self.config_ = {"n_enc": 2 + panel.known.shape[2], "n_dec": panel.known.shape[2] + DECODER_EXTRA,
                        "n_static": panel.static_num.shape[1], "cards": [len(v) for v in self.scaler_.vocab.values()],
                        "hidden_size": int(self.hidden_size), "num_layers": int(self.num_layers),
                        "dropout": float(self.dropout), "embedding_dim": int(self.embedding_dim), "quantiles": qs,
                        "inputs": known_names(self.scaler_, self.freq)}
        wa = self._window_args()
        p = panel.weight[s_tr].astype(float)
        settings = {k: getattr(self, k) for k in ("max_epochs", "patience", "windows_per_epoch", "batch_size",
                                                   "learning_rate")} | {"quantiles": qs}
        with torch_session(self.num_threads, self.seed):
            net = make_network(self.config_)
            self.net_state_, self.val_history_ = train(
                net, lambda i: gather(panel, s_tr[i], o_tr[i], l_tr[i], **wa), len(s_tr), p / p.sum(),
                lambda i: gather(panel, s_va[i], o_va[i], l_va[i], **wa), len(s_va), settings,
                np.random.default_rng(self.seed))
        self._net_cache = None
        self.interval_factors_ = self._calibration(panel, s_va, o_va, l_va) if self.calibrate else {}
        self.train_windows_, self.val_steps_ = int(len(s_tr)), val
        self.fitted_values_ = None  # computed on first use

    def _min_obs(self) -> int:
        return max(1, int(self.min_history or self.m))

    def _network(self):
        if getattr(self, "_net_cache", None) is None:
            from models.lstm_net import load_network
            self._net_cache = load_network(self.config_, self.net_state_)
        return self._net_cache

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_net_cache", None)  # saved as numpy weights (net_state_) + config_ + scaler_; rebuilt on use
        return state

    def _quantiles(self, panel, s, o, limit) -> np.ndarray:
        """Scaled quantile forecasts (windows x horizon x quantiles) of windows ``(s, o)``."""
        from models.lstm_net import predict_quantiles, torch_session
        wa = self._window_args()
        with torch_session(self.num_threads, None):
            return predict_quantiles(self._network(), lambda i: gather(panel, s[i], o[i], limit[i], **wa), len(s),
                                     max(256, int(self.batch_size) * 4))

    def _calibration(self, panel, s, o, limit) -> dict:
        """Per symmetric quantile pair, the factor that makes its interval (around the median) cover its nominal
        share of the validation steps."""
        Q = self._quantiles(panel, s, o, limit)
        b = gather(panel, s, o, limit, **self._window_args())
        ok = b["mask"] > 0
        qs = list(self.config_["quantiles"])
        mid = qs.index(0.5)
        y, med = b["target"][ok], Q[..., mid][ok]
        factors = {}
        for i, q in enumerate(qs[:mid]):
            j = len(qs) - 1 - i
            if abs(qs[j] + q - 1) > 1e-9 or len(y) < 20:
                continue
            lo, hi = Q[..., i][ok], Q[..., j][ok]
            r = np.where(y < med, (med - y) / np.maximum(med - lo, 1e-6), (y - med) / np.maximum(hi - med, 1e-6))
            level = min(1.0, (qs[j] - q) * (1 + 1 / len(y)))
            factors[q] = float(np.quantile(r, level))
        return factors

    # ------------------------------------------------------------------ predict
    def _predict(self, h: int, X_future: pd.DataFrame | None, levels: tuple[int, ...]) -> pd.DataFrame:
        H = self.horizon_steps
        if h > H:
            raise ValueError(f"lstm was fitted for horizon {H}; refit with horizon={h} "
                             f"(make_model('lstm', freq, horizon={h})) to forecast {h} steps")
        panel = build_panel(self.history_, X_future, self.scaler_, self.freq, H, pad=self.context_steps)
        s = np.arange(len(panel.sids))
        o = np.full(len(s), panel.end)
        Q = self._quantiles(panel, s, o, o)[:, :h, :]
        Q = self._calibrated(Q) * self.scaler_.scale.reindex(panel.sids).to_numpy()[:, None, None]
        last = self.last_ds_.reindex(panel.sids).to_numpy()
        ds = last[:, None] + np.arange(1, h + 1)[None, :] * freq_step(self.freq).to_timedelta64()
        out = pd.DataFrame({"series_id": np.repeat(panel.sids, h).astype(str), "ds": ds.ravel()})
        qs = list(self.config_["quantiles"])
        flat = Q.reshape(-1, len(qs))
        out["yhat"] = flat[:, qs.index(0.5)]
        for lv in levels:
            out[f"yhat_lo_{lv}"] = quantile_at(flat, qs, tail(lv))
            out[f"yhat_hi_{lv}"] = quantile_at(flat, qs, 1 - tail(lv))
        nest_intervals(out, levels)
        return out

    def _calibrated(self, Q: np.ndarray) -> np.ndarray:
        """``Q`` with each calibrated pair rescaled around the median by its factor, then sorted along the quantiles
        (rescaled pairs can cross: a narrow pair widened past a wider one)."""
        qs = list(self.config_["quantiles"])
        mid = qs.index(0.5)
        out = Q.copy()
        for q, f in getattr(self, "interval_factors_", {}).items():
            i, j = qs.index(q), len(qs) - 1 - qs.index(q)
            out[..., i] = Q[..., mid] - f * (Q[..., mid] - Q[..., i])
            out[..., j] = Q[..., mid] + f * (Q[..., j] - Q[..., mid])
        return np.sort(out, axis=-1)

    # ------------------------------------------------------------------ in-sample fits
    def fitted_values(self) -> pd.DataFrame:
        """In-sample median forecasts from origins every ``horizon`` steps (each step forecast once, as it would
        have been from its block's origin; NaN before the first origin), computed on first use."""
        if getattr(self, "is_fitted_", False) and self.fitted_values_ is None:
            H, L = self.horizon_steps, self.context_steps
            panel = build_panel(self.history_, None, self.scaler_, self.freq, H, pad=L)
            starts = panel.first + self._min_obs() - 1
            s = np.concatenate([np.full(len(range(a, panel.end, H)), i) for i, a in enumerate(starts)])
            o = np.concatenate([np.arange(a, panel.end, H) for a in starts])
            fitted = np.full(panel.y.shape, np.nan)
            if len(s):
                med = self._quantiles(panel, s, o, np.full(len(s), panel.end))[..., list(
                    self.config_["quantiles"]).index(0.5)]
                t = o[:, None] + np.arange(1, H + 1)[None, :]
                keep = t <= panel.end
                fitted[np.broadcast_to(s[:, None], t.shape)[keep], t[keep]] = med[keep]
            fitted *= self.scaler_.scale.reindex(panel.sids).to_numpy()[:, None]
            hist = self.history_
            row_s = pd.Series(np.arange(len(panel.sids)), index=panel.sids).reindex(hist["series_id"]).to_numpy()
            step = freq_step(self.freq)
            row_t = panel.end - ((hist["series_id"].map(self.last_ds_) - hist["ds"]) / step).round().astype(int)
            self.fitted_values_ = hist[["series_id", "ds", "y"]].assign(yhat=fitted[row_s, row_t.to_numpy()])
        return super().fitted_values()


def quantile_at(Q: np.ndarray, qs: list, p: float) -> np.ndarray:
    """The ``p`` quantile of each row of ``Q`` (columns at probabilities ``qs``): the column itself when ``p`` is
    one of ``qs``, else linear on the normal scale between the neighbouring columns (beyond the outermost ones,
    the slope of the outermost pair)."""
    if any(abs(p - q) < 1e-12 for q in qs):
        return Q[:, int(np.argmin([abs(p - q) for q in qs]))]
    z = stats.norm.ppf(qs)
    zp = float(stats.norm.ppf(p))
    j = int(np.clip(np.searchsorted(z, zp), 1, len(qs) - 1))
    w = (zp - z[j - 1]) / (z[j] - z[j - 1])
    return Q[:, j - 1] + w * (Q[:, j] - Q[:, j - 1])
