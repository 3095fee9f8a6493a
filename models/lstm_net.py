"""The LSTM's PyTorch part (:mod:`models.lstm`): the sequence-to-sequence network, its training and inference.

torch is imported inside the functions only, so importing ``models`` never needs it (``make deep`` installs it).
The network: an encoder LSTM over the context window and a decoder LSTM over the horizon's known inputs,
started from the encoder's state (direct sequence-to-sequence: the decoder never reads its own outputs, so no
error feeds back), both ``num_layers`` deep, with embeddings of the series' hierarchy members and its log scale
added to every step. A linear head gives the median and, through cumulative softplus steps, the other quantiles
in order; a linear skip from the decoder inputs to the median lets it start from the seasonal lags.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Callable

import numpy as np

log = logging.getLogger(__name__)

@contextmanager
def torch_session(threads: int, seed: int | None):
    """``torch`` with ``threads`` intra-op threads, deterministic algorithms and (with ``seed``) a seeded RNG;
    the caller's thread count, determinism flag and RNG state are restored afterwards."""
    import torch
    old_threads, old_det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(max(1, int(threads)))
    torch.use_deterministic_algorithms(True)
    try:
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(int(seed))
            yield torch
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det)


def make_network(config: dict):
    """A new network for ``config`` (``n_enc, n_dec, n_static, cards, hidden_size, num_layers, dropout,
    embedding_dim, quantiles``); its weights come from torch's (seeded) RNG."""
    import torch
    from torch import nn

    class Seq2SeqLSTM(nn.Module):
        def __init__(self, c: dict):
            super().__init__()
            self.embs = nn.ModuleList([nn.Embedding(n + 1, c["embedding_dim"]) for n in c["cards"]])
            n_static = c["n_static"] + c["embedding_dim"] * len(c["cards"])
            drop = c["dropout"] if c["num_layers"] > 1 else 0.0
            self.encoder = nn.LSTM(c["n_enc"] + n_static, c["hidden_size"], c["num_layers"], batch_first=True,
                                   dropout=drop)
            self.decoder = nn.LSTM(c["n_dec"] + n_static, c["hidden_size"], c["num_layers"], batch_first=True,
                                   dropout=drop)
            self.head = nn.Linear(c["hidden_size"], len(c["quantiles"]))
            self.skip = nn.Linear(c["n_dec"] + n_static, 1)
            self.mid = list(c["quantiles"]).index(0.5)

        def forward(self, enc, dec, static_num, static_cat):
            parts = [static_num] + [emb(static_cat[:, i]) for i, emb in enumerate(self.embs)]
            static = torch.cat(parts, dim=1)
            enc_in = torch.cat([enc, static[:, None, :].expand(-1, enc.shape[1], -1)], dim=2)
            dec_in = torch.cat([dec, static[:, None, :].expand(-1, dec.shape[1], -1)], dim=2)
            _, state = self.encoder(enc_in)
            out, _ = self.decoder(dec_in, state)
            raw = self.head(out)
            mid = self.mid
            med = raw[..., mid] + self.skip(dec_in)[..., 0]
            steps = nn.functional.softplus(raw)
            lower = med[..., None] - torch.flip(torch.cumsum(torch.flip(steps[..., :mid], [-1]), -1), [-1])
            upper = med[..., None] + torch.cumsum(steps[..., mid + 1:], -1)
            return torch.cat([lower, med[..., None], upper], dim=-1)

    return Seq2SeqLSTM(config)


def _tensors(torch, batch: dict) -> tuple:
    return (torch.from_numpy(np.ascontiguousarray(batch["enc"], dtype=np.float32)),
            torch.from_numpy(np.ascontiguousarray(batch["dec"], dtype=np.float32)),
            torch.from_numpy(np.ascontiguousarray(batch["static_num"], dtype=np.float32)),
            torch.from_numpy(np.ascontiguousarray(batch["static_cat"], dtype=np.int64)))


def pinball_sums(torch, pred, target, mask, quantiles, weight=None) -> tuple:
    """Sum of the pinball loss (mean over the quantiles) over the unmasked steps, and the sum of their weights
    (each window weighted by ``weight`` when given): their ratio is the mean loss."""
    q = torch.tensor(quantiles, dtype=pred.dtype)
    err = target[..., None] - pred
    if weight is not None:
        mask = mask * weight[:, None]
    return (torch.maximum(q * err, (q - 1) * err).mean(-1) * mask).sum(), mask.sum()


def predict_quantiles(net, gather: Callable, n: int, batch_size: int) -> np.ndarray:
    """The network's quantiles (windows x steps x quantiles, scaled units) for windows ``0..n-1``;
    ``gather(idx)`` returns the inputs of the windows at positions ``idx``."""
    import torch
    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            b = gather(np.arange(start, min(n, start + batch_size)))
            out.append(net(*_tensors(torch, b)).numpy())
    return np.concatenate(out) if out else np.zeros((0, 0, 0), dtype=np.float32)


def train(net, gather_train: Callable, n_train: int, p_train: np.ndarray, gather_val: Callable, n_val: int,
          settings: dict, rng: np.random.Generator) -> tuple[dict, list[float]]:
    """Train ``net`` with Adam on pinball loss; early stopping on the validation windows' loss.

    Each epoch draws ``windows_per_epoch`` training windows with probability ``p_train`` (the series' scale
    share, so the loss tracks errors in sales units as WAPE does, without the noise of weighting the loss), in
    batches of ``batch_size``; gradients are clipped to norm 1. After each epoch the scale-weighted validation
    loss is computed; training stops after ``patience`` epochs without improvement or at ``max_epochs``.

    Returns
    -------
    (state, history)
        The best epoch's weights as numpy arrays, and the validation loss of every epoch.
    """
    import torch
    quantiles = list(settings["quantiles"])
    opt = torch.optim.Adam(net.parameters(), lr=float(settings["learning_rate"]))
    best, best_state, history, waited = np.inf, None, [], 0
    bs = int(settings["batch_size"])
    for epoch in range(int(settings["max_epochs"])):
        t0 = time.perf_counter()
        net.train()
        draw = rng.choice(n_train, size=int(settings["windows_per_epoch"]), replace=True, p=p_train)
        for start in range(0, len(draw), bs):
            b = gather_train(draw[start:start + bs])
            pred = net(*_tensors(torch, b))
            num, den = pinball_sums(torch, pred, torch.from_numpy(b["target"]), torch.from_numpy(b["mask"]), quantiles)
            loss = num / den.clamp(min=1e-9)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
        val = validation_loss(net, gather_val, n_val, quantiles, bs * 4)
        history.append(val)
        log.info("lstm epoch %d: validation loss %.5f (%.1f s)", epoch + 1, val, time.perf_counter() - t0)
        if val < best - 1e-6:
            best, waited = val, 0
            best_state = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
        else:
            waited += 1
            if waited >= int(settings["patience"]):
                break
    if best_state is None:  # no finite validation loss (no validation window): the last weights
        best_state = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    return best_state, history


def validation_loss(net, gather_val: Callable, n_val: int, quantiles: list, batch_size: int) -> float:
    """Scale-weighted pinball loss of the validation windows (inf when there are none)."""
    import torch
    if n_val == 0:
        return float("inf")
    net.eval()
    num = den = 0.0
    with torch.no_grad():
        for start in range(0, n_val, batch_size):
            b = gather_val(np.arange(start, min(n_val, start + batch_size)))
            n, d = pinball_sums(torch, net(*_tensors(torch, b)), torch.from_numpy(b["target"]),
                                torch.from_numpy(b["mask"]), quantiles, torch.from_numpy(b["weight"]))
            num, den = num + float(n), den + float(d)
    return num / den if den > 0 else float("inf")


def load_network(config: dict, state: dict):
    """A network for ``config`` holding the saved weights ``state`` (numpy arrays), in evaluation mode."""
    import torch
    net = make_network(config)
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    return net.eval()
