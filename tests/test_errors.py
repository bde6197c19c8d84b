"""The page side of the one error shape (creditplus/errors.py): a refusal on its form with
its code, NotFound and Forbidden as 404 and a 403 page saying why."""

from __future__ import annotations

import pytest
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory

from creditplus.errors import (
    DomainError,
    Forbidden,
    NotFound,
    as_page,
    refusals_on,
    show_on_form,
)


class UploadForm(forms.Form):
    file = forms.CharField()
    purpose = forms.CharField()


def bound_form() -> UploadForm:
    form = UploadForm({"file": "x.csv", "purpose": "核查"})
    assert form.is_valid()
    return form


def test_a_refusal_is_shown_on_its_field_with_message_then_code():
    form = bound_form()
    show_on_form(form, DomainError("purpose_short", "用途过短", field="purpose"))
    assert form.errors["purpose"] == ["用途过短（错误代码：purpose_short）"]


def test_a_service_field_name_is_mapped_to_the_form_field_by_alias():
    form = bound_form()
    show_on_form(form, DomainError("too_many", "代码过多", field="subjects"), {"subjects": "file"})
    assert form.errors["file"] == ["代码过多（错误代码：too_many）"]


def test_a_refusal_without_a_form_field_goes_on_top():
    form = bound_form()
    show_on_form(form, DomainError("closed", "任务已关闭", field="status"))
    assert form.non_field_errors() == ["任务已关闭（错误代码：closed）"]


def test_refusals_on_shows_the_refusal_and_leaves_the_block():
    form = bound_form()
    reached = []
    with refusals_on(form):
        raise DomainError("closed", "任务已关闭")
        reached.append("after")  # never runs
    assert reached == []
    assert form.non_field_errors() == ["任务已关闭（错误代码：closed）"]


@pytest.mark.parametrize("exc", [NotFound(), Forbidden()])
def test_refusals_on_lets_not_found_and_forbidden_reach_the_page(exc):
    form = bound_form()
    with pytest.raises(type(exc)), refusals_on(form):
        raise exc
    assert form.errors == {}


def test_as_page_maps_not_found_to_404_and_forbidden_to_a_page_saying_why(db):
    request = RequestFactory().get("/backoffice/x/")

    def missing() -> HttpResponse:
        raise NotFound()

    def refused() -> HttpResponse:
        raise Forbidden("仅抽中的检查人员可录入结果")

    with pytest.raises(Http404):
        as_page(request, missing)
    with pytest.raises(PermissionDenied):
        as_page(request, refused, None)
    request.user = AnonymousUser()
    response = as_page(request, refused)
    assert response.status_code == 403
    assert "仅抽中的检查人员可录入结果" in response.content.decode()
