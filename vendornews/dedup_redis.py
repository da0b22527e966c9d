"""Near-duplicate groups in the Redis of a crawl frontier, shared by all its workers.

:class:`RedisDupIndex` gives the same answers as :class:`vendornews.dedup.DupIndex` (same
signatures, same LSH bands, same tie-break), so a story syndicated on two sites gets one
``dup_group`` whichever workers fetch its copies. Keys (``PREFIX`` as for the frontier;
``vendornews frontier reset`` leaves them alone: tomorrow's copy joins today's group)::

    PREFIX:dup:meta           hash  signature parameters (checked, as in dup_meta)
    PREFIX:dup:groups         hash  member -> group id
    PREFIX:dup:signatures     hash  member -> MinHash hash values (uint32, little-endian)
    PREFIX:dup:arrivals       hash  member -> arrival number (ties go to the earliest)
    PREFIX:dup:layouts        set   LSH band layouts built ("BxR": B bands of R values)
    PREFIX:dup:band:BxR:I:KEY set   members whose band I hashes to KEY (the LSH)

The band layout follows the threshold (as DupIndex rebuilds its LSH at every open): an index
opened with a threshold whose layout is not built yet builds it from the stored signatures,
and every assignment goes into every built layout, so workers with different thresholds
still see each other's members. One assignment at a time holds ``PREFIX:dup:lock``, so two
workers assigning two copies of one story at once cannot both start a group. Memory: about
5 KB of Redis per article version (its signature and one set entry per band).
Pure module: redis-py, no Scrapy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import redis
from datasketch import MinHashLSH

from vendornews.dedup import (
    DEFAULT_NUM_PERM,
    DEFAULT_THRESHOLD,
    band_key,
    closest_group,
    compact,
    from_blob,
    member_id,
    signature,
    signature_params,
)
from vendornews.frontier import DEFAULT_PREFIX, as_text

# Seconds a worker may hold the assignment lock (a killed worker's lock expires).
LOCK_TIMEOUT = 30


class RedisDupIndex:
    """:class:`~vendornews.dedup.DupIndex`'s ``assign`` / ``group_of`` / ``len``, in Redis."""

    def __init__(self, client: redis.Redis, prefix: str = DEFAULT_PREFIX,
                 threshold: float = DEFAULT_THRESHOLD,
                 num_perm: int = DEFAULT_NUM_PERM) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.client = client
        self.threshold = threshold
        self.num_perm = num_perm
        self.prefix = f"{prefix}:dup"
        # The band layout DupIndex's in-memory LSH uses for this threshold.
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._layout = f"{lsh.b}x{lsh.r}"
        self._check_meta()
        if not self.client.sismember(self._layouts_key, self._layout):
            with self._lock():
                self._build(self._layout)

    def _check_meta(self) -> None:
        key = f"{self.prefix}:meta"
        wanted = signature_params(self.num_perm)
        for name, value in wanted.items():
            self.client.hsetnx(key, name, value)
        stored = {as_text(k): as_text(v) for k, v in self.client.hgetall(key).items()}
        for name, value in wanted.items():
            if stored[name] != value:
                raise ValueError(f"dup index in Redis was built with {name}={stored[name]!r}, "
                                 f"not {value!r}: delete {self.prefix}:* to rebuild it")

    def __len__(self) -> int:
        """Number of distinct article versions known to all workers."""
        return int(self.client.hlen(f"{self.prefix}:groups"))

    def group_of(self, member: str) -> str | None:
        group = self.client.hget(f"{self.prefix}:groups", member)
        return as_text(group) if group is not None else None

    @property
    def _layouts_key(self) -> str:
        return f"{self.prefix}:layouts"

    def _lock(self) -> Any:
        # Short polls: a worker waits on the reactor thread.
        return self.client.lock(f"{self.prefix}:lock", timeout=LOCK_TIMEOUT,
                                blocking_timeout=LOCK_TIMEOUT * 2, sleep=0.005)

    def _band_keys(self, values: np.ndarray, layout: str) -> list[str]:
        bands, rows = (int(n) for n in layout.split("x"))
        return [f"{self.prefix}:band:{layout}:{i}:"
                f"{band_key(values[i * rows:(i + 1) * rows].tobytes()).hex()}"
                for i in range(bands)]

    def _build(self, layout: str) -> None:
        """Put every stored signature into the bands of ``layout`` (under the lock)."""
        if self.client.sismember(self._layouts_key, layout):
            return
        pipe = self.client.pipeline()
        for member, blob in self.client.hscan_iter(f"{self.prefix}:signatures"):
            for band in self._band_keys(from_blob(blob, self.num_perm), layout):
                pipe.sadd(band, member)
        pipe.sadd(self._layouts_key, layout)
        pipe.execute()

    def assign(self, url: str, body: str, content_hash: str | None = None) -> str:
        """The ``dup_group`` of this article version; remembered for all workers."""
        member = member_id(url, content_hash)
        if (known := self.group_of(member)) is not None:
            return known
        minhash = signature(body, self.num_perm)
        values = None if minhash is None else compact(minhash)
        with self._lock():
            if (known := self.group_of(member)) is not None:
                return known
            group = member
            if values is not None:
                candidates = self._candidates(self._band_keys(values, self._layout))
                group = closest_group(values, candidates, self.threshold) or member
            pipe = self.client.pipeline()
            pipe.hset(f"{self.prefix}:groups", member, group)
            pipe.hset(f"{self.prefix}:arrivals", member,
                      self.client.hlen(f"{self.prefix}:arrivals"))
            if values is not None:
                pipe.hset(f"{self.prefix}:signatures", member, values.tobytes())
                for layout in sorted(as_text(x) for x in self.client.smembers(self._layouts_key)):
                    for band in self._band_keys(values, layout):
                        pipe.sadd(band, member)
            pipe.execute()
        return group

    def _candidates(self, bands: list[str]) -> list[tuple[str, np.ndarray, int, str]]:
        members = sorted(as_text(m) for m in self.client.sunion(bands)) if bands else []
        if not members:
            return []
        pipe = self.client.pipeline()
        pipe.hmget(f"{self.prefix}:signatures", members)
        pipe.hmget(f"{self.prefix}:arrivals", members)
        pipe.hmget(f"{self.prefix}:groups", members)
        signatures, arrivals, groups = pipe.execute()
        return [(m, from_blob(sig, self.num_perm), int(order), as_text(group))
                for m, sig, order, group in zip(members, signatures, arrivals, groups,
                                                strict=True)]

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> RedisDupIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
