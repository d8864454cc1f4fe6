"""The assignment's rubric: every gradable item, with an id and one statement.

This is the one place that says what the assignment asks.  The test suite
marks each test with the items it checks (``@pytest.mark.rubric("P2.R3")``)
and reports per item; the autograder (``reports/grading``) scores a student's
submission against the same ids.  Pure data and small helpers only: nothing
here imports a part (``common`` never does).

Ids: ``P<part>.R<n>`` a requirement, ``P<part>.Report.<n>`` an item the
report must contain, ``P<part>.Bonus.<n>`` a bonus (the assignment's
numbering: part 2's bonus is its item 4, part 3's are its items 3 and 4).
Requirements and report items are required; bonuses are not.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RubricItem", "ITEMS", "PARTS", "KINDS", "get", "items", "part_of",
           "unknown_ids"]

#: Part marker names, as used by ``pytest -m P2``.
PARTS = ("P2", "P3")
#: Kinds of item, in the order a table lists them.
KINDS = ("requirement", "report", "bonus")


@dataclass(frozen=True)
class RubricItem:
    """One gradable item: ``id`` such as ``"P2.R3"``, its ``part`` (``"P2"``),
    ``kind`` (one of :data:`KINDS`) and a one-line ``statement``."""

    id: str
    part: str
    kind: str
    statement: str

    @property
    def required(self) -> bool:
        """Bonuses are extra credit; everything else must hold."""
        return self.kind != "bonus"


def _item(item_id: str, statement: str) -> RubricItem:
    part, tag = item_id.split(".", 1)
    kind = ("report" if tag.startswith("Report.") else
            "bonus" if tag.startswith("Bonus.") else "requirement")
    return RubricItem(item_id, part, kind, statement)


# Statements are derived from issues 3 (part 2), 4 (part 3) and 6 (reports).
ITEMS: tuple[RubricItem, ...] = (
    # ---- part 2: variational inference for the 2-D Gaussian mixture (gmm_vi)
    _item("P2.R1", "Generative model, ZhuSuan style: z ~ OnehotCategorical(pi), "
                   "x|z ~ N(mu_z, diag sigma_z^2) in 2-D; sampling it generates the "
                   "data from stated true parameters."),
    _item("P2.R2", "Discrete variational posterior q(z|x) = OnehotCategorical(g_phi(x)) "
                   "and its lower bound E_q[log p(x,z) - log q(z|x)], equal to the "
                   "exact enumeration over z."),
    _item("P2.R3", "pi, mu, sigma^2 and q learned jointly by maximising the ELBO with "
                   "NVIL (input-dependent baseline, centering, variance normalisation); "
                   "the fit reaches EM's log-likelihood."),
    _item("P2.R4", "Learned parameters compared with the truth (after matching "
                   "components) and with EM's exact MLE: table, log-likelihoods, "
                   "metrics.json and figures."),
    _item("P2.Report.1", "Report: the lower bound for Z written out, and why SGVB does "
                         "not apply to the discrete Z (relaxations are biased)."),
    _item("P2.Report.2", "Report: the problem in the model-inference-learning structure; "
                         "the design of q(z|x) and of NVIL explained."),
    _item("P2.Report.3", "Report: N=100, K=3 learned vs true parameters, EM reference, "
                         "log-likelihoods, cluster figures, gradient variance."),
    _item("P2.Report.4", "Report: the bonus sweep over N, K and the distance between "
                         "means, with its figures and what they show."),
    _item("P2.Bonus.4", "Bonus: how N, K and the distance between means affect "
                        "parameter error, the gap to EM, accuracy and iterations "
                        "(gmm-vi-sweep)."),
    # ---- part 3: the Gaussian-mixture VAE on MNIST (gmvae)
    _item("P3.R1", "Generative net, ZhuSuan style: z ~ OnehotCategorical(pi) (K=10), "
                   "h|z ~ N(mu_z, diag sigma_z^2) (D=40), x|h ~ Bernoulli(f_NN(h)), "
                   "all learned."),
    _item("P3.R2", "Variational posterior q(z,h|x) = q(h|x) p(z|h): z summed out exactly "
                   "in the lower bound, SGVB (reparameterisation) on h."),
    _item("P3.R3", "Trained on MNIST and evaluated on held-out images: test bound, "
                   "IS log-likelihood, Hungarian clustering accuracy, NMI, clusters used."),
    _item("P3.R4", "For each z, h ~ p(h|z) decoded into images: a K x n samples-per-"
                   "cluster grid in [0,1], the assignment's required plot."),
    _item("P3.Report.1", "Report: the model in the model-inference-learning structure; "
                         "q(z,h|x) designed and why summing z out is exact and lower "
                         "variance."),
    _item("P3.Report.2", "Report: results in numbers (bound, IS log-likelihood, accuracy, "
                         "NMI, clusters used) and figures, with which clusters mix."),
    _item("P3.Report.3", "Report: bonus 3 semi-supervised vs unsupervised, and bonus 4 "
                         "regularisers compared over seeds."),
    _item("P3.Report.4", "Report: the Serket VAE+GMM reproduction: accuracy per round, "
                         "PCA before/after, comparison with the GMVAE."),
    _item("P3.Bonus.3", "Bonus: semi-supervised GMVAE with 10 labelled images per class "
                        "(z observed), compared with the unsupervised model."),
    _item("P3.Bonus.4", "Bonus: pure clusters without labels: regularisers or training "
                        "schemes compared, and what each cluster generates is one digit."),
)

_BY_ID = {item.id: item for item in ITEMS}


def get(item_id: str) -> RubricItem:
    """The item with this id; KeyError naming the known ids otherwise."""
    try:
        return _BY_ID[item_id]
    except KeyError:
        raise KeyError(f"unknown rubric item {item_id!r}; known: "
                       f"{', '.join(_BY_ID)}") from None


def items(part: str | None = None) -> tuple[RubricItem, ...]:
    """Every item in rubric order, or those of one part (``"P2"`` / ``"P3"``)."""
    if part is not None and part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    return tuple(i for i in ITEMS if part is None or i.part == part)


def part_of(item_id: str) -> str:
    """``"P2"`` for ``"P2.R3"`` (the item must exist)."""
    return get(item_id).part


def unknown_ids(ids) -> list[str]:
    """The ids in ``ids`` that name no item, in the order given."""
    return [i for i in ids if i not in _BY_ID]
