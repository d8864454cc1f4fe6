"""Shared pytest set-up: quiet TensorFlow, one thread pair, headless plots, and
the grading plugins.

``reports.grading.pytest_rubric`` turns each test's ``@pytest.mark.rubric(...)``
marks into part markers (``pytest -m P2``) and ends the run with the rubric
table (``--rubric-json FILE`` writes it); ``reports.grading.pytest_submission``
adds ``--submission PATH``, which grades a student's solution instead of
testing this package.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

# pytester: tests/test_rubric.py runs the rubric plugin on a throw-away suite.
pytest_plugins = ["reports.grading.pytest_rubric", "reports.grading.pytest_submission",
                  "pytester"]
