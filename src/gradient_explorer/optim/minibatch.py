"""Shuffled mini-batches, epoch by epoch, a stream of its own for each ball.

Stochastic gradient descent as torch's ``DataLoader(shuffle=True, drop_last=False)``
feeds it: each epoch is a fresh permutation of the ``N`` examples cut into
``ceil(N / B)`` batches of ``B`` (the last one smaller when ``B`` does not divide ``N``),
so every example is used once per epoch. Ball ``i``'s permutation for epoch ``e`` comes
from the seed ``(seed, i, e)`` alone: a ball's batches do not depend on how many other
balls there are or when it was added, and the same seed gives the same run.

All balls are at the same batch position (the runner advances the stream once per step),
so at every step the batches have one size and stack into an ``(M, B)`` array.
"""

from __future__ import annotations

import math

import numpy as np

from gradient_explorer.errors import UsageError

__all__ = ["MAX_SEED", "MiniBatches", "check_batch_size", "check_seed"]

#: The largest seed: a session stores it as a signed 64-bit whole number.
MAX_SEED = 2**63 - 1


def _whole(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def check_batch_size(batch_size, n: int | None) -> int | None:
    """``batch_size`` as an int in 1..n, or None for the whole set (None or >= n, as
    torch's ``DataLoader`` gives one batch of all N); with ``n`` None (the data not read
    yet) the size alone is checked.

    The one check of a batch size, for :class:`MiniBatches`, a model's surface, the
    command line and the API: one message, a :class:`UsageError`.
    """
    if batch_size is None:
        return None
    if not _whole(batch_size) or batch_size < 1:
        raise UsageError(f"batch size must be a whole number >= 1, got {batch_size!r}")
    return None if n is not None and batch_size >= n else int(batch_size)


def check_seed(seed) -> int:
    """``seed`` as an int in 0..MAX_SEED (what a session can store); the one check of a
    seed, as :func:`check_batch_size` is of a batch size."""
    if not _whole(seed) or not 0 <= seed <= MAX_SEED:
        raise UsageError(f"seed must be a whole number from 0 to 2**63 - 1, got {seed!r}")
    return int(seed)


class MiniBatches:
    """The batch each ball uses at the current step.

    Parameters
    ----------
    n : int
        Number of examples.
    batch_size : int
        Examples per batch (1..n).
    seed : int
        The run's seed.
    """

    def __init__(self, n: int, batch_size: int, seed: int = 0) -> None:
        if not (isinstance(n, int) and n >= 1):
            raise UsageError(f"mini-batches need at least one example, got {n!r}")
        size = check_batch_size(batch_size, n)
        self.n = n
        self.batch_size = n if size is None else size
        self.seed = check_seed(seed)
        self.per_epoch = math.ceil(n / self.batch_size)
        self.reset()

    def reset(self) -> None:
        """Back to the first batch of the first epoch."""
        self.position = 0
        self._epoch = -1
        self._perms = np.zeros((0, self.n), dtype=np.intp)

    @property
    def epoch(self) -> int:
        """The current epoch (from 0)."""
        return self.position // self.per_epoch

    @property
    def index(self) -> int:
        """The current batch within its epoch (from 0)."""
        return self.position % self.per_epoch

    def advance(self) -> None:
        """On to the next batch (the next epoch after the last)."""
        self.position += 1

    def permutation(self, ball: int, epoch: int) -> np.ndarray:
        """Ball ``ball``'s order of the examples in epoch ``epoch``."""
        return np.random.default_rng([self.seed, int(ball), int(epoch)]).permutation(self.n)

    def rows(self, balls) -> np.ndarray:
        """The current batch of each ball in ``balls``: ``(len(balls), B_k)`` indices."""
        balls = np.asarray(balls, dtype=np.intp).reshape(-1)
        epoch = self.epoch
        if epoch != self._epoch:
            self._perms = np.zeros((0, self.n), dtype=np.intp)
            self._epoch = epoch
        need = int(balls.max()) + 1 if balls.size else 0
        if need > len(self._perms):
            fresh = [self.permutation(b, epoch) for b in range(len(self._perms), need)]
            self._perms = np.vstack([self._perms, *fresh]) if fresh else self._perms
        lo = self.index * self.batch_size
        return self._perms[balls, lo : min(lo + self.batch_size, self.n)]
