"""Fill report templates from result JSON files — no number is typed by hand.

A template is Markdown with placeholders::

    {{ gmm_bench:em.mean_loglik | .3f }}

``gmm_bench`` names a results file (``reports/results/gmm_bench.json``),
``em.mean_loglik`` is a dotted path into it (integers index lists), and the
optional ``.3f`` is a Python format spec.  ``{{ table:NAME }}`` and
``{{ text:NAME }}`` insert Markdown made by a registered function from the same
results, so tables and figure lists are generated too.  A placeholder that cannot be resolved is an error: a report
never ships with a hole or a stale number.
"""
import json
import re
from pathlib import Path

__all__ = ["PLACEHOLDER", "lookup", "render", "load_results", "ReportError"]

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+):([^|}]+?)\s*(?:\|\s*([^}]*?)\s*)?\}\}")


class ReportError(ValueError):
    """A placeholder names a result that does not exist."""


def load_results(results_dir, names):
    """``{name: parsed JSON}`` for ``results_dir/NAME.json``."""
    out = {}
    for name in names:
        path = Path(results_dir) / f"{name}.json"
        if not path.is_file():
            raise ReportError(f"results file {path} is missing; run "
                              "`make-report` to produce it")
        out[name] = json.loads(path.read_text())
    return out


def lookup(results, name, path):
    """Value at dotted ``path`` inside ``results[name]``."""
    if name not in results:
        raise ReportError(f"no results named {name!r}; have {sorted(results)}")
    value = results[name]
    for part in path.strip().split("."):
        try:
            value = value[int(part)] if isinstance(value, list) else value[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise ReportError(f"{name}:{path}: no entry {part!r}") from None
    return value


def render(template, results, tables=None):
    """Replace every placeholder in ``template``.

    :param results: ``{name: JSON object}``.
    :param tables: ``{name: function(results) -> markdown str}`` serving the
        ``table:`` and ``text:`` placeholders.
    """
    tables = tables or {}

    def substitute(match):
        name, path, fmt = match.group(1), match.group(2), match.group(3)
        if name in ("table", "text"):
            if path not in tables:
                raise ReportError(f"no generator for {name}:{path}")
            return tables[path](results)
        value = lookup(results, name, path)
        if fmt:
            try:
                return format(value, fmt)
            except (TypeError, ValueError):
                raise ReportError(f"{name}:{path} = {value!r} does not fit "
                                  f"format {fmt!r}") from None
        return str(value)

    return PLACEHOLDER.sub(substitute, template)
