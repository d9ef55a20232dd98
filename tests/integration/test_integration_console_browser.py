"""The console and the interactive docs in a real browser: Debian's headless Chromium driven by
Selenium, end to end against a local stack of this module's own (moto server, ``chalice local``, a
queue worker), so that the review queue holds only this module's cases and no other test's traffic
shares the static routes' throttles.

Every wait is explicit (WebDriverWait on a condition the page sets when it is done), never a sleep.
Each page is saved as a screenshot under pytest's temporary directory (``console-screenshots``);
``docs/console-decision.png`` and ``docs/console-review-queue.png`` in the README are copies of two
of them. The browser's console log is checked for Content-Security-Policy violations: the pages
must work under the API's CSP with no inline script.

Needs /usr/bin/chromium and /usr/bin/chromedriver (``make browser`` installs them; ``make test``
runs it first). Skipped, saying why, where they are missing.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib import engine
from chalicelib.service.reviews import review_id_for
from devstack.cognito import DEMO_STAFF, id_token
from devstack.samples import applications
from devstack.stack import DevStack

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_SECONDS = 20

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="Debian chromium + chromium-driver not installed (make browser)",
)

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def site(start_stack: Callable[..., DevStack]) -> DevStack:
    return start_stack("console-browser", workers=1)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("console-screenshots")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # The flags that work on this kind of machine (closed network): no background connections.
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,2000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager never tries to download a browser or driver.
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait(driver: Any) -> WebDriverWait:
    return WebDriverWait(driver, WAIT_SECONDS)


def csp_violations(driver: Any) -> list[str]:
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Content-Security-Policy" in entry["message"]
    ]


def open_console(driver: Any, site: DevStack, fragment: str = "#new") -> None:
    # A fresh page load each time (a change of fragment alone would keep the previous view).
    driver.get("about:blank")
    driver.get(f"{site.api_url}/console{fragment}")
    wait(driver).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")


def use_api_key(driver: Any, key: str) -> None:
    field = driver.find_element(By.ID, "api-key")
    field.clear()
    field.send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "#key-form button").click()
    wait(driver).until(ec.text_to_be_present_in_element((By.ID, "key-state"), "key set"))


def open_view(driver: Any, link_id: str) -> None:
    # The navigation link, as an officer would (a hashchange, so the key stays set).
    driver.find_element(By.ID, link_id).click()


def banner_text(driver: Any) -> str:
    wait(driver).until(ec.visibility_of_element_located((By.ID, "banner")))
    return str(driver.find_element(By.ID, "banner-text").text)


def assert_a_sentence(text: str) -> None:
    # Never an error body or a stack trace in front of an officer.
    for raw in ("{", "}", "Traceback", '"error"', "request_id"):
        assert raw not in text, text


def wait_for_outcome(driver: Any, outcome: str) -> None:
    wait(driver).until(ec.visibility_of_element_located((By.ID, "view-decision")))
    wait(driver).until(ec.text_to_be_present_in_element((By.ID, "decision-outcome"), outcome))


def test_console_decides_shows_the_chart_and_applies_the_counteroffer(
    browser: Any, site: DevStack, screenshots: Path
) -> None:
    open_console(browser, site)
    use_api_key(browser, site.api_key())
    # The form is built from the document's Application schema: every field has a labelled input.
    schema = engine.application_json_schema()
    for name in schema["properties"]:
        label = browser.find_element(By.CSS_SELECTOR, f'label[for="in-{name}"]')
        assert label.text.strip()
    assert browser.find_element(By.ID, "in-age").get_attribute("min") == "18"
    browser.save_screenshot(str(screenshots / "new-application.png"))

    browser.find_element(By.ID, "fill-sample").click()
    # The README's 12-month request: declined by policy, with an approvable counteroffer.
    Select(browser.find_element(By.ID, "in-loan_tenure_months")).select_by_value("12")
    browser.find_element(By.ID, "submit").click()
    wait_for_outcome(browser, "declined")
    assert "POL-FOIR-MAX" in browser.find_element(By.ID, "decision-reasons").text
    canvas = browser.find_element(By.ID, "points-chart")
    wait(browser).until(lambda d: canvas.get_attribute("data-rendered") == "true")
    assert int(canvas.get_attribute("data-bars")) == len(
        engine.decide(engine.validate_application({**_sample(), "loan_tenure_months": 12}))["contributions"]
    )
    assert canvas.size["height"] > 100 and canvas.size["width"] > 100
    # The notice text is fetched as text/plain from the API.
    wait(browser).until(lambda d: d.find_element(By.ID, "notice-text").text.startswith("Decision on"))
    assert browser.find_elements(By.CSS_SELECTOR, "#suggestions tbody tr")
    assert browser.find_element(By.ID, "counteroffer").is_displayed()
    browser.save_screenshot(str(screenshots / "decision.png"))

    browser.find_element(By.ID, "apply-counteroffer").click()
    wait_for_outcome(browser, "approved")
    assert browser.find_element(By.ID, "in-loan_amount").get_attribute("value") == "450000"
    assert not browser.find_element(By.ID, "counteroffer").is_displayed()
    browser.save_screenshot(str(screenshots / "counteroffer-applied.png"))
    assert csp_violations(browser) == []


def _sample() -> dict[str, Any]:
    return applications(1, with_personal_data=False)[0]


def test_api_errors_appear_next_to_their_fields(browser: Any, site: DevStack, screenshots: Path) -> None:
    open_console(browser, site)
    use_api_key(browser, site.api_key())
    browser.find_element(By.ID, "fill-sample").click()
    age = browser.find_element(By.ID, "in-age")
    age.clear()
    age.send_keys("17")
    Select(browser.find_element(By.ID, "in-education")).select_by_value("")
    browser.find_element(By.ID, "submit").click()
    wait(browser).until(lambda d: d.find_element(By.ID, "err-age").text != "")
    assert "18" in browser.find_element(By.ID, "err-age").text
    assert browser.find_element(By.ID, "err-education").text == "is required"
    assert browser.find_element(By.ID, "in-age").get_attribute("aria-invalid") == "true"
    banner = browser.find_element(By.ID, "banner-text").text
    assert "fields need attention" in banner and "{" not in banner  # a sentence, never raw JSON
    browser.save_screenshot(str(screenshots / "inline-errors.png"))


def test_asynchronous_submit_polls_until_decided(browser: Any, site: DevStack) -> None:
    open_console(browser, site)
    use_api_key(browser, site.api_key())
    browser.find_element(By.ID, "fill-sample").click()
    browser.find_element(By.CSS_SELECTOR, 'input[name="mode"][value="async"]').click()
    browser.find_element(By.ID, "submit").click()
    wait_for_outcome(browser, "approved")


def test_a_missing_api_key_is_a_sentence_not_an_error_body(browser: Any, site: DevStack) -> None:
    open_console(browser, site)
    browser.execute_script("sessionStorage.clear()")
    browser.find_element(By.ID, "fill-sample").click()
    browser.find_element(By.ID, "submit").click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "banner")))
    assert "API key is missing or not valid" in browser.find_element(By.ID, "banner-text").text


def _manual_review_application() -> dict[str, Any]:
    for payload in applications(400, with_personal_data=True):
        if engine.decide(engine.validate_application(payload))["outcome"] == "manual_review":
            return payload
    raise AssertionError("no manual_review applicant in the first 400 rows")


def test_reviewer_claims_and_decides_a_case(browser: Any, site: DevStack, screenshots: Path) -> None:
    if site.staff_pool is None:
        pytest.skip("this AWS endpoint has no Cognito IdP: no staff sign-in")
    decided = requests.post(
        f"{site.api_url}/v1/decisions",
        json=_manual_review_application(),
        headers=site.api_headers(),
        timeout=30,
    )
    assert decided.status_code == 200 and decided.json()["outcome"] == "manual_review"
    review_id = review_id_for(decided.json()["decision_id"])
    reviewer = next(user for user in DEMO_STAFF if user.username == "reviewer1")
    token = id_token(site.client("cognito-idp"), site.staff_pool, reviewer.username, reviewer.password)

    open_console(browser, site, "#reviews")
    browser.find_element(By.ID, "staff-token").send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "#token-form button").click()
    claim = wait(browser).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, f'button.claim[data-review-id="{review_id}"]'))
    )
    browser.save_screenshot(str(screenshots / "review-queue.png"))
    claim.click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "review-detail")))
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "review-id"), "claimed"))
    Select(browser.find_element(By.ID, "review-outcome")).select_by_value("declined")
    reasons = Select(browser.find_element(By.ID, "review-reasons-select"))
    reasons.select_by_index(0)
    browser.find_element(By.ID, "review-note").send_keys("Income not verified by the documents.")
    browser.find_element(By.ID, "review-decide").click()
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "review-id"), "closed"))
    assert browser.find_element(By.ID, "audit-verified").text == "✓ verified"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#audit-entries li")) >= 3
    browser.save_screenshot(str(screenshots / "review-decided.png"))
    assert csp_violations(browser) == []


def test_swagger_ui_try_it_out_returns_200(browser: Any, site: DevStack, screenshots: Path) -> None:
    browser.get(f"{site.api_url}/docs")
    operation = "#operations-default-createDecision"
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, operation)))
    browser.find_element(By.CSS_SELECTOR, "button.authorize").click()
    # The first scheme in the document is ApiKeyAuth (x-api-key).
    key_box = wait(browser).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, ".auth-container input"))
    )
    key_box.send_keys(site.api_key())
    browser.find_element(By.CSS_SELECTOR, ".auth-container button.authorize").click()
    browser.find_element(By.CSS_SELECTOR, "button.btn-done").click()
    wait(browser).until(ec.invisibility_of_element_located((By.CSS_SELECTOR, ".modal-ux")))
    browser.find_element(By.CSS_SELECTOR, f"{operation} .opblock-summary-control").click()
    wait(browser).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, f"{operation} button.try-out__btn"))
    ).click()
    wait(browser).until(ec.element_to_be_clickable((By.CSS_SELECTOR, f"{operation} button.execute"))).click()
    status = wait(browser).until(
        ec.presence_of_element_located(
            (By.CSS_SELECTOR, f"{operation} .live-responses-table tbody .response-col_status")
        )
    )
    assert status.text.strip() == "200"
    body = browser.find_element(
        By.CSS_SELECTOR, f"{operation} .live-responses-table tbody .response-col_description"
    )
    assert '"outcome": "approved"' in body.text  # the document's request example, really decided
    browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.CSS_SELECTOR, operation))
    browser.save_screenshot(str(screenshots / "docs-try-it-out.png"))
    assert csp_violations(browser) == []


def _post_decisions(site: DevStack, count: int) -> None:
    for payload in applications(count, with_personal_data=False):
        response = requests.post(
            f"{site.api_url}/v1/decisions", json=payload, headers=site.api_headers(), timeout=30
        )
        assert response.status_code == 200, response.text


def _chart(driver: Any, canvas_id: str) -> dict[str, str]:
    canvas = driver.find_element(By.ID, canvas_id)
    assert canvas.size["height"] > 100 and canvas.size["width"] > 100
    return {
        name: str(canvas.get_attribute(f"data-{name}") or "")
        for name in ("rendered", "points", "latest", "total")
    }


def test_operations_view_charts_live_figures(browser: Any, site: DevStack, screenshots: Path) -> None:
    open_console(browser, site)
    use_api_key(browser, site.api_key())
    open_view(browser, "nav-ops")
    view = browser.find_element(By.ID, "view-ops")
    wait(browser).until(lambda d: int(view.get_attribute("data-refreshes") or 0) >= 1)
    # Traffic between two refreshes, so the rates, quantiles and decisions have something to show.
    _post_decisions(site, 3)
    first = int(view.get_attribute("data-refreshes"))
    wait(browser).until(lambda d: int(view.get_attribute("data-refreshes") or 0) >= first + 2)

    requests_chart = _chart(browser, "ops-requests")
    assert requests_chart["rendered"] == "true" and int(requests_chart["points"]) >= 2
    assert float(requests_chart["latest"]) > 0  # at least the scrapes themselves
    p50, p95, p99 = (float(v) for v in _chart(browser, "ops-latency")["latest"].split(","))
    assert 0 < p50 <= p95 <= p99
    errors = _chart(browser, "ops-errors")
    assert errors["rendered"] == "true" and len(errors["latest"].split(",")) == 2
    assert int(float(_chart(browser, "ops-decisions")["total"])) >= 3
    backlog = _chart(browser, "ops-backlog")
    assert backlog["rendered"] == "true" and backlog["latest"].split(",")[0] != ""  # queue depth known
    assert browser.find_element(By.ID, "ops-queue-visible").text.isdigit()
    assert browser.find_element(By.ID, "ops-reviews-open").text.isdigit()
    assert browser.find_element(By.ID, "banner").is_displayed() is False
    browser.save_screenshot(str(screenshots / "operations.png"))
    assert csp_violations(browser) == []


def test_a_429_from_the_gateway_shows_the_wait_and_clears(
    browser: Any, site: DevStack, screenshots: Path
) -> None:
    # Real 429s from the emulated gateway: /metrics has a method throttle of 5/s (burst 10); a
    # scraper that asks faster keeps that bucket empty, so the Operations view's refreshes are
    # refused with THROTTLED and Retry-After like API Gateway's.
    open_console(browser, site)
    use_api_key(browser, site.api_key())
    stop = threading.Event()

    def hammer() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                session.get(f"{site.api_url}/metrics", headers=site.api_headers(), timeout=10)

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        open_view(browser, "nav-ops")
        wait(browser).until(ec.text_to_be_present_in_element((By.ID, "banner-text"), "Too many requests"))
        text = banner_text(browser)
        assert "Retry in 1 s." in text
        assert_a_sentence(text)
        assert browser.find_element(By.ID, "banner-retry").is_displayed()
        browser.save_screenshot(str(screenshots / "throttled.png"))
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    # Once the bucket refills, the next refresh succeeds and takes the message away.
    wait(browser).until(ec.invisibility_of_element_located((By.ID, "banner")))
    open_view(browser, "nav-new")  # stop the view's refreshes


def test_a_503_shows_the_retry_message_and_retry_works(
    browser: Any, site: DevStack, screenshots: Path
) -> None:
    open_console(browser, site)
    use_api_key(browser, site.api_key())
    browser.find_element(By.ID, "fill-sample").click()
    browser.find_element(By.CSS_SELECTOR, 'input[name="mode"][value="async"]').click()
    site.pause_aws("dynamodb")  # the PENDING record cannot be written: 503 with Retry-After
    try:
        browser.find_element(By.ID, "submit").click()
        wait(browser).until(
            ec.text_to_be_present_in_element((By.ID, "banner-text"), "temporarily unavailable")
        )
        text = banner_text(browser)
        assert "Retry in 5 s." in text and "nothing was saved" in text
        assert_a_sentence(text)
        assert_a_sentence(browser.find_element(By.ID, "main").text)
        browser.save_screenshot(str(screenshots / "unavailable.png"))
    finally:
        site.resume_aws("dynamodb")
    browser.find_element(By.ID, "banner-retry").click()
    wait_for_outcome(browser, "approved")


def test_the_form_is_keyboard_operable(browser: Any, site: DevStack, screenshots: Path) -> None:
    open_console(browser, site)
    use_api_key(browser, site.api_key())
    browser.find_element(By.ID, "fill-sample").click()
    browser.find_element(By.TAG_NAME, "body").click()
    browser.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    active = browser.switch_to.active_element
    visited: list[str] = []
    for _ in range(80):
        active.send_keys(Keys.TAB)
        active = browser.switch_to.active_element
        element_id = active.get_attribute("id") or ""
        visited.append(element_id or active.tag_name)
        if active.tag_name in ("input", "select", "textarea") and active.get_attribute("type") != "radio":
            # Every control is labelled (a label for it, or around it) ...
            assert browser.execute_script(
                "var e = arguments[0];"
                " return e.labels && e.labels.length > 0 && e.labels[0].textContent.trim() !== ''",
                active,
            ), element_id
        # ... and the focus is visible (the stylesheet's :focus-visible outline).
        style = browser.execute_script(
            "var s = getComputedStyle(arguments[0]); return [s.outlineStyle, s.outlineWidth]", active
        )
        if active.tag_name in ("input", "select", "button", "a"):
            assert style[0] != "none" and style[1] != "0px", (element_id, style)
        if element_id == "submit":
            break
    assert visited[-1] == "submit", visited
    fields = [v for v in visited if v.startswith("in-")]
    assert len(fields) == len(engine.application_json_schema()["properties"]), visited
    assert fields == sorted(fields, key=fields.index)  # in the order the form shows them
    browser.save_screenshot(str(screenshots / "keyboard-focus.png"))
    active.send_keys(Keys.ENTER)
    wait_for_outcome(browser, "approved")
    # Focus moves to the decision's heading, so a keyboard user continues from there.
    assert browser.switch_to.active_element.get_attribute("id") == "decision-title"
