"""The grade of one rubric item: status, score, reason and evidence."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from common import rubric

__all__ = ["ItemResult", "STATUSES"]

#: ``passed``/``failed``: checked automatically; ``manual``: an item the
#: autograder cannot judge (report text, code structure): a person grades it;
#: ``not graded``: its part was not asked for (``--part``).
STATUSES = ("passed", "failed", "manual", "not graded")


@dataclass
class ItemResult:
    """``score`` is in [0, 1] (1 when passed; partial credit otherwise, as
    each check documents); ``reason`` is one line; ``evidence`` holds the
    numbers the verdict rests on (JSON-friendly)."""
    id: str
    status: str
    score: float | None = None
    reason: str = ""
    evidence: dict = field(default_factory=dict)
    seconds: float | None = None

    @property
    def item(self) -> rubric.RubricItem:
        return rubric.get(self.id)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(statement=self.item.statement, kind=self.item.kind,
                 required=self.item.required, part=self.item.part)
        return d

    @classmethod
    def failed(cls, item_id: str, reason: str, evidence=None, seconds=None,
               score: float = 0.0) -> "ItemResult":
        """A failed item: score 0 (a crash, hang, NaN or wrong shape) unless
        the check gives partial credit."""
        return cls(item_id, "failed", float(score), reason, dict(evidence or {}), seconds)
