"""Named queries over subjects; the public API reads subjects only through these."""

from __future__ import annotations

from django.db.models import QuerySet

from creditplus.catalog.choices import SubjectKind
from creditplus.subjects.identifiers import check_uscc
from creditplus.subjects.models import Subject


def public_subjects() -> QuerySet[Subject]:
    """Subjects the public may look up: organisations and individual businesses (natural
    persons are never listed publicly)."""
    return Subject.objects.exclude(kind=SubjectKind.PERSON)


def search_public(q: str) -> QuerySet[Subject]:
    """Public search: an exact unified social credit code, else a name substring."""
    q = q.strip()
    qs = public_subjects()
    if len(q) == 18 and check_uscc(q).ok:
        return qs.filter(uscc=q.upper())
    return qs.filter(name__contains=q).order_by("name", "id")
