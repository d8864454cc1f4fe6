"""Grading: the rubric's pytest plugin and the autograder for students' submissions.

* :mod:`.pytest_rubric` — ``@pytest.mark.rubric`` marks, part markers and the
  rubric table at the end of a test run (ids from :mod:`common.rubric`);
* :mod:`.interface` — the submission interface (``part2.py``, ``part3.py``);
* :mod:`.sandbox` / :mod:`.child` — running a submission's code in a child
  process with a time limit and a memory cap;
* :mod:`.checks_part2`, :mod:`.checks_part3` — the automatic checks, each
  scoring one rubric item with its evidence;
* :mod:`.grader` — grading one submission; :mod:`.report` — its Markdown and
  JSON report; :mod:`.pytest_submission` — the same as ``pytest --submission``.

Nothing here is imported by ``common`` or the parts; this package imports no
TensorFlow (a submission's code runs in its own process).
"""
