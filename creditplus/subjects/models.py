from __future__ import annotations

from django.db import models
from django.db.models import F
from django.db.models.functions import Length, Substr
from django.utils.translation import gettext_lazy as _

from creditplus.catalog.choices import SubjectKind
from creditplus.subjects.pii import mask_name


class SubjectQuerySet(models.QuerySet):
    def organisations(self) -> SubjectQuerySet:
        return self.exclude(kind=SubjectKind.PERSON)

    def headers(self) -> SubjectQuerySet:
        """Only what list entries, sanction cases, alerts and audit rows show of a subject
        (kind, code, name, legal representative): the consumers load tens of thousands at
        once, and the other columns (address, business scope, ID cipher) are most of a row."""
        return self.only("kind", "uscc", "id_masked", "name", "legal_rep_name")

    def by_code(self, code: str) -> SubjectQuerySet:
        """Find by unified social credit code, or by resident ID through its keyed hash."""
        from creditplus.identifiers import check_resident_id
        from creditplus.subjects.pii import lookup_hash

        code = code.strip().upper()
        if len(code) == 18 and check_resident_id(code).ok:
            return self.filter(id_hash=lookup_hash(code))
        return self.filter(uscc=code)


class Subject(models.Model):
    """A credit subject (信用主体): an organisation keyed by its unified social credit code,
    an individual business, or a natural person keyed by the keyed hash of the ID number."""

    kind = models.CharField(
        _("主体类别"), max_length=16, choices=SubjectKind.choices, db_index=True
    )
    uscc = models.CharField(
        _("统一社会信用代码"), max_length=18, unique=True, null=True, blank=True
    )
    # The 15-digit registration number (注册号) an organisation had before its USCC, as the
    # registration item last reported it; old records are resolved through it. Nullable so
    # that adding it is a plain ALTER TABLE on SQLite, and empty numbers stay out of the index.
    reg_no = models.CharField(  # noqa: DJ001
        _("注册号"), max_length=50, null=True, blank=True, db_index=True
    )
    id_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    id_cipher = models.TextField(_("证件号码（加密）"), blank=True, editable=False)
    id_masked = models.CharField(_("证件号码"), max_length=32, blank=True)
    name = models.CharField(_("名称"), max_length=200, db_index=True)
    legal_rep_name = models.CharField(_("法定代表人/负责人"), max_length=50, blank=True)
    enterprise_type = models.CharField(_("市场主体类型"), max_length=64, blank=True)
    industry = models.CharField(_("行业"), max_length=64, blank=True)
    address = models.CharField(_("住所"), max_length=300, blank=True)
    registered_capital = models.DecimalField(
        _("注册资本（万元）"), max_digits=20, decimal_places=6, null=True, blank=True
    )
    established_on = models.DateField(_("成立日期"), null=True, blank=True)
    status = models.CharField(_("登记状态"), max_length=32, blank=True)
    business_scope = models.TextField(_("经营范围"), blank=True)
    registered = models.BooleanField(
        _("已有登记信息"), default=False, help_text=_("名称等基本信息来自登记注册信息（权威来源）")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    # When the subject was created; later changes of its records go to SubjectChange, so
    # that a daily batch never rewrites subject rows (and their name indexes).
    changed_at = models.DateTimeField(_("信息变更时间"), auto_now_add=True, db_index=True)

    objects = SubjectQuerySet.as_manager()

    class Meta:
        verbose_name = _("信用主体")
        verbose_name_plural = _("信用主体")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(uscc__isnull=False) | models.Q(id_hash__isnull=False),
                name="subject_has_identifier",
            )
        ]
        indexes = [
            # Public name search (creditplus.subjects.queries): the organisations' names in
            # result order (shorter names first), kind included so that counting and paging
            # through a common fragment read this index only, never the subject rows. The
            # trigram indexes of names are made by migration 0002 (vendor-specific SQL).
            models.Index(
                Length("name"),
                F("name"),
                F("id"),
                F("kind"),
                name="subjects_public_name_order",
                condition=~models.Q(kind=SubjectKind.PERSON),
            ),
            # The GB 11714 organisation code inside the USCC (positions 9–17): records that
            # carry only the old organisation code are resolved through it.
            models.Index(Substr("uscc", 9, 9), name="subjects_uscc_org_code"),
        ]

    def __str__(self) -> str:
        return self.public_name

    @property
    def is_person(self) -> bool:
        return self.kind == SubjectKind.PERSON

    @property
    def code(self) -> str:
        """The identifier shown to government users (masked for persons)."""
        return self.uscc or self.id_masked

    @property
    def public_name(self) -> str:
        """The name the public may see: natural persons' names are masked."""
        return mask_name(self.name) if self.is_person else self.name


class SubjectChange(models.Model):
    """A subject whose records, events or versions changed at ``at`` (change log): appended
    by ingest, corrections and retractions, read by incremental evaluation (``evaluate
    --changed``), which trims what every model has evaluated since. Small and append-only,
    so a batch costs the same however large the subject registry is."""

    id = models.BigAutoField(primary_key=True)
    # No foreign-key index: the log is read by time only, and deleted subjects are rare.
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, db_index=False, related_name="+")
    at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("主体变更记录")
        verbose_name_plural = _("主体变更记录")

    def __str__(self) -> str:
        return f"{self.subject_id} @ {self.at:%Y-%m-%d %H:%M:%S}"


class RelationRole(models.TextChoices):
    LEGAL_REP = "legal_rep", _("法定代表人")
    PRINCIPAL = "principal", _("负责人")


class SubjectRelation(models.Model):
    """A natural person's role in an organisation (legal representative / principal)."""

    organisation = models.ForeignKey(
        Subject, verbose_name=_("组织"), on_delete=models.CASCADE, related_name="person_relations"
    )
    person = models.ForeignKey(
        Subject,
        verbose_name=_("自然人"),
        on_delete=models.CASCADE,
        related_name="organisation_relations",
    )
    role = models.CharField(_("关系"), max_length=16, choices=RelationRole.choices)
    since = models.DateField(_("起始日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("主体关系")
        verbose_name_plural = _("主体关系")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "person", "role"], name="unique_subject_relation"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} → {self.organisation}（{self.get_role_display()}）"


class SubjectAccount(models.Model):
    """An enterprise user bound to the one subject it acts for: bound by a window clerk who
    checked the business license (or, where configured, by government single sign-on)."""

    user = models.OneToOneField(
        "accounts.User",
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="subject_account",
    )
    subject = models.ForeignKey(
        Subject, verbose_name=_("信用主体"), on_delete=models.PROTECT, related_name="accounts"
    )
    verified_by = models.CharField(_("核验方式"), max_length=64)
    bound_by = models.CharField(_("经办人"), max_length=150)
    created_at = models.DateTimeField(_("绑定时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("企业账号绑定")
        verbose_name_plural = _("企业账号绑定")

    def __str__(self) -> str:
        return f"{self.user} → {self.subject}"
