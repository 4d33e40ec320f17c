"""Disclosure control: 1-9 shown as <10, complements shown as x, and no line gives a hidden figure back."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from referralnet.coverage import disclosure as d


def test_primary_shows_small_counts_as_less_than_ten() -> None:
    assert [d.primary(v) for v in (0, 1, 9, 10, 250)] == [0, "<10", "<10", 10, 250]
    assert d.primary(4, threshold=5) == "<5" and d.primary(5, threshold=5) == 5


def test_subtraction_would_reveal_a_small_cell() -> None:
    # Row "Iași": placed 12, unplaced 3 -> the row total 15 minus the visible 12 would give the 3 back.
    # Column "unplaced": 3 and 20 -> the column total 23 minus 20 would give it back as well.
    cells = [[12, 3], [30, 20]]
    safe = d.suppress_table(cells)
    shown = safe.shown()
    # The complements are 10 or more, so they are "x", not "<10"; all four corners are hidden.
    assert shown == ([["x", "<10"], ["x", "x"]], [15, 50], [42, 23], 65)
    assert d.line_recoverable(d.extend(np.array(cells)), d.suppress_extended(d.extend(np.array(cells)))) == []


def test_secondary_suppression_picks_the_cheapest_rectangle() -> None:
    cells = [[12, 3, 20], [15, 14, 30], [0, 11, 25]]
    cells_shown, rows, cols, total = d.suppress_table(cells).shown()
    # 3 is small; hiding 12, 15 and 14 (sum 41) protects it in its row and column at the least cost.
    assert cells_shown == [["x", "<10", 20], ["x", "x", 30], [0, 11, 25]]
    assert rows == [35, 59, 36] and cols == [27, 28, 75] and total == 130


def test_small_totals_are_hidden_and_protected() -> None:
    # A single small cell in a one-column table: its row total equals it and is hidden too, and
    # the column of row totals then needs a second hidden figure.
    cells_shown, rows, cols, total = d.suppress_table([[2], [30], [40]]).shown()
    assert cells_shown == [["<10"], ["x"], [40]]
    assert rows == ["<10", "x", 40] and cols == [72] and total == 72


def test_what_the_markers_say_is_taken_into_account() -> None:
    # Row total 11 = "x" + "<10": the x is at least 10 and the <10 at least 1, so they would be
    # 10 and 1 exactly; the row total is hidden as well.
    x = d.extend(np.array([[10, 1], [20, 30]]))
    mask = d.suppress_extended(x)
    assert mask[0, 2] and d.line_recoverable(x, mask) == []
    naive = np.zeros_like(mask)
    naive[0, 0] = naive[0, 1] = naive[1, 0] = naive[1, 1] = True
    assert d.line_recoverable(x, naive) == [(0, 2)]
    assert d.show(16, True) == "x" and d.show(6, True) == "<10" and d.show(6, False) == 6


def test_zeros_are_shown_and_tables_without_small_cells_are_unchanged() -> None:
    shown = d.suppress_table([[0, 10], [25, 0]]).shown()
    assert shown == ([[0, 10], [25, 0]], [10, 25], [25, 10], 35)


def test_linked_tables_hide_shared_figures_together() -> None:
    # Two tables publish the same column totals (by county and by urgency, per outcome).
    by_county = np.array([[12, 5], [2, 30]])
    by_urgency = np.array([[14, 20], [0, 15]])
    assert by_county.sum(axis=0).tolist() == by_urgency.sum(axis=0).tolist()
    links = [((0, (2, j)), (1, (2, j))) for j in range(3)]
    a, b = d.suppress_linked([by_county, by_urgency], links)
    for j in range(2):
        assert a.column_totals_hidden[j] == b.column_totals_hidden[j]
    assert a.total_hidden == b.total_hidden
    for x, t in ((by_county, a), (by_urgency, b)):
        mask = np.zeros((3, 3), dtype=bool)
        mask[:2, :2], mask[:2, 2], mask[2, :2], mask[2, 2] = t.cells_hidden, t.row_totals_hidden, t.column_totals_hidden, t.total_hidden
        assert d.line_recoverable(d.extend(x), mask) == []


small_counts = st.one_of(st.integers(0, 12), st.integers(0, 200))
tables = st.integers(1, 6).flatmap(
    lambda rows: st.integers(1, 6).flatmap(
        lambda cols: st.lists(st.lists(small_counts, min_size=cols, max_size=cols), min_size=rows, max_size=rows)
    )
)


def _recoverable(x: np.ndarray, mask: np.ndarray) -> list[tuple[int, int]]:
    """Independent check: hidden figures equal to a visible total minus the visible figures of its line."""
    found = []
    rows, cols = x.shape[0] - 1, x.shape[1] - 1
    for i in range(rows + 1):
        hidden = [j for j in range(cols + 1) if mask[i, j]]
        if len(hidden) == 1:
            j = hidden[0]
            # The line's visible figures determine the hidden one: total - parts, or parts summed.
            rest = sum(int(x[i, k]) for k in range(cols) if k != j)
            assert (int(x[i, cols]) - rest if j < cols else rest) == x[i, j]
            found.append((i, j))
    for j in range(cols + 1):
        hidden = [i for i in range(rows + 1) if mask[i, j]]
        if len(hidden) == 1:
            found.append((hidden[0], j))
    return found


@settings(max_examples=300, deadline=None)
@given(tables, st.sampled_from([3, 5, 10]))
def test_no_hidden_figure_can_be_recovered_by_subtraction(cells: list[list[int]], threshold: int) -> None:
    x = d.extend(np.array(cells))
    mask = d.suppress_extended(x, threshold)
    small = (x > 0) & (x < threshold)
    assert (mask | ~small).all(), "every small count is hidden"
    assert _recoverable(x, mask) == []
    # No line gives a figure away, except (the documented limit) a line with every figure hidden.
    for parts, total in d._lines(x.shape[0] - 1, x.shape[1] - 1):
        if d.exposed(x, mask, parts, total, threshold):
            assert all(mask[e] for e in (*parts, total))
    # Zeros are never hidden for their own sake and a table without small counts is left alone.
    if not small.any():
        assert not mask.any()
    safe = d.SafeTable.of(x, mask)
    shown_cells, _, _, _ = safe.shown(threshold)
    for row, original in zip(shown_cells, cells):
        for v, o in zip(row, original):
            assert v == o or (v == f"<{threshold}" and 0 < o < threshold) or (v == "x" and not 0 < o < threshold)
