"""Messages a user sees name their own argument, never an internal class."""

from __future__ import annotations

import pytest

import dedup
from dedup.cli.inputs import open_input
from dedup.cli.readers import read_records
from dedup.cli.records import RecordError


@pytest.mark.parametrize(
    "call, function",
    [
        (lambda: dedup.clean("text", treshold=0.5), "clean"),
        (lambda: dedup.clean_many(["text"], treshold=0.5), "clean_many"),
        (lambda: dedup.find_repeats_many(["text"], min_lenght=5), "find_repeats_many"),
    ],
)
def test_a_misspelled_keyword_is_named_against_the_function_called(call, function):
    with pytest.raises(TypeError) as caught:
        call()
    message = str(caught.value)
    assert message.startswith(f"{function}() got an unexpected keyword argument")
    assert "accepted: threshold, min_length, ngram, max_gap" in message
    assert "RepeatParams" not in message


def test_a_null_text_is_described_once(tmp_path):
    (tmp_path / "in.jsonl").write_bytes(b'{"text": null}\n')
    (error,) = read_records(open_input(str(tmp_path / "in.jsonl")).files[0])
    assert isinstance(error, RecordError)
    assert str(error).endswith("field 'text' must be a string, got null")
