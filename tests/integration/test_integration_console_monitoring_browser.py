"""The console's Monitoring page in a real browser (headless Chromium, Selenium) against a local stack
of its own: decisions made over HTTP, loan outcomes recorded for the approved ones, a member of the
model-risk team signs in on the page, starts a run with its Run button and reads the report: PSI of
the score and CSI of every characteristic, fairness groups with their sizes, calibration by score
band, override figures, the approval rate per version over the reports, and the alert (a rejection
spike: most of the decisions were declined within a quarter hour) highlighted.

The browser and helpers are the console browser test's (tests/integration/
test_integration_console_browser.py); every wait is for a condition the page sets, never a sleep.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.engine import decide, monitoring, packaged_version
from devstack.samples import iter_applications
from devstack.stack import DevStack
from tests.integration.test_integration_console_browser import (  # noqa: F401  (browser: a fixture)
    By,
    Select,
    _staff,
    browser,
    csp_violations,
    ec,
    open_console,
    screenshots,
    submit_sign_in,
    wait,
)

pytestmark = pytest.mark.integration
DECLINED, APPROVED = 30, 10  # three in four declined: a rejection-rate spike in any quarter hour


@pytest.fixture(scope="module")
def site(start_stack: Callable[..., DevStack]) -> DevStack:
    stack = start_stack(
        "console-monitoring", workers=0, reconcile_every_seconds=None, monitor_every_seconds=None
    )
    if stack.staff_pool is None:
        pytest.skip("this AWS endpoint has no Cognito IdP: no staff sign-in")
    return stack


def chosen_applications() -> list[dict[str, Any]]:
    """Shipped rows the packaged version declines and approves, three declined to one approved."""
    model, policy = packaged_version()
    declined: list[dict[str, Any]] = []
    approved: list[dict[str, Any]] = []
    for application in iter_applications(with_personal_data=False):
        outcome = decide(application, model, policy)["outcome"]
        if outcome == "declined" and len(declined) < DECLINED:
            declined.append(application)
        elif outcome == "approved" and len(approved) < APPROVED:
            approved.append(application)
        if len(declined) == DECLINED and len(approved) == APPROVED:
            break
    mixed: list[dict[str, Any]] = []
    for i in range(APPROVED):
        mixed += [*declined[3 * i : 3 * i + 3], approved[i]]
    return mixed


@pytest.fixture(scope="module")
def decided(site: DevStack) -> list[dict[str, Any]]:
    answers = []
    for application in chosen_applications():
        response = requests.post(
            f"{site.api_url}/v1/decisions", json=application, headers=site.api_headers(), timeout=60
        )
        assert response.status_code == 200, response.text
        answers.append(response.json())
    today = dt.datetime.now(dt.UTC).date().isoformat()
    for i, answer in enumerate(a for a in answers if a["outcome"] == "approved"):
        recorded = requests.post(
            f"{site.api_url}/v1/decisions/{answer['decision_id']}/outcome",
            json={"status": "default" if i % 5 == 0 else "paid_off", "as_of": today},
            headers=site.api_headers(),
            timeout=60,
        )
        assert recorded.status_code == 201, recorded.text
    return answers


def rows(driver: Any, table_id: str) -> list[Any]:
    return list(driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr"))


def test_model_risk_runs_monitoring_and_reads_the_report(
    browser: Any,  # noqa: F811  (the imported fixture)
    site: DevStack,
    screenshots: Path,  # noqa: F811
    decided: list[dict[str, Any]],
) -> None:
    user = _staff("modelrisk1")
    open_console(browser, site, "#monitoring")
    wait(browser).until(ec.visibility_of_element_located((By.ID, "view-monitoring")))
    if browser.find_element(By.ID, "staff-signed-in").is_displayed():
        browser.find_element(By.ID, "sign-out").click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "sign-in-form")))
    submit_sign_in(browser, user.username, user.password)
    wait(browser).until(ec.visibility_of_element_located((By.ID, "monitoring-run-form")))

    Select(browser.find_element(By.ID, "monitoring-window")).select_by_value("1")
    browser.find_element(By.ID, "monitoring-run").click()
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "monitoring-run-result"), "decisions"))
    report_id = browser.find_element(By.ID, "monitoring-run-result").text.split()[1].rstrip(":")
    wait(browser).until(
        lambda d: d.find_element(By.ID, "monitoring-detail").get_attribute("data-report") == report_id
    )
    wait(browser).until(
        lambda d: d.find_element(By.ID, "monitoring-approval-chart").get_attribute("data-points") == "1"
    )
    assert f"{len(decided)} decisions" in browser.find_element(By.ID, "monitoring-run-result").text
    assert (
        browser.find_element(By.ID, "monitoring-detail").get_attribute("data-section") == "v1 · all clients"
    )

    # score PSI and every characteristic's CSI, each with too few decisions for a verdict
    reference = monitoring.packaged_reference()
    stability = rows(browser, "monitoring-psi")
    assert len(stability) == 1 + len(reference["characteristics"])
    assert stability[0].find_element(By.TAG_NAME, "th").text == "score"
    assert {r.find_elements(By.TAG_NAME, "td")[1].text for r in stability} == {"insufficient"}
    assert browser.find_element(By.ID, "monitoring-psi-chart").get_attribute("data-bars") == str(
        len(stability)
    )

    # the alert, highlighted, and the figures it rests on
    alerts = browser.find_elements(By.CSS_SELECTOR, "#monitoring-alerts li.alert")
    assert [a.text for a in alerts if a.text.startswith("Rejection rate")], [a.text for a in alerts]
    assert alerts[0].value_of_css_property("color") == "rgba(179, 38, 30, 1)"  # var(--bad)
    facts = browser.find_element(By.ID, "monitoring-facts").text
    approved = sum(1 for answer in decided if answer["outcome"] == "approved")
    assert (
        f"Approval rate\n{100 * approved / len(decided):.1f}%" in facts
        and f"Decisions\n{len(decided)}" in facts
    )

    # fairness groups with their sizes (too small to judge), calibration of the matured loans
    fairness = browser.find_element(By.ID, "monitoring-fairness").text
    assert "gender: disparate impact" in fairness and "age band: disparate impact" in fairness
    assert "too few to judge" in fairness
    calibration = rows(browser, "monitoring-calibration")
    matured = sum(int(r.find_elements(By.TAG_NAME, "td")[0].text) for r in calibration)
    assert matured == approved > 0
    assert browser.find_element(By.ID, "monitoring-approval-chart").get_attribute("data-versions") == "1"

    # the report in the list, its alert codes named
    listed = [r for r in rows(browser, "monitoring-reports") if report_id in r.text]
    assert listed and "rejection_rate_spike" in listed[0].text
    browser.save_screenshot(str(screenshots / "console-monitoring.png"))
    assert csp_violations(browser) == []
