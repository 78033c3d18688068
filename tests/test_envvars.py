"""Reading settings from the environment: defaults, accepted spellings, named errors."""

import pytest

from gateway.envvars import boolean, seconds, whole_number


def test_unset_or_empty_gives_the_default():
    assert whole_number({}, "N", 7) == 7 and whole_number({"N": " "}, "N", 7) == 7
    assert boolean({}, "B", True) is True and seconds({"S": ""}, "S", 2.5) == 2.5


@pytest.mark.parametrize("raw, value", [("1", True), ("ON", True), ("yes", True), ("false", False), ("0", False), ("Off", False)])
def test_booleans_in_any_usual_spelling(raw, value):
    assert boolean({"B": raw}, "B", not value) is value


@pytest.mark.parametrize("reader, raw", [(whole_number, "0"), (whole_number, "-3"), (whole_number, "1.5"), (boolean, "maybe"), (seconds, "0"), (seconds, "soon")])
def test_bad_values_name_the_variable(reader, raw):
    with pytest.raises(ValueError, match="GATEWAY_X"):
        reader({"GATEWAY_X": raw}, "GATEWAY_X", 1)
