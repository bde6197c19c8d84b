"""The data-quality page draws its charts in a real browser (ECharts served as a static file)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_quality_charts_render(app_server, browser_page):
    app_server.manage(
        "demo_data",
        "--subjects",
        "60",
        "--load",
        "--out",
        str(app_server.env["CREDITPLUS_VAR_DIR"]) + "/demo",
    )
    app_server.manage("demo_accounts", "--password", "Demo-pass-2026")
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(app_server.url + "/backoffice/login/")
    page.fill("#id_username", "xinyongban")
    page.fill("#id_password", "Demo-pass-2026")
    page.click("button[type=submit]")
    page.goto(app_server.url + "/backoffice/records/quality/")
    page.wait_for_selector("#chart-volume canvas")
    page.wait_for_selector("#chart-errors canvas")
    assert not errors
    assert page.locator("h1").inner_text() == "数据质量"
