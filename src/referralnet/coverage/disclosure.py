"""Disclosure control for counts of people: primary and secondary cell suppression.

Primary: a count of people from 1 to ``threshold - 1`` is shown as ``"<threshold"`` (``"<10"``
by default); 0 is shown as 0.

Secondary: tables are published with their row and column totals, so hiding one cell of a row
is not enough: the row total minus the visible cells would give it back. Further figures are
hidden and shown as ``"x"`` ("hidden to protect a small count"; they are never 1-9, and showing
them as ``<10`` would be false). The additive lines of a table with its margins are each row
with its row total, each column with its column total, the row of column totals with the grand
total and the column of row totals with the grand total. The rule, per line:

    no hidden figure of a line can be worked out exactly from the line's visible figures and
    what the markers say (``<10`` is 1-9; ``x`` is 10 or more).

It covers the plain case (a line with exactly one hidden figure gives it back by subtraction)
and the one the markers add (row total 11 with a ``x`` and a ``<10``: they must be 10 and 1).
To hide few figures, each hidden figure alone in its row or column first gets the cheapest
rectangle (hypercube method): three more figures (i, l), (k, j), (k, l) such that the sum of
the visible values hidden is smallest, never a visible zero. Then, while a line breaks the rule,
its smallest visible non-zero cell is hidden too (its total when no cell can be), until every
line keeps it. Totals are shown unless small themselves or needed as a complement.

Limits: the rule is per line; it does not solve the linear program of the narrowest interval an
attacker could derive from many lines at once. A line whose figures are all hidden cannot be
helped (with threshold 3, a total ``<3`` of two ``<3`` cells is 1 + 1). Figures that appear in
several published tables (a shared margin) are kept in step with :func:`suppress_linked`.
Capacity and provider counts are not about people and are never passed through here. Pure.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_THRESHOLD = 10

HIDDEN = "x"  # a figure hidden so that a small one cannot be worked out (never 1 .. threshold - 1)
INF = float("inf")

Shown = int | str  # an exact count, "<10" (1-9) or "x" (hidden as a complement)


def label(threshold: int = DEFAULT_THRESHOLD) -> str:
    return f"<{threshold}"


def is_small(value: int, threshold: int = DEFAULT_THRESHOLD) -> bool:
    """A count of people that must not be published exactly (1 .. threshold - 1)."""
    return 0 < value < threshold


def show(value: int, suppressed: bool, threshold: int = DEFAULT_THRESHOLD) -> Shown:
    """The published form of a count: exact, ``"<threshold"`` when small, ``"x"`` when hidden otherwise."""
    if not suppressed:
        return int(value)
    return label(threshold) if is_small(value, threshold) else HIDDEN


def primary(value: int, threshold: int = DEFAULT_THRESHOLD) -> Shown:
    """One count on its own (no totals published with it): primary suppression only."""
    return show(value, is_small(value, threshold), threshold)


def extend(cells: np.ndarray) -> np.ndarray:
    """The table with its margins: row totals as the last column, column totals as the last row."""
    cells = np.asarray(cells, dtype=np.int64)
    if cells.ndim != 2:
        raise ValueError("a table of counts must be two-dimensional (rows x columns)")
    rows, cols = cells.shape
    out = np.zeros((rows + 1, cols + 1), dtype=np.int64)
    out[:rows, :cols] = cells
    out[:rows, cols] = cells.sum(axis=1)
    out[rows, :cols] = cells.sum(axis=0)
    out[rows, cols] = cells.sum()
    return out


def _lines(rows: int, cols: int) -> list[tuple[list[tuple[int, int]], tuple[int, int]]]:
    """Every additive line of an extended table of ``rows x cols`` cells: (its parts, its total)."""
    lines = [([(i, j) for j in range(cols)], (i, cols)) for i in range(rows + 1)]
    lines += [([(i, j) for i in range(rows)], (rows, j)) for j in range(cols + 1)]
    return lines


def _rectangles(x: np.ndarray, mask: np.ndarray, order: list[tuple[int, int]]) -> None:
    """For each hidden figure alone in its row or column, hide the cheapest rectangle around it.

    Hiding the three other corners (i, l), (k, j), (k, l) leaves every row and column of the
    rectangle with two hidden figures, at the cost of the visible values hidden; a visible zero
    is never used (hiding a known zero protects nothing).
    """
    for i, j in order:
        if mask[i].sum() >= 2 and mask[:, j].sum() >= 2:
            continue
        cost = np.where(mask, 0.0, np.where(x > 0, x.astype(np.float64), np.inf))
        total = cost[:, j][:, None] + cost[i, :][None, :] + cost
        total[i, :] = np.inf
        total[:, j] = np.inf
        k, l = np.unravel_index(int(np.argmin(total)), total.shape)  # noqa: E741 (the (i, l), (k, j) corners of the docstring)
        if np.isfinite(total[k, l]):
            mask[i, l] = mask[k, j] = mask[k, l] = True


def suppress_extended(x: np.ndarray, threshold: int = DEFAULT_THRESHOLD, forced: np.ndarray | None = None) -> np.ndarray:
    """The suppression mask of an extended table ``x`` (see :func:`extend`).

    ``forced`` marks figures that must be suppressed anyway (shared with another table). The
    rectangles of :func:`_rectangles` do most of the work with few figures hidden; the line rule
    then runs to a fixed point, which is what guarantees the result.
    """
    x = np.asarray(x, dtype=np.int64)
    rows, cols = x.shape[0] - 1, x.shape[1] - 1
    mask = (x > 0) & (x < threshold)
    if forced is not None:
        mask |= forced
    hidden = [(int(i), int(j)) for i, j in zip(*np.nonzero(mask))]
    _rectangles(x, mask, sorted(hidden, key=lambda e: (x[e], e)))
    lines = _lines(rows, cols)
    # Each entry belongs to exactly one row line and one column line.
    member: dict[tuple[int, int], list[int]] = {}
    for k, (parts, total) in enumerate(lines):
        for entry in (*parts, total):
            member.setdefault(entry, []).append(k)
    queue = deque(range(len(lines)))
    queued = set(queue)
    while queue:
        k = queue.popleft()
        queued.discard(k)
        parts, total = lines[k]
        if not exposed(x, mask, parts, total, threshold):
            continue
        pick = _complement(x, mask, parts, total)
        if pick is None:  # every figure of the line is hidden already: nothing more to do here
            continue
        mask[pick] = True
        for other in (k, *member[pick]):
            if other not in queued:
                queue.append(other)
                queued.add(other)
    return mask


def _bounds(value: int, hidden: bool, threshold: int) -> tuple[float, float]:
    """What a reader knows of a figure: its value, 1..threshold-1 (``<10``) or threshold.. (``x``)."""
    if not hidden:
        return value, value
    if 0 < value < threshold:
        return 1, threshold - 1
    return (threshold, INF) if value >= threshold else (0, INF)


def exposed(x: np.ndarray, mask: np.ndarray, parts: list[tuple[int, int]], total: tuple[int, int], threshold: int) -> bool:
    """Whether a hidden figure of the line ``sum(parts) = total`` follows exactly from the rest."""
    entries = [*parts, total]
    if not any(mask[e] for e in entries):
        return False
    b = {e: _bounds(int(x[e]), bool(mask[e]), threshold) for e in entries}
    lo_sum = sum(b[p][0] for p in parts)
    finite_hi = [b[p][1] for p in parts if b[p][1] != INF]
    hi_sum, infinite = sum(finite_hi), len(parts) - len(finite_hi)
    t_lo, t_hi = b[total]
    for e in entries:
        if not mask[e]:
            continue
        lo_e, hi_e = b[e]
        if e == total:
            lo, hi = lo_sum, (INF if infinite else hi_sum)
        else:
            others_hi = INF if infinite - (hi_e == INF) else hi_sum - (0 if hi_e == INF else hi_e)
            lo = t_lo - others_hi
            hi = t_hi - (lo_sum - lo_e)
        if max(lo_e, lo) >= min(hi_e, hi):
            return True
    return False


def _complement(x: np.ndarray, mask: np.ndarray, parts: list[tuple[int, int]], total: tuple[int, int]) -> tuple[int, int] | None:
    """The figure to hide in a line that gives a hidden one away: the smallest visible non-zero
    part, else the total, else (only with forced zeros) any visible part."""
    visible = [e for e in parts if not mask[e]]
    nonzero = [e for e in visible if x[e] > 0]
    if nonzero:
        return min(nonzero, key=lambda e: (x[e], e))
    if not mask[total]:
        return total
    return min(visible, key=lambda e: (x[e], e)) if visible else None


@dataclass(frozen=True)
class SafeTable:
    """A count table with its margins and the suppression mask of each figure."""

    cells: np.ndarray  # rows x cols
    row_totals: np.ndarray
    column_totals: np.ndarray
    total: int
    cells_hidden: np.ndarray
    row_totals_hidden: np.ndarray
    column_totals_hidden: np.ndarray
    total_hidden: bool

    @classmethod
    def of(cls, x: np.ndarray, mask: np.ndarray) -> SafeTable:
        return cls(
            cells=x[:-1, :-1],
            row_totals=x[:-1, -1],
            column_totals=x[-1, :-1],
            total=int(x[-1, -1]),
            cells_hidden=mask[:-1, :-1],
            row_totals_hidden=mask[:-1, -1],
            column_totals_hidden=mask[-1, :-1],
            total_hidden=bool(mask[-1, -1]),
        )

    def shown(self, threshold: int = DEFAULT_THRESHOLD) -> tuple[list[list[Shown]], list[Shown], list[Shown], Shown]:
        """(cells, row totals, column totals, total) with hidden figures as ``"<threshold"`` or ``"x"``."""

        def one(values: np.ndarray, hidden: np.ndarray) -> list[Shown]:
            return [show(int(v), bool(h), threshold) for v, h in zip(values, hidden)]

        return (
            [one(r, h) for r, h in zip(self.cells, self.cells_hidden)],
            one(self.row_totals, self.row_totals_hidden),
            one(self.column_totals, self.column_totals_hidden),
            show(self.total, self.total_hidden, threshold),
        )


def suppress_table(cells: np.ndarray | Sequence[Sequence[int]], threshold: int = DEFAULT_THRESHOLD) -> SafeTable:
    """Primary and secondary suppression of one table published with its row and column totals."""
    x = extend(np.asarray(cells, dtype=np.int64))
    return SafeTable.of(x, suppress_extended(x, threshold))


Link = tuple[tuple[int, tuple[int, int]], tuple[int, tuple[int, int]]]


def suppress_linked(tables: Sequence[np.ndarray], links: Sequence[Link], threshold: int = DEFAULT_THRESHOLD) -> list[SafeTable]:
    """Suppress several tables that publish some figures twice.

    ``links`` pair positions of the extended tables that hold the same figure,
    ``((table, (row, col)), (other_table, (row, col)))``; a figure hidden in one table is hidden
    in the other too, and the tables are suppressed again until nothing changes.
    """
    extended = [extend(np.asarray(t, dtype=np.int64)) for t in tables]
    forced = [np.zeros(x.shape, dtype=bool) for x in extended]
    while True:
        masks = [suppress_extended(x, threshold, f) for x, f in zip(extended, forced)]
        changed = False
        for (a, pa), (b, pb) in links:
            if masks[a][pa] != masks[b][pb]:
                forced[a][pa] = forced[b][pb] = True
                changed = True
        if not changed:
            return [SafeTable.of(x, m) for x, m in zip(extended, masks)]


def line_recoverable(x: np.ndarray, mask: np.ndarray, threshold: int = DEFAULT_THRESHOLD) -> list[tuple[int, int]]:
    """The (part, total) of every line that gives a hidden figure away (empty when the table is safe)."""
    rows, cols = x.shape[0] - 1, x.shape[1] - 1
    return [total for parts, total in _lines(rows, cols) if exposed(x, mask, parts, total, threshold)]
