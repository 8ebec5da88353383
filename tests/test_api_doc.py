"""docs/api.md is what the app's OpenAPI schema says (`python -m monitor.web.apidoc`)."""

from __future__ import annotations

from pathlib import Path

from monitor.web.apidoc import markdown, openapi

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def test_api_doc_is_generated_from_the_schema() -> None:
    assert DOC.read_text(encoding="utf-8") == markdown(openapi()), (
        "docs/api.md is stale: run `python -m monitor.web.apidoc > docs/api.md`"
    )


def test_the_public_fields_are_in_the_schema() -> None:
    spec = openapi()
    alert = spec["components"]["schemas"]["Alert"]["properties"]
    assert {"id", "case_id", "level", "state", "category", "rule", "department", "message"} <= set(alert)
    assert set(spec["components"]["schemas"]["AlertList"]["properties"]) == {"total", "items"}
    assert {"/api/alerts", "/api/cases/{case_id}", "/api/alerts/{alert_id}/ack"} <= set(spec["paths"])
