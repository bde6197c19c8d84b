from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from creditplus.catalog.models import CatalogItem, Matter
from creditplus.errors import NotFound

router = Router(tags=["三清单"])


class ItemOut(Schema):
    code: str
    name: str
    category: str
    disclosure: str
    subject_kinds: list[str]
    departments: list[str]


class FieldOut(Schema):
    code: str
    label: str
    type: str
    required: bool
    required_if: dict | None
    max_length: int | None
    code_table: str | None
    codes: list[dict] | None
    public: bool


class ItemDetailOut(ItemOut):
    description: str
    natural_key: list[str]
    fields: list[FieldOut]


def _item_out(item: CatalogItem) -> dict:
    return {
        "code": item.code,
        "name": item.name,
        "category": item.category,
        "disclosure": item.disclosure,
        "subject_kinds": list(item.spec.subject_kinds),
        "departments": ["*"] if item.all_departments else [d.code for d in item.providers.all()],
    }


@router.get("/catalog/items", response=list[ItemOut], auth=None, summary="数据清单（公开）")
def list_items(request: HttpRequest) -> list[dict]:
    items = CatalogItem.objects.active().prefetch_related("providers")
    return [_item_out(i) for i in items]


@router.get("/catalog/items/{code}", response=ItemDetailOut, auth=None, summary="信息事项的字段")
def item_detail(request: HttpRequest, code: str) -> dict:
    from creditplus.catalog.models import CodeTable

    item = CatalogItem.objects.active().prefetch_related("providers").filter(code=code).first()
    if item is None:
        raise NotFound()
    spec = item.spec
    tables = {
        t.code: t.values
        for t in CodeTable.objects.filter(
            code__in=[f.code_table for f in spec.fields if f.code_table]
        )
    }
    fields = [
        {
            "code": f.code,
            "label": f.label,
            "type": f.type,
            "required": f.required,
            "required_if": {"field": f.required_if.field, f.required_if.op: f.required_if.value}
            if f.required_if
            else None,
            "max_length": f.max_length,
            "code_table": f.code_table,
            "codes": tables.get(f.code_table) if f.code_table else None,
            "public": f.public,
        }
        for f in spec.fields
    ]
    return {
        **_item_out(item),
        "description": item.description,
        "natural_key": list(spec.natural_key),
        "fields": fields,
    }


class MatterOut(Schema):
    code: str
    name: str
    category: str
    departments: list[str]
    checks: dict
    basis: str


@router.get("/matters", response=list[MatterOut], auth=None, summary="应用清单（公开）")
def list_matters(request: HttpRequest) -> list[dict]:
    return [
        {
            "code": m.code,
            "name": m.name,
            "category": m.category,
            "departments": [d.code for d in m.departments.all()],
            "checks": m.checks,
            "basis": m.basis,
        }
        for m in Matter.objects.filter(is_active=True).prefetch_related("departments")
    ]
