from django.db import models
from django.utils.translation import gettext_lazy as _


class Cockpit(models.Model):
    """Holder of the cockpit's permission (``cockpit.view_cockpit``): no table, no rows.

    The cockpit shows district-wide figures (every department's records, lists, objections
    and tasks), so the permission belongs to platform-wide roles only (roles.yaml)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_cockpit", _("查看驾驶舱（全区关键指标）"))]
        verbose_name = _("驾驶舱")
        verbose_name_plural = _("驾驶舱")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
