"""The browser fixtures' own decisions, without a browser."""

import pytest

from tests.browser.conftest import require_axe, require_chromium

FAILED, SKIPPED = pytest.fail.Exception, pytest.skip.Exception


def outcome(path: str, environ: dict[str, str]) -> tuple[type | None, str]:
    """What require_chromium did, caught here (a skip must not pass for this test's own skip)."""
    try:
        require_chromium(path, environ)
    except (FAILED, SKIPPED) as exc:
        return type(exc), str(exc)
    return None, ""


def test_missing_chromium_fails_under_ci(tmp_path):
    kind, reason = outcome(str(tmp_path / "chromium"), {"CI": "true"})
    assert kind is FAILED and "CI=true" in reason and "ensure-chromium" in reason


@pytest.mark.parametrize("environ", [{}, {"CI": "false"}, {"CI": ""}])
def test_missing_chromium_skips_outside_ci(tmp_path, environ):
    kind, reason = outcome(str(tmp_path / "chromium"), environ)
    assert kind is SKIPPED and "ensure-chromium" in reason


@pytest.mark.parametrize("environ", [{}, {"CI": "true"}])
def test_present_chromium_is_used(tmp_path, environ):
    browser = tmp_path / "chromium"
    browser.write_text("")
    assert outcome(str(browser), environ) == (None, "")


def axe_outcome(path, environ: dict[str, str]) -> tuple[type | None, str]:
    try:
        require_axe(path, environ)
    except (FAILED, SKIPPED) as exc:
        return type(exc), str(exc)
    return None, ""


@pytest.mark.parametrize(("environ", "kind"), [({"CI": "true"}, FAILED), ({}, SKIPPED)])
def test_missing_axe_core_fails_under_ci_and_skips_outside(environ, kind):
    from conftest import ROOT

    found, reason = axe_outcome(ROOT / "node_modules" / "no-such-package" / "axe.min.js", environ)
    assert found is kind and "npm ci" in reason
