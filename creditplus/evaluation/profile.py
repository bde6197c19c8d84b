"""The credit profile (信用画像) of an organisation: identity, grade and its explanation, tags
computed from the data, a timeline of its records and list events, and the organisations it
is related to through its legal representatives or principals.

Natural persons appear here only as related persons, and only masked (``public_name``,
``id_masked``). Reading a profile is audited by the caller (the page), once per view.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from fnmatch import fnmatchcase
from typing import Any, Literal, TypedDict

from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from creditplus.errors import NotFound
from creditplus.evaluation import services
from creditplus.evaluation.models import EvaluationModel, Score
from creditplus.identifiers import check_uscc
from creditplus.lists.choices import STEP_LABELS, EntryStatus, ListKind
from creditplus.lists.models import ListEntry, ListTransition
from creditplus.records.choices import EventStatus
from creditplus.records.models import CreditEvent, CreditRecord
from creditplus.subjects.models import RelationRole, Subject, SubjectRelation

TagKind = Literal["good", "bad", "info"]


class Tag(TypedDict):
    label: str
    kind: TagKind


# Behavior rules (patterns as in the evaluation model: ``*`` matches any suffix) that give a
# profile tag while one of the subject's events of that rule is in force.
RULE_TAGS: tuple[tuple[str, Any, TagKind], ...] = (
    ("NSXY-A", gettext_lazy("纳税A级"), "good"),
    ("SHTZXY-*", gettext_lazy("守合同重信用"), "good"),
    ("HGXY-TRUST-*", gettext_lazy("海关高级认证"), "good"),
    ("RYJL-*", gettext_lazy("诚实守信荣誉"), "good"),
    ("SXBZX-*", gettext_lazy("失信被执行人"), "bad"),
    ("SSWF-*", gettext_lazy("重大税收违法"), "bad"),
    ("JYYC-*", gettext_lazy("经营异常"), "bad"),
)

TIMELINE_LIMIT = 50  # newest records and newest list events shown on the profile
RELATED_SHOWN = 20  # other organisations listed per related person


def find_organisation(code: str) -> Subject:
    """The organisation (or individual business) with unified social credit code ``code``;
    :class:`NotFound` for an unknown code and for natural persons, who have no profile."""
    subject = Subject.objects.organisations().filter(uscc=code.strip().upper()).first()
    if subject is None:
        raise NotFound()
    return subject


def search(q: str, model: EvaluationModel | None, grade: str = "") -> QuerySet[Subject]:
    """Organisations matching ``q`` (an exact USCC, else a name substring or a USCC prefix),
    optionally only those of ``grade`` under ``model``, each annotated with ``current_grade``
    and ``current_score`` under ``model`` (``None`` when not scored yet)."""
    qs = Subject.objects.organisations()
    q = q.strip()
    if q:
        code = q.upper()
        if len(code) == 18 and check_uscc(code).ok:
            qs = qs.filter(uscc=code)
        else:
            qs = qs.filter(Q(name__contains=q) | Q(uscc__startswith=code))
    if model is None:
        return qs.none() if grade else qs.order_by("name", "id")
    if grade:
        graded = Score.objects.filter(model=model, grade=grade).values("subject_id")
        qs = qs.filter(pk__in=graded)
    scores = Score.objects.filter(model=model, subject=OuterRef("pk"))
    return qs.annotate(
        current_grade=Subquery(scores.values("grade")[:1]),
        current_score=Subquery(scores.values("score")[:1]),
    ).order_by("name", "id")


def _years_between(start: date, end: date) -> int:
    """Whole years from ``start`` to ``end`` (as the model counts 成立年限)."""
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def _related_organisation_ids(subject: Subject) -> QuerySet[SubjectRelation]:
    persons = SubjectRelation.objects.filter(organisation=subject).values("person_id")
    return (
        SubjectRelation.objects.filter(person_id__in=persons)
        .exclude(organisation=subject)
        .values("organisation_id")
    )


def has_blacklisted_relation(subject: Subject) -> bool:
    """Whether an organisation sharing a legal representative or principal with ``subject``
    is a member of a black list (列入严重失信名单)."""
    return (
        ListEntry.objects.members()
        .filter(list_type__kind=ListKind.BLACK, subject_id__in=_related_organisation_ids(subject))
        .exists()
    )


def tags(subject: Subject, score: Score | None, today: date | None = None) -> list[Tag]:
    """The profile's tags, computed from the data: behavior events in force (``RULE_TAGS``),
    current list memberships (black and watch lists are bad, red lists good), years since
    establishment and a relation to a blacklisted organisation. Dates are counted as of the
    score's evaluation date, so that the tags agree with the explanation next to them
    (today when the subject has not been scored)."""
    as_of = today or (score.as_of if score else timezone.localdate())
    result: list[Tag] = []
    codes = set(
        CreditEvent.objects.filter(subject=subject, status=EventStatus.ACTIVE)
        .filter(Q(publish_until__isnull=True) | Q(publish_until__gte=as_of))
        .order_by()
        .values_list("rule__code", flat=True)
        .distinct()
    )
    memberships: dict[str, str] = {}
    for name, list_kind in (
        ListEntry.objects.members()
        .filter(subject=subject)
        .order_by("list_type__kind", "list_type__code")
        .values_list("list_type__name", "list_type__kind")
    ):
        memberships.setdefault(name, "good" if list_kind == ListKind.RED else "bad")
    for pattern, label, kind in RULE_TAGS:
        # A behavior tag that a list membership says already (失信被执行人 / 失信被执行人名单)
        # is left out: one badge per fact.
        if any(fnmatchcase(code, pattern) for code in codes) and not any(
            name.startswith(str(label)) for name in memberships
        ):
            result.append({"label": str(label), "kind": kind})
    result.extend({"label": name, "kind": kind} for name, kind in memberships.items())
    if subject.established_on:
        years = _years_between(subject.established_on, as_of)
        if years >= 1:
            result.append({"label": _("成立满%(n)d年") % {"n": years}, "kind": "info"})
    if has_blacklisted_relation(subject):
        result.append({"label": _("关联失信企业"), "kind": "bad"})
    return result


def related_persons(subject: Subject, model: EvaluationModel | None) -> list[dict[str, Any]]:
    """The subject's legal representatives and principals (masked name and ID number only)
    and, for each, the other organisations they represent with their grade under ``model``
    and their current lists; at most ``RELATED_SHOWN`` organisations per person."""
    relations = list(
        SubjectRelation.objects.filter(organisation=subject)
        .select_related("person")
        .order_by("role", "id")
    )
    persons: dict[int, dict[str, Any]] = {}
    for relation in relations:
        person = relation.person
        entry = persons.setdefault(
            person.pk,
            {
                "name": person.public_name,
                "id_masked": person.id_masked,
                "roles": [],
                "organisations": [],
                "more": 0,
            },
        )
        entry["roles"].append(relation.get_role_display())
    if not persons:
        return []
    others = (
        SubjectRelation.objects.filter(person_id__in=list(persons))
        .exclude(organisation=subject)
        .order_by("person_id", "organisation__name", "organisation_id")
        .values_list("person_id", "organisation_id", "role")
    )
    by_person: dict[int, dict[int, list[str]]] = defaultdict(dict)
    for person_id, organisation_id, role in others:
        by_person[person_id].setdefault(organisation_id, []).append(role)
    shown = {org for orgs in by_person.values() for org in list(orgs)[:RELATED_SHOWN]}
    organisations = Subject.objects.in_bulk(shown)
    grades: dict[int, tuple[str, int]] = {}
    if model is not None and shown:
        grades = {
            sid: (grade, points)
            for sid, grade, points in Score.objects.filter(
                model=model, subject_id__in=shown
            ).values_list("subject_id", "grade", "score")
        }
    lists: dict[int, list[dict[str, str]]] = defaultdict(list)
    for sid, name, kind in (
        ListEntry.objects.members()
        .filter(subject_id__in=shown)
        .order_by("list_type__kind", "list_type__code")
        .values_list("subject_id", "list_type__name", "list_type__kind")
    ):
        # One badge per list: an organisation may have many entries of one list.
        if all(x["name"] != name for x in lists[sid]):
            lists[sid].append({"name": name, "kind": kind})
    for person_id, orgs in by_person.items():
        ids = list(orgs)
        persons[person_id]["more"] = max(len(ids) - RELATED_SHOWN, 0)
        for sid in ids[:RELATED_SHOWN]:
            grade, points = grades.get(sid, ("", None))
            persons[person_id]["organisations"].append(
                {
                    "subject": organisations[sid],
                    "roles": [RelationRole(r).label for r in orgs[sid]],
                    "grade": grade,
                    "score": points,
                    "lists": lists.get(sid, []),
                    "blacklisted": any(x["kind"] == ListKind.BLACK for x in lists.get(sid, [])),
                }
            )
    return list(persons.values())


def timeline(subject: Subject, limit: int = TIMELINE_LIMIT) -> list[dict[str, Any]]:
    """The subject's current credit records and the steps of its list entries, newest first
    (at most ``limit`` of each): date, kind (``record`` / ``list``), title and detail; a
    record carries the behaviors it was classified as, a list step its entry."""
    events = CreditEvent.objects.filter(status=EventStatus.ACTIVE).select_related("rule")
    records = (
        CreditRecord.objects.current()
        .filter(subject=subject)
        .select_related("item")
        .prefetch_related(Prefetch("events", queryset=events, to_attr="active_events"))
        .order_by(F("decision_date").desc(nulls_last=True), "-id")[:limit]
    )
    items: list[dict[str, Any]] = []
    for record in records:
        items.append(
            {
                "date": record.decision_date or timezone.localdate(record.received_at),
                "kind": "record",
                "title": record.item.name,
                "detail": record.category,
                "behaviors": [
                    {
                        "name": e.rule.name,
                        "label": f"{e.get_kind_display()}·{e.get_severity_display()}",
                        "kind": "good" if e.kind == "trustworthy" else "bad",
                    }
                    for e in record.active_events
                ],
                "entry": None,
            }
        )
    steps = (
        ListTransition.objects.filter(entry__subject=subject)
        .select_related("entry__list_type")
        .order_by("-at", "-id")[:limit]
    )
    for step in steps:
        status = EntryStatus(step.to_status).label if step.to_status in EntryStatus.values else ""
        items.append(
            {
                "date": timezone.localdate(step.at),
                "kind": "list",
                "title": step.entry.list_type.name,
                "detail": " → ".join(
                    str(x) for x in (STEP_LABELS.get(step.action, step.action), status) if x
                ),
                "behaviors": [],
                "entry": step.entry,
            }
        )
    items.sort(key=lambda item: item["date"], reverse=True)
    return items


def build(subject: Subject, model: EvaluationModel | None = None) -> dict[str, Any]:
    """Everything the profile page shows, under ``model`` (the active one by default).
    ``score`` is ``None`` when the subject has not been evaluated yet (尚未评价)."""
    model = model if model is not None else EvaluationModel.objects.active()
    score = services.current_score(subject, model) if model is not None else None
    spec = services.spec_of(model) if model is not None else None
    return {
        "subject": subject,
        "model": model,
        "score": score,
        "grade_label": spec.label(score.grade) if spec and score else "",
        "explanation": services.explain(score, spec) if spec and score else None,
        "history": services.history(subject, model) if model is not None else [],
        "tags": tags(subject, score),
        "related": related_persons(subject, model),
        "timeline": timeline(subject),
    }
