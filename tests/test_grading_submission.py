"""``pytest --submission PATH``: one test per automatically checked rubric item
of a student's submission (deselected in the package's own test run).

Example: ``python -m pytest -q tests --submission reports/grading/template_submission
--submission-part 2``; the rubric table at the end is the student's grade.  (Name
``tests``: its conftest is what adds the option.)
"""
import pytest

from reports.grading.grader import AUTO_ITEMS

pytestmark = pytest.mark.submission


@pytest.mark.parametrize("item_id", [pytest.param(i, marks=pytest.mark.rubric(i), id=i)
                                     for i in AUTO_ITEMS])
def test_submission_item(submission_grade, item_id):
    result = next(r for r in submission_grade.items if r.id == item_id)
    if result.status == "not graded":
        pytest.skip(f"{item_id}: its part was not asked for (--submission-part)")
    assert result.passed, f"{item_id} {result.status} (score {result.score:.2f}): " \
                          f"{result.reason}"
