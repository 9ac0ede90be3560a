"""The demo's events before they become text: one numpy row per touchpoint.

Planning appends blocks of rows (a kind, a time, who, on which device and in which visit, and
two kind-specific numbers); rendering turns the sorted rows into an ``INCOMING`` table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from touchpath.demo._arrow import I64, Bool

# event kinds; the renderer has one template per kind
(LANDING, PAGE, SEARCH, PRODUCT_VIEWED, PRODUCT_ADDED, CART_VIEWED, COUPON_APPLIED,
 CHECKOUT_STARTED, IDENTIFY, SIGNED_UP, CHECKOUT_STEP, PAYMENT_INFO, ORDER_COMPLETED,
 EMAIL_DELIVERED, EMAIL_OPENED, EMAIL_CLICKED, SURVEY, REVIEW, REFERRAL, REFUND) = range(20)
KIND_COUNT = 20

FIELDS = ("kind", "ts", "person", "device", "session", "user", "a", "b")


@dataclass
class Frame:
    """Columns of event rows; ``a`` and ``b`` mean what the kind says (see ``_render``)."""

    kind: I64
    ts: I64
    person: I64
    device: I64
    session: I64
    user: Bool
    a: I64
    b: I64

    def __len__(self) -> int:
        return len(self.ts)

    def window(self, lo: int, hi: int) -> Frame:
        """Rows ``lo:hi`` (views, no copy)."""
        return Frame(*(getattr(self, name)[lo:hi] for name in FIELDS))

    def take(self, index: I64) -> Frame:
        return Frame(*(getattr(self, name)[index] for name in FIELDS))


@dataclass
class FrameBuilder:
    """Collects blocks of rows; scalars broadcast to the block's length."""

    blocks: list[Frame] = field(default_factory=list)

    def add(
        self,
        kind: int | I64,
        ts: I64,
        person: I64,
        *,
        device: int | I64 = -1,
        session: int | I64 = -1,
        user: bool | Bool = False,
        a: int | I64 = 0,
        b: int | I64 = 0,
    ) -> None:
        n = len(ts)
        if n == 0:
            return

        def col(value: int | I64) -> I64:
            return np.broadcast_to(np.asarray(value, dtype=np.int64), (n,)).copy()

        self.blocks.append(Frame(
            col(kind), np.asarray(ts, dtype=np.int64), col(person), col(device), col(session),
            np.broadcast_to(np.asarray(user, dtype=np.bool_), (n,)).copy(), col(a), col(b),
        ))

    def build(self, end_us: int) -> Frame:
        """All rows before ``end_us``, sorted by time (stable, so the same seed gives the same
        order even where two rows share a microsecond)."""
        if not self.blocks:
            empty = np.zeros(0, dtype=np.int64)
            return Frame(empty, empty, empty, empty, empty, empty.astype(np.bool_), empty, empty)
        frame = Frame(*(np.concatenate([getattr(b, name) for b in self.blocks])
                        for name in FIELDS))
        self.blocks = []
        keep = np.flatnonzero(frame.ts < end_us)
        frame = frame.take(keep)
        return frame.take(np.argsort(frame.ts, kind="stable"))
