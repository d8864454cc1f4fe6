"""The report items of the rubric, on the committed generated reports.

For each item: its section exists in ``reports/part*.md``; the section is
exactly what the template renders from the committed ``reports/results/*.json``
(so every number in it comes from those files); it speaks of what the item
asks (a few telling terms); and every figure it shows exists.
"""
import re
from pathlib import Path

import pytest

from reports import build, tables
from reports.render import load_results, render

REPORTS = Path(__file__).resolve().parent.parent / "reports"

# item -> (report, section headings (prefixes), terms the text must contain,
#          whether its numbers come from results (placeholders in the template))
ITEMS = {
    "P2.Report.1": ("part2_gmm_vi.md", ["## 1. The lower bound"],
                    ["SGVB", "Gumbel", r"\le \log p", "discrete"], False),
    "P2.Report.2": ("part2_gmm_vi.md", ["## 2. Model, inference, learning"],
                    ["baseline", "centering", "variance normalisation", "q_\\phi(z\\mid x)"],
                    True),
    "P2.Report.3": ("part2_gmm_vi.md", ["## 3. N = "],
                    ["EM", "gmm_clusters.png", "gmm_grad_variance.png"], True),
    "P2.Report.4": ("part2_gmm_vi.md", ["## 4. Bonus"], ["sweep", ".png"], True),
    "P3.Report.1": ("part3_gmvae.md", ["## 1. Model, inference, learning"],
                    ["q(z, h \\mid x)", "summed out", "SGVB", "variance"], True),
    "P3.Report.2": ("part3_gmvae.md", ["## 2. Results"],
                    ["NMI", "samples_per_cluster", "log-likelihood"], True),
    "P3.Report.3": ("part3_gmvae.md", ["## 3. Bonus *3", "## 4. Bonus *4"],
                    ["semi", "labelled", "scheme", "over seeds"], True),
    "P3.Report.4": ("part3_gmvae.md", ["## 6. The Serket"],
                    ["Serket", "round", "pca", "GMVAE"], True),
}
# Bonus items whose evidence is (also) their report section.
ALSO = {"P2.Report.4": ["P2.Bonus.4"], "P3.Report.3": ["P3.Bonus.3", "P3.Bonus.4"]}


def sections(text):
    """``{heading line: section text up to the next '## ' heading}``."""
    parts = re.split(r"(?m)^(?=## )", text)
    return {p.splitlines()[0]: p for p in parts if p.startswith("## ")}


def find(secs, prefix):
    hits = [h for h in secs if h.startswith(prefix)]
    assert len(hits) == 1, f"expected one section starting {prefix!r}, found {hits}"
    return hits[0]


_RENDERED = {}


def rendered(report):
    """The report re-rendered from its template and the committed results."""
    if report not in _RENDERED:
        template, names = build.REPORTS[report]
        results = load_results(REPORTS / "results", names)
        _RENDERED[report] = (render((build.TEMPLATES / template).read_text(), results,
                                    tables.GENERATORS),
                             (build.TEMPLATES / template).read_text())
    return _RENDERED[report]


@pytest.mark.parametrize("item_id", [
    pytest.param(i, marks=pytest.mark.rubric(i, *ALSO.get(i, [])), id=i) for i in ITEMS])
def test_report_item_section_is_rendered_from_results(item_id):
    report, prefixes, terms, from_results = ITEMS[item_id]
    committed = sections((REPORTS / report).read_text())
    expected, template = rendered(report)
    expected, template = sections(expected), sections(template)
    text = ""
    for prefix in prefixes:
        heading = find(committed, prefix)
        # Same section, character for character: its numbers are the JSON's.
        assert committed[heading] == expected[find(expected, prefix)], \
            f"{report} section {heading!r} differs from its rendering of " \
            "reports/results; run make-report"
        text += committed[heading]
        if from_results:
            assert "{{" in template[find(template, prefix)], \
                f"{heading!r} quotes no result"
    lowered = text.lower()
    for term in terms:
        assert term.lower() in lowered, f"{item_id}: {report} section lacks {term!r}"
    for fig in re.findall(r"\]\((figures/[^)]+)\)", text):
        assert (REPORTS / fig).stat().st_size > 0, fig
