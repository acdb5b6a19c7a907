"""Documents as the public API takes them: strings, ``(id, text)`` pairs, or mappings,
and the one rule that tells their ids apart.

One reader for every entry point that takes a corpus (``find_duplicates``,
``dedup.report.explain``), so that all accept the same shapes and refuse the same
mistakes: a repeated id is an error everywhere, as it is in the ``dedup`` command.
Whether two ids are the same is decided by :func:`id_key` everywhere (this reader,
``Deduplicator`` and its stores, the ``dedup`` command).
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any

__all__ = ["id_key", "iter_documents"]

_END = object()


def id_key(doc_id: Any) -> tuple[str, Any]:
    """What makes an id the id it is, wherever ids must be unique: its kind and its value.

    7 and "7" are two ids (an article numbered 7 and one named "7"), and so are 1 and
    ``True``, 1 and 1.0; an integer is the same id whatever its integer type.

    >>> import numpy as np
    >>> id_key(7) == id_key("7"), id_key(7) == id_key(np.int64(7)), id_key(1) == id_key(True)
    (False, True, False)
    """
    kind = type(doc_id)
    if kind is str or kind is int:  # the commonest ids, without the checks below (ABCs are slow)
        return (kind.__name__, doc_id)
    if isinstance(doc_id, str):
        return ("str", str(doc_id))
    if isinstance(doc_id, numbers.Integral) and not isinstance(doc_id, bool):
        return ("int", int(doc_id))
    return (type(doc_id).__name__, doc_id)  # an unhashable id fails where the key is hashed


def iter_documents(
    docs: Iterable[Any],
    ids: Iterable[Hashable] | None = None,
    *,
    text_field: str = "text",
    id_field: str | None = None,
) -> Iterator[tuple[Hashable, str]]:
    """``(id, text)`` for each document of ``docs``, checking shapes and ids on the way.

    Each item of ``docs`` is a ``str`` (id from ``ids``, else its position), an
    ``(id, text)`` pair, or a mapping such as a JSON record: its text is
    ``item[text_field]``; its id is ``item[id_field]`` when ``id_field`` is given (then it
    must be present), else ``item["id"]`` if present, else the position.

    Raises
    ------
    TypeError
        An item of another shape, a text that is not ``str``.
    ValueError
        A repeated id (by :func:`id_key`: naming the id and both positions), a missing ``text_field`` or
        ``id_field``, ``ids`` that do not match ``docs`` in length.

    Examples
    --------
    >>> list(iter_documents([{"id": "a", "text": "one"}, {"text": "two"}]))
    [('a', 'one'), (1, 'two')]
    >>> list(iter_documents([{"body": "one", "key": 7}], text_field="body", id_field="key"))
    [(7, 'one')]
    >>> list(iter_documents([("a", "one"), ("a", "two")]))
    Traceback (most recent call last):
    ValueError: document id 'a' is repeated: at positions 0 and 1; ids must be unique
    """
    if isinstance(docs, (str, bytes)):
        raise TypeError(
            f"docs must be an iterable of str, (id, str) pairs or mappings, got a single {type(docs).__name__}"
        )
    id_iter = iter(ids) if ids is not None else None
    seen: dict[tuple, int] = {}
    for position, item in enumerate(docs):
        if isinstance(item, str):
            text = item
            if id_iter is None:
                doc_id: Hashable = position
            else:
                try:
                    doc_id = next(id_iter)
                except StopIteration:
                    raise ValueError(f"ids ran out at document {position}: give one id per document") from None
        elif isinstance(item, Mapping):
            if id_iter is not None:
                raise ValueError("give ids either in the records (id_field) or in ids, not both")
            doc_id, text = _from_mapping(item, position, text_field, id_field)
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            if id_iter is not None:
                raise ValueError("give ids either in docs as (id, text) pairs or in ids, not both")
            doc_id, text = item
            if not isinstance(text, str):
                raise TypeError(f"docs[{position}][1] must be str, got {type(text).__name__}: {text!r:.60}")
        else:
            raise TypeError(
                f"docs[{position}] must be str, an (id, str) pair or a mapping, got {type(item).__name__}: {item!r:.60}"
            )
        try:
            earlier = seen.setdefault(id_key(doc_id), position)
        except TypeError:
            raise TypeError(f"document id at position {position} must be hashable, got {type(doc_id).__name__}") from None
        if earlier != position:
            raise ValueError(f"document id {doc_id!r} is repeated: at positions {earlier} and {position}; ids must be unique")
        yield doc_id, text
    if id_iter is not None and next(id_iter, _END) is not _END:
        raise ValueError("ids has more items than docs")


def _from_mapping(item: Mapping, position: int, text_field: str, id_field: str | None) -> tuple[Hashable, str]:
    if text_field not in item:
        raise ValueError(f"docs[{position}] has no field {text_field!r} (text_field); fields: {', '.join(map(str, item))}")
    text = item[text_field]
    if not isinstance(text, str):
        raise TypeError(f"docs[{position}][{text_field!r}] must be str, got {type(text).__name__}: {text!r:.60}")
    if id_field is not None:
        if id_field not in item:
            raise ValueError(f"docs[{position}] has no field {id_field!r} (id_field)")
        return item[id_field], text
    return item.get("id", position), text
