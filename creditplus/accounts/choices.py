from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """The platform's roles. Each is a Django group named by its value (see roles.yaml)."""

    PLATFORM_ADMIN = "platform_admin", _("平台管理员")
    CREDIT_OFFICE = "credit_office", _("区信用办")
    DEPT_OFFICER = "dept_officer", _("部门信用联络员")
    WINDOW_CLERK = "window_clerk", _("查询窗口")
    INSPECTOR = "inspector", _("执法检查人员")
    FINANCIAL = "financial", _("金融机构")
    ASSESSOR = "assessor", _("第三方评估机构")
    ENTERPRISE = "enterprise", _("企业用户")


# Roles whose users act for one department and see only its data.
DEPARTMENT_ROLES = frozenset({Role.DEPT_OFFICER, Role.INSPECTOR})
# Roles that see the whole platform's government data.
PLATFORM_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.CREDIT_OFFICE})
GOVERNMENT_ROLES = DEPARTMENT_ROLES | PLATFORM_ROLES | {Role.WINDOW_CLERK}


class DepartmentKind(models.TextChoices):
    GOVERNMENT = "government", _("政府部门")
    JUDICIAL = "judicial", _("司法机关")
    VERTICAL = "vertical", _("垂直管理单位")
