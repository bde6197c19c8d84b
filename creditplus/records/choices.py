from django.db import models
from django.utils.translation import gettext_lazy as _


class BatchSource(models.TextChoices):
    UPLOAD = "upload", _("页面上传")
    API = "api", _("接口推送")
    CLI = "cli", _("命令行")


class BatchStatus(models.TextChoices):
    DONE = "done", _("已完成")
    FAILED = "failed", _("文件被拒收")


class RecordStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    RETRACTED = "retracted", _("已撤销")


class EventStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    SUPERSEDED = "superseded", _("已被新版本替代")
    RETRACTED = "retracted", _("已撤销")
    RESTORED = "restored", _("已信用修复")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("正在归集")
    CONFIRM = "confirm", _("待确认")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")
    CANCELLED = "cancelled", _("已取消")


# Short labels of the row and file error codes (and warnings), for charts and tables: pages
# lead with the label and keep the stable code as secondary text for support.
ERROR_LABELS: dict[str, str] = {
    # values (creditplus.records.validation)
    "required": _("必填字段为空"),
    "too_long": _("超过最大长度"),
    "code_unknown": _("不在代码表中"),
    "date_invalid": _("日期无效"),
    "date_future": _("日期晚于今天"),
    "date_order": _("日期先后不符"),
    "number_invalid": _("数字无效"),
    "amount_negative": _("金额为负数"),
    "number_scale": _("小数位数过多"),
    "subject_kind_not_allowed": _("主体类别不适用"),
    "duplicate_in_batch": _("批内业务主键重复"),
    "name_mismatch": _("名称与登记不一致"),
    # identifiers (creditplus.identifiers)
    "uscc_empty": _("统一社会信用代码为空"),
    "uscc_length": _("统一社会信用代码位数错误"),
    "uscc_charset": _("统一社会信用代码含非法字符"),
    "uscc_authority": _("登记管理部门代码错误"),
    "uscc_check": _("统一社会信用代码校验位错误"),
    "uscc_org_check": _("组织机构代码校验位错误"),
    "ric_empty": _("身份证号码为空"),
    "ric_length": _("身份证号码位数错误"),
    "ric_charset": _("身份证号码含非法字符"),
    "ric_division": _("身份证号码地区码错误"),
    "ric_date": _("身份证号码出生日期错误"),
    "ric_check": _("身份证号码校验位错误"),
    "ric_division_unknown": _("身份证号码地区码未收录"),
    # whole files (creditplus.records.readers, creditplus.records.ingest)
    "file_empty": _("文件为空"),
    "file_not_tabular": _("不是表格文件"),
    "file_encoding": _("文件编码无法识别"),
    "file_format": _("文件格式不支持"),
    "file_no_header": _("没有表头行"),
    "file_unreadable": _("文件无法解析"),
    "file_too_large": _("文件过大"),
    "header_duplicate": _("列名重复"),
    "columns_missing": _("缺少必填列"),
    "item_inactive": _("信息事项已停用"),
    "item_unknown": _("信息事项不存在"),
}


def error_label(code: str) -> str:
    """The label of an error code; an unknown code is shown as it is."""
    return str(ERROR_LABELS.get(code, code))
