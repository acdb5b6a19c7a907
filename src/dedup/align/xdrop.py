"""The X-drop kernels of the extension stage: a banded alignment from an edge outward,
scalar (one edge, Python ints) and vectorised (one NumPy step per row for many edges),
equal cell for cell, ties included. Their scores and constants live here only."""

from __future__ import annotations

import numpy as np


# Extension: a band of this many dropped or added words either way, stopped once the
# score falls this far below its best (match +1, change/gap -1); ending where copy and
# source both reach a sentence boundary is worth this much.
BAND = 3
X_DROP = 4
BOUNDARY_BONUS = 2


def words_to_skip(equal_words, reach):
    """Words an extension passes before its X-drop window: when more words than the reach
    are equal on the diagonal (a copy whose shingles the text said before, so no seed
    marks it), all but the last few, which the window weighs for sentence ends
    (``BOUNDARY_BONUS`` < what is left, so no skipped cell could have been the best);
    else none, and the window is the alignment's first."""
    margin = min(reach, 2 * BAND)
    return np.where(equal_words > reach, equal_words - margin, 0)


# Cells of a row of the band (BAND either side of the diagonal), and the score of a cell
# that no alignment reaches.
_WIDTH = 2 * BAND + 1
_NO_SCORE = -(1 << 30)
_SLOTS = np.arange(_WIDTH, dtype=np.int64)[:, None]  # band slots as a column: arrays are (slot, lane)


def banded_x_drop(words, padded, copy_bound, source_bound, rows_room, cols_room) -> np.ndarray:
    """(rows, columns, matches) of the best cell of every edge's alignment (see ``extend_edge``,
    which this follows cell for cell, ties included), from its window's words and
    boundaries (the lanes' windows, see :mod:`dedup.align.extend`), each an array of
    (position, lane). Lanes: one edge each; a lane leaves when its alignment ends (its
    rows run out or the X-drop stops it).

    A row of the band costs a fixed number of NumPy steps over all lanes, so the steps
    are few: a cell is one integer, ``((score + slot) << H) | (slot << T) | (tie << S) |
    matches``, whose order is the order the recurrence needs. The diagonal step and the
    step down are one addition each, the better of them one maximum (on equal scores the
    tie bit prefers the diagonal), and the steps along the row one running maximum (on
    equal scores the higher slot, the cell's own value, wins). The best cell of a row is
    one maximum of ``(value << 3 + S) | (last slot - slot) << S | matches``: the highest
    value, then the first slot."""
    lanes = words.shape[1]
    if lanes == 0:
        return np.zeros((0, 3), dtype=np.int64)
    rows = words.shape[0]
    # Below any score an alignment of these rows reaches (at least -(2 * rows + BAND)),
    # and small enough that shifted it stays far inside the cells' integers.
    unreached = -4 * (rows + _WIDTH) - 64
    matches_bits = (rows + 1).bit_length()  # S: matches (at most one per row) never reach the tie bit
    slot_at = matches_bits + 1  # T
    score_at = slot_at + 3  # H
    # Cells in 32-bit integers when every value fits (extension windows are a few dozen
    # rows): half the bytes for each step to pass over. A cell that no alignment
    # reaches loses at most 2 a row from ``unreached``; shifted by ``score_at``, and a
    # row's best (below) by ``matches_bits + 3``, it stays inside 31 bits.
    lowest = -unreached + 2 * rows + 2 * _WIDTH + BOUNDARY_BONUS
    cell_type = np.int32 if lowest << (score_at + 1) < 1 << 31 else np.int64
    matches_mask = cell_type((1 << matches_bits) - 1)
    clear = ~cell_type((7 << slot_at) | (1 << matches_bits))  # the slot and tie bits
    slots = _SLOTS.astype(cell_type)
    slot_bits = slots << slot_at
    diagonal_same = cell_type((1 << score_at) + 1 + (1 << matches_bits))  # score + 1, matches + 1, tie bit
    diagonal_other = cell_type(-(1 << score_at) + (1 << matches_bits))  # score - 1, tie bit
    equal_gain = cell_type(diagonal_same - diagonal_other)
    down = cell_type((2 << score_at) + (1 << slot_at))  # from the next slot: score - 1, slot - 1
    first_slot_first = (_WIDTH - 1 - slots) << matches_bits
    columns = _SLOTS - BAND
    first = np.where((columns >= 0) & (columns <= cols_room[None, :]), -np.maximum(columns, 0), unreached)
    code = ((first.astype(cell_type) + slots) << score_at) | slot_bits
    # Cells beyond a lane's source room, or before the source edge, hold no score: capped.
    positions = np.arange(padded.shape[0])[:, None] - BAND
    cap = np.where(
        (positions >= 0) & (positions <= cols_room[None, :]),
        np.iinfo(cell_type).max,
        cell_type(unreached) << cell_type(score_at),
    ).astype(cell_type, copy=False)
    best_value = np.where(copy_bound[0] & source_bound[BAND], BOUNDARY_BONUS, 0).astype(np.int64)
    best_score = np.zeros(lanes, dtype=np.int64)
    best = np.zeros((3, lanes), dtype=np.int64)  # rows, columns, matches of each lane's best cell
    out = np.zeros((lanes, 3), dtype=np.int64)
    lane = np.arange(lanes)  # the lane of each column of the working arrays
    alive = np.ones(lanes, dtype=bool)
    for i in range(1, rows + 1):
        alive &= i <= rows_room
        count = int(np.count_nonzero(alive))
        if count == 0:
            break
        if 2 * count <= len(lane) and len(lane) > 16:
            # Leave the lanes that ended (while most go on, computing them costs less).
            out[lane] = best.T
            lane, rows_room, best_value, best_score = (x[alive] for x in (lane, rows_room, best_value, best_score))
            words, padded, copy_bound, source_bound, cap, code, best = (
                x[:, alive] for x in (words, padded, copy_bound, source_bound, cap, code, best)
            )
            alive = np.ones(count, dtype=bool)
        # Diagonal (i-1, j-1): the same band slot; down (i-1, j), a word added in the copy:
        # the next slot, taken only when better; then left (i, j-1), a word dropped.
        cell = np.equal(words[i - 1], padded[i : i + _WIDTH]).astype(cell_type)
        cell *= equal_gain
        cell += code
        cell += diagonal_other
        np.maximum(cell[:-1], code[1:] - down, out=cell[:-1])
        _accumulated_rows(np.maximum, cell)
        cell &= clear
        cell |= slot_bits
        code = np.minimum(cell, cap[i : i + _WIDTH], out=cell)
        score = code >> score_at
        score -= slots
        row_best = score.max(axis=0)
        going = row_best >= best_score - X_DROP
        np.maximum(best_score, row_best, out=best_score)
        # The best cell: the first of the highest, with the bonus at boundaries, which
        # needs a matched word (or one changed word: cell (1, 1)).
        matched = code & matches_mask
        bonus = matched > 0
        if i == 1:
            bonus[BAND] = True
        bonus &= source_bound[i : i + _WIDTH]
        bonus &= copy_bound[i]
        score += bonus.astype(cell_type) * cell_type(BOUNDARY_BONUS)
        score <<= matches_bits + 3
        score |= first_slot_first
        score |= matched
        key = score.max(axis=0)
        value = key >> (matches_bits + 3)
        better = value > best_value
        better &= going
        better &= alive
        np.copyto(best_value, value, where=better)
        np.copyto(best[0], i, where=better)
        np.copyto(best[1], i - BAND + _WIDTH - 1 - ((key >> matches_bits) & 7), where=better)
        np.copyto(best[2], key & matches_mask, where=better)
        alive &= going
    out[lane] = best.T
    return out


def _accumulated_rows(ufunc: np.ufunc, values: np.ndarray) -> np.ndarray:
    """``ufunc.accumulate(values, axis=0)`` in place, a row at a time: one step over all
    lanes (the columns) per row. Along the first axis NumPy accumulates column by column,
    5-10x slower on these arrays of a few to a few dozen rows and thousands of lanes."""
    for row in range(1, len(values)):
        ufunc(values[row - 1], values[row], out=values[row])
    return values


def x_drop_match_bounds(words, padded) -> np.ndarray:
    """At least the matches of each lane's best cell (``banded_x_drop``'s third column),
    from its window's words alone (``words`` and ``padded`` as ``banded_x_drop`` reads
    them): no boundary is read and no cell computed.

    A path to a cell of row i passes every row above it once, by a diagonal step (+1 when
    the words are equal, else -1) or a step down (-1); steps along a row cost 1 more. So
    a cell of row i scores at most ``P(i)``, the sum over rows up to i of +1 where the
    row's word equals a source word in its band and -1 elsewhere, and has at most as many
    matches as those rows. The alignment stops at the first row whose best score falls
    ``X_DROP`` below the best so far (at least 0), so no row after one with ``P(i) <
    -X_DROP`` is reached, and the best cell beats the start (0) with at most
    ``BOUNDARY_BONUS``: its score is above ``-BOUNDARY_BONUS``. The bound is the most
    such rows of the rows that can hold the best cell."""
    rows = words.shape[0]
    if rows == 0 or words.shape[1] == 0:
        return np.zeros(words.shape[1], dtype=np.int64)
    # Row i's cells in slots k compare its word with padded[i + k] (padding never matches).
    matched = words == padded[1 : 1 + rows]
    for slot in range(1, _WIDTH):
        matched |= words == padded[1 + slot : 1 + slot + rows]
    # P(i) = 2 * (matching rows up to i) - i, in small integers when they fit.
    kind = np.int16 if 2 * rows < (1 << 15) else np.int64
    count = _accumulated_rows(np.add, matched.astype(kind))
    score = 2 * count
    score -= np.arange(1, rows + 1, dtype=kind)[:, None]
    reached = _accumulated_rows(np.minimum, score.copy()) >= -X_DROP
    reached &= score > -BOUNDARY_BONUS
    count *= reached
    return count.max(axis=0).astype(np.int64)


def x_drop_window(query, source, copy_edge, source_edge, step, copy_room, source_room) -> tuple[int, int, int]:
    """``extend_edge``'s alignment within ``copy_room`` / ``source_room`` words: (rows,
    columns, matches) of the best cell."""
    if copy_room <= 0 or source_room <= 0:
        return 0, 0, 0
    # Only the words within reach, as Python ints (fast to compare one by one).
    q_tokens, s_tokens = query.tokens.hashes, source.tokens.hashes
    if step > 0:
        a = q_tokens[copy_edge : copy_edge + copy_room].tolist()
        b = s_tokens[source_edge : source_edge + source_room].tolist()
    else:
        a = q_tokens[copy_edge - copy_room : copy_edge][::-1].tolist()
        b = s_tokens[source_edge - source_room : source_edge][::-1].tolist()
    # Boundaries at every cell's edge: copy_bound[i] is at copy_edge + step * i.
    copy_bound = query.boundaries.flags(copy_edge, copy_edge + step * (len(a) + 1), step)
    source_bound = source.boundaries.flags(source_edge, source_edge + step * (len(b) + 1), step)

    def at_boundaries(i: int, j: int) -> bool:
        return copy_bound[i] and source_bound[j]

    width, minus_inf = _WIDTH, _NO_SCORE  # as locals: read in the engine's hottest loop
    # Row i holds cells (i, j) for j = i - BAND + k, k in [0, width): scores and matches.
    score = [minus_inf] * width
    matches = [0] * width
    score[BAND] = 0
    for k in range(BAND + 1, width):
        j = k - BAND
        if j <= len(b):
            score[k] = -j
    best_value = BOUNDARY_BONUS if at_boundaries(0, 0) else 0
    best = (0, 0, 0)
    best_score = 0
    for i in range(1, len(a) + 1):
        token = a[i - 1]
        row = [minus_inf] * width
        row_matches = [0] * width
        diagonal_word = i - BAND - 1  # b[diagonal_word + k]: the source word of cell k's diagonal step
        left, left_matches = minus_inf, 0  # cell (i, j-1)
        # Cells with 0 <= j <= len(b) only (this loop is the engine's hottest: kept lean).
        for k in range(max(0, BAND - i), min(width, len(b) - i + BAND + 1)):
            value, m = minus_inf, 0
            if score[k] > minus_inf and diagonal_word + k >= 0:  # diagonal: (i-1, j-1)
                if token == b[diagonal_word + k]:
                    value, m = score[k] + 1, matches[k] + 1
                else:
                    value, m = score[k] - 1, matches[k]
            if k + 1 < width and score[k + 1] - 1 > value:  # (i-1, j): a word added in the copy
                value, m = score[k + 1] - 1, matches[k + 1]
            if left - 1 > value:  # (i, j-1): a word dropped from the copy
                value, m = left - 1, left_matches
            row[k], row_matches[k] = left, left_matches = value, m
        score, matches = row, row_matches
        row_best = max(score)
        if row_best < best_score - X_DROP:
            break
        best_score = max(best_score, row_best)
        if not copy_bound[i]:  # no bonus in this row: its first best cell, if better
            if row_best > best_value:
                k = score.index(row_best)
                best_value, best = row_best, (i, i - BAND + k, matches[k])
            continue
        for k in range(width):
            if score[k] <= minus_inf:
                continue
            j = i - BAND + k
            # The bonus needs a matched word (a boundary alone does not make added words
            # copied), or a single changed word between the edge and the boundaries.
            edited_edge = matches[k] or i == j == 1
            value = score[k] + (BOUNDARY_BONUS if edited_edge and at_boundaries(i, j) else 0)
            if value > best_value:
                best_value, best = value, (i, j, matches[k])
    return best
