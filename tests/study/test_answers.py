"""Answer validation and attention-check rules."""

from __future__ import annotations

import pytest

from emsync_core.study.answers import AnswerError, CheckAnswer, check_passed, validate_answer


def test_choice_answers():
    assert validate_answer("choice", 5, True, "A", None, None).choice == 1
    assert validate_answer("choice", 5, True, "same", None, None).choice == 0
    for bad in ("C", None, ""):
        with pytest.raises(AnswerError):
            validate_answer("choice", 5, True, bad, None, None)
    with pytest.raises(AnswerError, match="no difference"):
        validate_answer("choice", 5, False, "same", None, None)
    with pytest.raises(AnswerError, match="not scores"):
        validate_answer("choice", 5, True, "A", 3, None)


def test_scale_answers():
    v = validate_answer("scale", 5, True, None, 1, 5)
    assert (v.score_first, v.score_second, v.choice) == (1, 5, None)
    for first, second in ((0, 3), (3, 6), (None, 3), (True, 3)):
        with pytest.raises(AnswerError):
            validate_answer("scale", 5, True, None, first, second)
    with pytest.raises(AnswerError, match="not a choice"):
        validate_answer("scale", 5, True, "A", 3, 3)


def test_identical_check():
    same, pref = CheckAnswer(False, 0, None, None), CheckAnswer(False, 1, None, None)
    assert check_passed("identical", None, [same, same, pref, pref]) is True
    assert check_passed("identical", None, [same, pref, pref, pref]) is False
    assert check_passed("identical", None, [CheckAnswer(False, None, 3, 4)]) is True
    assert check_passed("identical", None, [CheckAnswer(False, None, 2, 4)]) is False
    assert check_passed("identical", None, []) is None


def test_mismatch_check_only_judges_match_criteria():
    richness_for_odd = CheckAnswer(False, 2, None, None)
    assert check_passed("mismatch", 2, [richness_for_odd, CheckAnswer(True, 1, None, None)]) is True
    assert check_passed("mismatch", 2, [CheckAnswer(True, 2, None, None)]) is False
    assert check_passed("mismatch", 1, [CheckAnswer(True, None, 4, 2)]) is False
    assert check_passed("mismatch", 1, [CheckAnswer(True, None, 2, 2)]) is True
