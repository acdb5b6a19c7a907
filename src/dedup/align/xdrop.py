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
_CELLS = np.arange(_WIDTH)
_NO_SCORE = -(1 << 30)


def banded_x_drop(words, padded, copy_bound, source_bound, rows_room, cols_room) -> np.ndarray:
    """(rows, columns, matches) of the best cell of every edge's alignment (see ``extend_edge``,
    which this follows cell for cell, ties included), from its window's words and
    boundaries (the lanes' windows, see :mod:`dedup.align.extend`). Lanes: one edge each; a lane leaves when its
    alignment ends (its rows run out or the X-drop stops it)."""
    lanes = len(words)
    if lanes == 0:
        return np.zeros((0, 3), dtype=np.int64)
    rows = words.shape[1]
    score = np.full((lanes, _WIDTH), _NO_SCORE, dtype=np.int64)
    matches = np.zeros((lanes, _WIDTH), dtype=np.int64)
    score[:, BAND] = 0
    first_columns = _CELLS[BAND + 1 :] - BAND
    score[:, BAND + 1 :] = np.where(first_columns[None, :] <= cols_room[:, None], -first_columns[None, :], _NO_SCORE)
    best_value = np.where(copy_bound[:, 0] & source_bound[:, BAND], BOUNDARY_BONUS, 0).astype(np.int64)
    best_score = np.zeros(lanes, dtype=np.int64)
    best = np.zeros((lanes, 3), dtype=np.int64)
    # Band slot k of row i is column i - BAND + k, read at i + k in the padded arrays:
    # a row's words, boundaries and bounds are slices. inside[l, x]: column x - BAND
    # lies within lane l's source room.
    positions = np.arange(padded.shape[1]) - BAND
    inside_at = (positions[None, :] >= 0) & (positions[None, :] <= cols_room[:, None])
    lane = np.arange(lanes)  # the lane of each row of the working arrays
    alive = np.ones(lanes, dtype=bool)
    no_bonus = np.zeros((1, _WIDTH), dtype=np.int64)
    for i in range(1, rows + 1):
        alive &= i <= rows_room
        count = int(alive.sum())
        if count == 0:
            break
        if 2 * count <= len(lane) and len(lane) > 16:
            # Leave the lanes that ended (while most go on, computing them costs less).
            (lane, words, padded, copy_bound, source_bound, inside_at, rows_room, score, matches, best_value,
             best_score) = (x[alive] for x in (lane, words, padded, copy_bound, source_bound, inside_at, rows_room,
                                               score, matches, best_value, best_score))
            alive = np.ones(count, dtype=bool)
        inside = inside_at[:, i : i + _WIDTH]
        # Diagonal (i-1, j-1): the same band slot.
        same_word = words[:, i - 1 : i] == padded[:, i : i + _WIDTH]
        from_diagonal = score > _NO_SCORE
        if i <= BAND:  # column 0 has no diagonal step
            from_diagonal[:, : BAND + 1 - i] = False
        value = np.where(from_diagonal, score + (2 * same_word - 1), _NO_SCORE)
        matched = np.where(from_diagonal, matches + same_word, 0)
        # Up (i-1, j): a word added in the copy, the next band slot; taken only when better.
        up = score[:, 1:] - 1
        take_up = up > value[:, :-1]
        value[:, :-1] = np.where(take_up, up, value[:, :-1])
        matched[:, :-1] = np.where(take_up, matches[:, 1:], matched[:, :-1])
        value[~inside] = _NO_SCORE
        # Left (i, j-1): a word dropped from the copy, a running maximum along the row
        # (minus one per step) that takes the cell's own value on ties.
        coded = (value + _CELLS) * 8 + _CELLS
        np.maximum.accumulate(coded, axis=1, out=coded)
        origin = coded & 7
        row = np.where(inside, (coded >> 3) - _CELLS, _NO_SCORE)
        row_matches = np.where(inside, np.take_along_axis(matched, origin, axis=1), 0)
        row_best = row.max(axis=1)
        going = row_best >= best_score - X_DROP
        score, matches = row, row_matches
        np.maximum(best_score, row_best, out=best_score)
        # The best cell: the first of the highest, with the bonus at boundaries.
        edited = row_matches > 0
        if i == 1:
            edited[:, BAND] = True  # one changed word: cell (1, 1)
        bonus = np.where(edited & copy_bound[:, i : i + 1] & source_bound[:, i : i + _WIDTH], BOUNDARY_BONUS, no_bonus)
        values = np.where(row > _NO_SCORE, row + bonus, 4 * _NO_SCORE)
        cell = values.argmax(axis=1)
        value_of_cell = values[np.arange(len(cell)), cell]
        better = alive & going & (value_of_cell > best_value)
        if better.any():
            best_value[better] = value_of_cell[better]
            best[lane[better]] = np.stack(
                [np.full(int(better.sum()), i), i - BAND + cell[better], row_matches[better, cell[better]]], axis=1
            )
        alive &= going
    return best


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
