"""The console and the interactive docs in a real browser: Debian's headless Chromium driven by
Selenium, end to end against a local stack of this module's own (moto server, ``chalice local``, a
queue worker), so that the review queue holds only this module's cases and no other test's traffic
shares the static routes' throttles.

Staff sign in as a person would, with the console's username and password form (Cognito's
USER_PASSWORD_AUTH against the stack's moto server, straight from the browser): no token is handed to
the page. The review desk's tests go through sign-in errors, a first sign-in's new password, token
refresh, paging with the API's cursor, and maker-checker (a reviewer's large approval, a manager's
second approval, the maker refused). With the password flow off (prod's app client: SRP only) the
console runs Cognito's USER_SRP_AUTH instead: a test overrides the config to take that path.

Every wait is explicit (WebDriverWait on a condition the page sets when it is done), never a sleep.
Each page is saved as a screenshot under pytest's temporary directory (``console-screenshots``);
``docs/console-decision.png`` and ``docs/console-review-queue.png`` in the README are copies of two
of them. The browser's console log is checked for Content-Security-Policy violations: the pages
must work under the API's CSP with no inline script.

Needs /usr/bin/chromium and /usr/bin/chromedriver (``make browser`` installs them; ``make test``
runs it first). Skipped, saying why, where they are missing.
"""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib import engine, resources
from chalicelib.engine.lending_policy import POLICY_V1_PATH
from chalicelib.service.reviews import review_id_for
from devstack.cognito import DEMO_STAFF, DemoStaffUser, id_token
from devstack.samples import applications
from devstack.stack import DevStack
from tests.support.cognito_srp_server import SrpServer
from tests.support.review_cases import large_manual_review_applications, manual_review_applications

CHROMIUM = "/usr/bin/chromium"
STAFF_STORAGE = "loan-console.staff-session"  # console.js keeps the staff tokens here
# Fewer than a page of cases than the paging test opens, so the queue needs more than one page.
PAGE_SIZE = "5"
PAGED_CASES = 7
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_SECONDS = 60  # generous: a loaded machine may take many seconds per page step

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
        engine.decide(
            engine.validate_application({**_sample(), "loan_tenure_months": 12}), *engine.packaged_version()
        )["contributions"]
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
    wait_for_outcome(browser, "approved")  # raises if the poll never ends in a decision
    assert "approved" in browser.find_element(By.ID, "decision-outcome").text


def test_a_missing_api_key_is_a_sentence_not_an_error_body(browser: Any, site: DevStack) -> None:
    open_console(browser, site)
    browser.execute_script("sessionStorage.clear()")
    browser.find_element(By.ID, "fill-sample").click()
    browser.find_element(By.ID, "submit").click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "banner")))
    assert "API key is missing or not valid" in browser.find_element(By.ID, "banner-text").text


# ------------------------------------------------------------------------------ the review desk
def _staff(username: str) -> DemoStaffUser:
    return next(user for user in DEMO_STAFF if user.username == username)


def _needs_cognito(site: DevStack) -> None:
    if site.staff_pool is None:
        pytest.skip("this AWS endpoint has no Cognito IdP: no staff sign-in")


def _open_case(site: DevStack, payload: dict[str, Any]) -> tuple[str, str]:
    """(review id, decision id) of the case a manual_review decision opens."""
    decided = requests.post(
        f"{site.api_url}/v1/decisions", json=payload, headers=site.api_headers(), timeout=30
    )
    assert decided.status_code == 200 and decided.json()["outcome"] == "manual_review", decided.text
    decision_id = decided.json()["decision_id"]
    return review_id_for(decision_id), decision_id


def _subject_of(site: DevStack, username: str) -> str:
    assert site.staff_pool is not None
    user = site.client("cognito-idp").admin_get_user(UserPoolId=site.staff_pool.pool_id, Username=username)
    return next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")


def _staff_session(driver: Any) -> dict[str, Any] | None:
    raw = driver.execute_script("return sessionStorage.getItem(arguments[0])", STAFF_STORAGE)
    return json.loads(raw) if raw else None


def open_desk_signed_out(driver: Any, site: DevStack) -> None:
    """The review queue with nobody signed in (signing out through the page if someone is)."""
    open_console(driver, site, "#reviews")
    wait(driver).until(ec.visibility_of_element_located((By.ID, "view-reviews")))
    if driver.find_element(By.ID, "staff-signed-in").is_displayed():
        driver.find_element(By.ID, "sign-out").click()
    wait(driver).until(ec.visibility_of_element_located((By.ID, "sign-in-form")))


def submit_sign_in(driver: Any, username: str, password: str) -> None:
    for field_id, value in (("staff-username", username), ("staff-password", password)):
        field = driver.find_element(By.ID, field_id)
        field.clear()
        field.send_keys(value)
    driver.find_element(By.ID, "sign-in").click()


def loads(driver: Any) -> int:
    """How many review lists (or pages of one) the page has finished loading since it opened."""
    return int(driver.find_element(By.ID, "review-table").get_attribute("data-loads") or 0)


def until_a_list_loads(driver: Any, action: Callable[[], None]) -> None:
    before = loads(driver)
    action()
    wait(driver).until(lambda d: loads(d) > before)


def sign_in(driver: Any, site: DevStack, username: str, group: str | None = None) -> None:
    user = _staff(username)
    open_desk_signed_out(driver, site)
    until_a_list_loads(driver, lambda: submit_sign_in(driver, user.username, user.password))
    assert driver.find_element(By.ID, "staff-who").text == f"Signed in as {username} · {group or user.group}"


def show_cases(driver: Any, status: str, page_size: str | None = None) -> None:
    """The first page of ``status`` cases (changing a selector reloads the list; so does Show)."""
    changed = False
    for select_id, value in (("review-page-size", page_size), ("review-status", status)):
        select = Select(driver.find_element(By.ID, select_id))
        if value is not None and select.first_selected_option.get_attribute("value") != value:
            until_a_list_loads(driver, lambda select=select, value=value: select.select_by_value(value))
            changed = True
    if not changed:
        until_a_list_loads(driver, driver.find_element(By.ID, "review-reload").click)


def load_more(driver: Any) -> None:
    """ "Load more" once, and wait until the next page is in the table."""
    table = driver.find_element(By.ID, "review-table")
    pages = int(table.get_attribute("data-pages"))
    driver.find_element(By.ID, "review-more").click()
    wait(driver).until(lambda d: int(table.get_attribute("data-pages")) == pages + 1)


def find_case_button(driver: Any, review_id: str, kind: str) -> Any:
    """The case's Claim ("claim") or Open ("open-case") button, loading more pages until it shows."""
    selector = f'button.{kind}[data-review-id="{review_id}"]'
    for _ in range(50):
        found = driver.find_elements(By.CSS_SELECTOR, selector)
        if found:
            return found[0]
        assert driver.find_element(By.ID, "review-more").is_displayed(), f"case {review_id} is on no page"
        load_more(driver)
    raise AssertionError(f"case {review_id} not found in 50 pages")


def claim(driver: Any, review_id: str) -> None:
    find_case_button(driver, review_id, "claim").click()
    wait(driver).until(ec.text_to_be_present_in_element((By.ID, "review-id"), f"{review_id[:8]} · claimed"))


def decide(driver: Any, outcome: str, note: str) -> None:
    Select(driver.find_element(By.ID, "review-outcome")).select_by_value(outcome)
    if outcome == "declined":
        Select(driver.find_element(By.ID, "review-reasons-select")).select_by_index(0)
    driver.find_element(By.ID, "review-note").send_keys(note)
    driver.find_element(By.ID, "review-decide").click()


def test_staff_sign_in_says_what_went_wrong_then_signs_in_and_out(
    browser: Any, site: DevStack, screenshots: Path
) -> None:
    _needs_cognito(site)
    open_desk_signed_out(browser, site)
    # Labelled inputs a password manager understands.
    for field_id, autocomplete in (("staff-username", "username"), ("staff-password", "current-password")):
        field = browser.find_element(By.ID, field_id)
        assert field.get_attribute("autocomplete") == autocomplete
        assert browser.find_element(By.CSS_SELECTOR, f'label[for="{field_id}"]').text.strip()
    assert browser.find_element(By.ID, "staff-password").get_attribute("type") == "password"

    submit_sign_in(browser, "reviewer1", "Not-The-Password-1!")
    wait(browser).until(
        ec.text_to_be_present_in_element((By.ID, "sign-in-error"), "Incorrect username or password.")
    )
    assert_a_sentence(browser.find_element(By.ID, "sign-in-error").text)
    assert browser.find_element(By.ID, "staff-password").get_attribute("value") == ""
    assert browser.find_element(By.ID, "review-desk").is_displayed() is False
    browser.save_screenshot(str(screenshots / "sign-in-wrong-password.png"))
    # An unknown user reads exactly like a wrong password: the page never tells who exists.
    browser.execute_script("document.getElementById('sign-in-error').textContent = ''")
    submit_sign_in(browser, f"nobody-{uuid.uuid4().hex[:6]}", "Whatever-Pass-123!")
    wait(browser).until(
        ec.text_to_be_present_in_element((By.ID, "sign-in-error"), "Incorrect username or password.")
    )
    assert _staff_session(browser) is None

    # The keyboard alone: Enter in the password field signs in.
    reviewer = _staff("reviewer1")
    for field_id, value in (("staff-username", reviewer.username), ("staff-password", reviewer.password)):
        field = browser.find_element(By.ID, field_id)
        field.clear()
        field.send_keys(value)
    browser.find_element(By.ID, "staff-password").send_keys(Keys.ENTER)
    wait(browser).until(
        ec.text_to_be_present_in_element((By.ID, "staff-who"), "Signed in as reviewer1 · reviewer")
    )
    session = _staff_session(browser)
    assert session is not None and session["idToken"].count(".") == 2 and session["refreshToken"]
    assert browser.find_element(By.ID, "review-desk").is_displayed()
    assert browser.find_element(By.ID, "sign-in-form").is_displayed() is False

    browser.find_element(By.ID, "sign-out").click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "sign-in-form")))
    assert _staff_session(browser) is None
    assert browser.find_element(By.ID, "review-desk").is_displayed() is False
    assert csp_violations(browser) == []


def test_a_new_staff_member_chooses_a_password_at_the_first_sign_in(
    browser: Any, site: DevStack, screenshots: Path
) -> None:
    _needs_cognito(site)
    assert site.staff_pool is not None
    # As an administrator creates one in AWS: a temporary password, to be changed at first sign-in.
    cognito = site.client("cognito-idp")
    username = f"newstaff-{uuid.uuid4().hex[:8]}"
    temporary = "Temporary-Pass-2026!"
    cognito.admin_create_user(
        UserPoolId=site.staff_pool.pool_id,
        Username=username,
        TemporaryPassword=temporary,
        MessageAction="SUPPRESS",
    )
    cognito.admin_add_user_to_group(
        UserPoolId=site.staff_pool.pool_id, Username=username, GroupName=resources.REVIEWER_GROUP
    )
    open_desk_signed_out(browser, site)
    submit_sign_in(browser, username, temporary)
    wait(browser).until(ec.visibility_of_element_located((By.ID, "new-password-form")))
    assert browser.switch_to.active_element.get_attribute("id") == "new-password"
    rules = browser.find_element(By.ID, "new-password-rules").text
    assert f"at least {resources.STAFF_POOL.minimum_password_length} characters" in rules

    def choose(first: str, second: str) -> None:
        for field_id, value in (("new-password", first), ("new-password-again", second)):
            field = browser.find_element(By.ID, field_id)
            field.clear()
            field.send_keys(value)
        browser.find_element(By.ID, "set-new-password").click()

    choose("My-Own-Pass-2026!", "My-Own-Pass-2027!")
    wait(browser).until(
        ec.text_to_be_present_in_element((By.ID, "new-password-error"), "The two passwords differ")
    )
    choose("short", "short")  # refused by the pool's policy, said in a sentence
    wait(browser).until(
        ec.text_to_be_present_in_element((By.ID, "new-password-error"), "does not meet the policy")
    )
    assert_a_sentence(browser.find_element(By.ID, "new-password-error").text)
    browser.save_screenshot(str(screenshots / "sign-in-new-password.png"))
    choose("My-Own-Pass-2026!", "My-Own-Pass-2026!")
    wait(browser).until(
        ec.text_to_be_present_in_element((By.ID, "staff-who"), f"Signed in as {username} · reviewer")
    )
    # The new password is the one that works from now on.
    browser.find_element(By.ID, "sign-out").click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "sign-in-form")))
    submit_sign_in(browser, username, "My-Own-Pass-2026!")
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "staff-who"), f"Signed in as {username}"))
    assert csp_violations(browser) == []


# Run by Chromium before the page's own scripts (DevTools, so outside the page's CSP): the stage's
# config with password_flow off, as prod's is, and a record of every Cognito call and its answer.
SRP_CONFIG_OVERRIDE = """
(function () {
  var value;
  Object.defineProperty(window, 'LOAN_CONSOLE_CONFIG', {
    configurable: true,
    get: function () { return value; },
    set: function (config) {
      if (config && config.staff_sign_in) config.staff_sign_in.password_flow = false;
      value = config;
    }
  });
  window.__cognitoCalls = [];
  var original = window.fetch;
  window.fetch = function (url, init) {
    var target = init && init.headers && init.headers['X-Amz-Target'];
    var call = { target: target || null, body: init && init.body };
    if (target) window.__cognitoCalls.push(call);
    return original.apply(this, arguments).then(function (response) {
      if (target) response.clone().json().then(function (answer) { call.answer = answer; }, function () {});
      return response;
    });
  };
})();
"""


def test_with_the_password_flow_off_the_console_signs_in_by_srp_and_never_sends_the_password(
    browser: Any, site: DevStack, screenshots: Path
) -> None:
    """Prod's app client allows SRP only: the console then runs USER_SRP_AUTH.

    The math is proven in tests/unit/http/test_console_srp.py (Node against pycognito and a
    Cognito-side verifier); here, the same check runs in Chromium's own WebCrypto, and the flow's
    first step against moto: InitiateAuth with SRP_A and no password. moto cannot go further (5.2.5:
    a random SRP_B, a SECRET_BLOCK that is not Base64, no check of the signature, and a
    USER_ID_FOR_SRP, the sub, that its RespondToAuthChallenge cannot find), so the page's refusal
    of its challenge is what shows at the end.
    """
    _needs_cognito(site)
    assert site.staff_pool is not None
    script = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": SRP_CONFIG_OVERRIDE})
    try:
        open_desk_signed_out(browser, site)
        form = browser.find_element(By.ID, "sign-in-form")
        assert form.get_attribute("data-flow") == "srp"
        assert browser.find_element(By.ID, "sign-in-unavailable").is_displayed() is False
        assert browser.find_element(By.ID, "token-fallback").is_displayed()

        # Chromium's WebCrypto and BigInt give an answer a Cognito-side verifier accepts.
        server = SrpServer(
            pool_id=site.staff_pool.pool_id,
            user_id="reviewer1",
            password="Browser-Check-2026!",
            salt=0x9E3779B97F4A7C15F39CC0605CEDC834,
            small_b=int("c0ffee" * 170, 16),
        )
        challenge = server.challenge(bytes(range(256)) * 2)
        answer = browser.execute_async_script(
            """
            var done = arguments[arguments.length - 1];
            var srp = window.CognitoSrp;
            var exchange = srp.start('reviewer1');
            srp.passwordVerifierResponses({userPoolId: arguments[0], password: arguments[1],
              smallA: exchange.smallA, largeA: exchange.largeA, challenge: arguments[2]})
              .then(function (r) { done({srpA: exchange.authParameters.SRP_A, responses: r}); },
                    function (e) { done({error: String(e)}); });
            """,
            server.pool_id,
            server.password,
            challenge,
        )
        assert "error" not in answer, answer
        assert server.accepts(answer["srpA"], answer["responses"])

        reviewer = _staff("reviewer1")
        submit_sign_in(browser, reviewer.username, reviewer.password)
        # moto's SECRET_BLOCK is a UUID, not Base64: the console refuses to sign it, in a sentence.
        wait(browser).until(ec.text_to_be_present_in_element((By.ID, "sign-in-error"), "could not use"))
        assert_a_sentence(browser.find_element(By.ID, "sign-in-error").text)
        calls = browser.execute_script("return window.__cognitoCalls")
        assert [call["target"].split(".")[-1] for call in calls] == ["InitiateAuth"]
        assert reviewer.password not in calls[0]["body"]  # the password never leaves the browser
        initiate = json.loads(calls[0]["body"])
        assert initiate["AuthFlow"] == "USER_SRP_AUTH"
        assert set(initiate["AuthParameters"]) == {"USERNAME", "SRP_A"}
        assert initiate["AuthParameters"]["USERNAME"] == reviewer.username
        assert int(initiate["AuthParameters"]["SRP_A"], 16) > 1
        assert calls[0]["answer"]["ChallengeName"] == "PASSWORD_VERIFIER"
        assert _staff_session(browser) is None
        assert browser.find_element(By.ID, "staff-password").get_attribute("value") == ""
        browser.save_screenshot(str(screenshots / "sign-in-srp.png"))
        assert csp_violations(browser) == []
    finally:
        browser.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]}
        )


def test_an_id_token_the_api_refuses_is_refreshed_and_a_dead_session_asks_to_sign_in(
    browser: Any, site: DevStack
) -> None:
    _needs_cognito(site)
    sign_in(browser, site, "reviewer2")
    # The stored ID token goes bad (as an expired one would): the API answers 401, the page refreshes
    # it with the refresh token (REFRESH_TOKEN_AUTH) and repeats the request.
    browser.execute_script(
        "var s = JSON.parse(sessionStorage.getItem(arguments[0])); s.idToken = 'e30.e30.bad';"
        " sessionStorage.setItem(arguments[0], JSON.stringify(s));",
        STAFF_STORAGE,
    )
    table = browser.find_element(By.ID, "review-table")
    show_cases(browser, "open")
    wait(browser).until(lambda d: (_staff_session(d) or {}).get("idToken", "").startswith("eyJ"))
    assert browser.find_element(By.ID, "banner").is_displayed() is False
    assert int(table.get_attribute("data-pages")) >= 1
    listed = requests.get(
        f"{site.api_url}/v1/reviews?limit=1",
        headers={"Authorization": _staff_session(browser)["idToken"]},  # type: ignore[index]
        timeout=30,
    )
    assert listed.status_code == 200  # the refreshed token is one the API accepts

    # Both tokens bad: nothing to refresh with, so the page asks for a new sign-in.
    browser.execute_script(
        "sessionStorage.setItem(arguments[0], JSON.stringify(arguments[1]))",
        STAFF_STORAGE,
        {"idToken": "e30.e30.bad", "refreshToken": "revoked"},
    )
    browser.find_element(By.ID, "review-reload").click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "sign-in-form")))
    assert "sign in again" in browser.find_element(By.ID, "sign-in-error").text
    assert _staff_session(browser) is None


def test_the_review_queue_pages_with_the_apis_cursor(browser: Any, site: DevStack, screenshots: Path) -> None:
    _needs_cognito(site)
    opened = {
        _open_case(site, payload)[0]
        for payload in itertools.islice(manual_review_applications(), PAGED_CASES)
    }
    assert len(opened) == PAGED_CASES
    sign_in(browser, site, "reviewer2")
    show_cases(browser, "open", PAGE_SIZE)
    rows = browser.find_elements(By.CSS_SELECTOR, "#review-table tbody tr[data-review-id]")
    assert len(rows) == int(PAGE_SIZE)  # one page, and the button for the next
    more = browser.find_element(By.ID, "review-more")
    assert more.is_displayed() and "more to load" in browser.find_element(By.ID, "review-paging").text
    table = browser.find_element(By.ID, "review-table")
    while more.is_displayed():
        load_more(browser)
    listed = [
        row.get_attribute("data-review-id")
        for row in browser.find_elements(By.CSS_SELECTOR, "#review-table tbody tr[data-review-id]")
    ]
    assert int(table.get_attribute("data-pages")) >= 2
    assert len(listed) == len(set(listed))  # no case twice across pages
    assert opened <= set(listed)  # and none missing
    assert browser.find_element(By.ID, "review-paging").text.startswith(f"{len(listed)} open cases shown")
    assert csp_violations(browser) == []


def test_reviewer_claims_and_decides_a_case(browser: Any, site: DevStack, screenshots: Path) -> None:
    _needs_cognito(site)
    review_id, _ = _open_case(site, next(manual_review_applications()))
    sign_in(browser, site, "reviewer1")
    button = find_case_button(browser, review_id, "claim")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(screenshots / "review-queue.png"))
    claim(browser, review_id)
    decide(browser, "declined", "Income not verified by the documents.")
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "review-id"), "closed"))
    assert browser.find_element(By.ID, "audit-verified").text == "✓ verified"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#audit-entries li")) >= 3
    assert "Final outcome\ndeclined" in browser.find_element(By.ID, "review-facts").text
    browser.save_screenshot(str(screenshots / "review-decided.png"))
    assert csp_violations(browser) == []


def test_a_large_approval_waits_for_a_managers_second_approval(
    browser: Any, site: DevStack, screenshots: Path
) -> None:
    _needs_cognito(site)
    large = large_manual_review_applications()
    approved, approved_decision = _open_case(site, next(large))
    refused, _ = _open_case(site, next(large))
    own, _ = _open_case(site, next(large))
    reviewer_sub = _subject_of(site, "reviewer1")

    # The maker: a reviewer approves two large loans; each waits for a manager.
    sign_in(browser, site, "reviewer1")
    for review_id in (approved, refused):
        show_cases(browser, "open")
        claim(browser, review_id)
        decide(browser, "approved", "Salary slips and bank statements checked.")
        wait(browser).until(ec.visibility_of_element_located((By.ID, "second-approval")))
        proposal = browser.find_element(By.ID, "second-approval-proposal").text
        assert "Proposed “approved” by you (reviewer1)" in proposal
        assert f"above {engine.packaged_version().policy.second_approval_above_amount}" in proposal
        assert "Salary slips and bank statements checked." in proposal
        # A reviewer cannot check: the page says who must, and offers no approve button.
        assert browser.find_element(By.ID, "second-approval-form").is_displayed() is False
        assert "manager's second approval" in browser.find_element(By.ID, "second-approval-wait").text
        assert browser.find_element(By.ID, "review-decision-form").is_displayed() is False
        assert "claimed" in browser.find_element(By.ID, "review-id").text

    # The checker: a manager finds them among the claimed cases, marked, and sees who proposed.
    sign_in(browser, site, "manager1")
    show_cases(browser, "claimed")
    find_case_button(browser, approved, "open-case")
    row = browser.find_element(By.CSS_SELECTOR, f'#review-table tr[data-review-id="{approved}"]')
    assert "awaiting second approval" in row.text
    find_case_button(browser, approved, "open-case").click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "second-approval-form")))
    proposal = browser.find_element(By.ID, "second-approval-proposal").text
    assert f"by staff member {reviewer_sub[:8]}" in proposal and "you" not in proposal.split(" at ")[0]
    browser.save_screenshot(str(screenshots / "second-approval.png"))
    browser.find_element(By.ID, "second-approval-note").send_keys("Checked against the bureau file.")
    browser.find_element(By.ID, "second-approve").click()
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "review-id"), f"{approved[:8]} · closed"))
    facts = browser.find_element(By.ID, "review-facts").text
    assert "Final outcome\napproved" in facts and "Second approval by\nyou (manager1)" in facts
    assert f"Decided by\nstaff member {reviewer_sub[:8]}" in facts
    assert "second approval" in browser.find_element(By.ID, "audit-entries").text
    assert browser.find_element(By.ID, "audit-verified").text == "✓ verified"
    record = requests.get(
        f"{site.api_url}/v1/decisions/{approved_decision}", headers=site.api_headers(), timeout=30
    )
    assert record.json()["final_outcome"] == "approved" and record.json()["final_decided_by"] == "reviewer"

    # A refusal hands the case back to its maker: claimed, nothing pending.
    show_cases(browser, "claimed")
    find_case_button(browser, refused, "open-case").click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "second-approval-form")))
    browser.find_element(By.ID, "second-refuse").click()
    wait(browser).until(ec.invisibility_of_element_located((By.ID, "second-approval")))
    assert f"{refused[:8]} · claimed" in browser.find_element(By.ID, "review-id").text
    assert f"Claimed by\nstaff member {reviewer_sub[:8]}" in browser.find_element(By.ID, "review-facts").text
    assert "second approval refused" in browser.find_element(By.ID, "audit-entries").text

    # The maker can never be the checker: a manager's own large approval is refused by the API,
    # and its message is shown where the button is.
    show_cases(browser, "open")
    claim(browser, own)
    decide(browser, "approved", "Proposed by the manager.")
    wait(browser).until(ec.visibility_of_element_located((By.ID, "second-approval-form")))
    assert "You made this proposal" in browser.find_element(By.ID, "second-approval-wait").text
    browser.find_element(By.ID, "second-approve").click()
    wait(browser).until(
        ec.text_to_be_present_in_element(
            (By.ID, "second-approval-error"), "the reviewer who proposed the outcome cannot also approve it"
        )
    )
    assert_a_sentence(browser.find_element(By.ID, "second-approval-error").text)
    assert f"{own[:8]} · claimed" in browser.find_element(By.ID, "review-id").text
    assert browser.find_element(By.ID, "banner").is_displayed() is False
    browser.save_screenshot(str(screenshots / "maker-checker-refused.png"))
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

    # Four scrapers: enough to outrun the refill even when each request is slow on a busy machine.
    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(4)]
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


def test_the_console_shows_risk_flags_on_the_decision_and_the_case(
    browser: Any, site: DevStack, screenshots: Path
) -> None:
    # Issue 21: a device burst (5 or more applications in 5 minutes from one device) is critical.
    device = f"browser-{uuid.uuid4().hex[:12]}"
    payload = {**next(manual_review_applications()), "device_id": device}
    for extra in range(5):  # the fifth opens a case with the flag
        review_id, _ = _open_case(site, {**payload, "loan_amount": payload["loan_amount"] + extra})
    open_console(browser, site)
    use_api_key(browser, site.api_key())
    browser.find_element(By.ID, "fill-sample").click()
    browser.find_element(By.ID, "in-device_id").send_keys(device)
    browser.find_element(By.ID, "submit").click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "view-decision")))
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "decision-flags"), "FRD-DEVICE-BURST"))
    assert "FRD-DEVICE-BURST (critical): 6 in 300 s" in browser.find_element(By.ID, "decision-flags").text
    assert device not in browser.find_element(By.ID, "view-decision").text
    browser.save_screenshot(str(screenshots / "decision-risk-flags.png"))

    _needs_cognito(site)
    sign_in(browser, site, "reviewer1")
    show_cases(browser, "open")
    claim(browser, review_id)  # an open case opens by claiming it
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "review-flags"), "FRD-DEVICE-BURST"))
    assert "FRD-DEVICE-BURST (critical): 5 in 300 s" in browser.find_element(By.ID, "review-flags").text
    assert csp_violations(browser) == []


# ---------------------------------------------------------------------------- decision versions
def _staff_call(site: DevStack, username: str, method: str, path: str, body: Any = None) -> requests.Response:
    assert site.staff_pool is not None
    user = _staff(username)
    token = id_token(site.client("cognito-idp"), site.staff_pool, user.username, user.password)
    return requests.request(
        method, f"{site.api_url}{path}", json=body, headers={"Authorization": token}, timeout=120
    )


def versions_loads(driver: Any) -> int:
    return int(driver.find_element(By.ID, "versions-table").get_attribute("data-loads") or 0)


def sign_in_to_versions(driver: Any, site: DevStack, username: str) -> None:
    """The Versions page, signed in as ``username`` through its sign-in form (after signing out)."""
    user = _staff(username)
    open_console(driver, site, "#versions")
    wait(driver).until(ec.visibility_of_element_located((By.ID, "view-versions")))
    if driver.find_element(By.ID, "staff-signed-in").is_displayed():
        driver.find_element(By.ID, "sign-out").click()
    wait(driver).until(ec.visibility_of_element_located((By.ID, "sign-in-form")))
    before = versions_loads(driver)
    submit_sign_in(driver, user.username, user.password)
    wait(driver).until(lambda d: versions_loads(d) > before)
    assert driver.find_element(By.ID, "staff-who").text == f"Signed in as {username} · {user.group}"


def test_model_risk_proposes_a_challenger_a_manager_approves_and_the_routing_shows_it(
    browser: Any, site: DevStack, screenshots: Path
) -> None:
    _needs_cognito(site)
    policy = json.loads(POLICY_V1_PATH.read_text(encoding="utf-8"))
    policy["version"], policy["rules"]["POL-FOIR-MAX"]["limit"] = "1.1-foir-55-console", 0.55
    registered = _staff_call(
        site, "modelrisk1", "POST", "/v1/versions", {"label": "FOIR 55%", "policy": policy}
    )
    assert registered.status_code == 201, registered.text
    version_id = registered.json()["version_id"]
    try:
        sign_in_to_versions(browser, site, "modelrisk1")
        row = browser.find_element(By.CSS_SELECTOR, f'#versions-table tr[data-version-id="{version_id}"]')
        assert "registered" in row.text and "passed" in row.text
        assert browser.find_element(By.ID, "routing-challenger").is_displayed() is False
        # Nothing to roll back to yet: the API's 409 is shown beside the form.
        browser.find_element(By.ID, "rollback-reason").send_keys("Trying the button.")
        browser.find_element(By.ID, "rollback").click()
        wait(browser).until(ec.text_to_be_present_in_element((By.ID, "rollback-error"), "409"))

        row.find_element(By.CSS_SELECTOR, "button.open-version").click()
        wait(browser).until(ec.text_to_be_present_in_element((By.ID, "version-id"), version_id))
        report = browser.find_element(By.ID, "version-report").text
        for figure in ("AUC", "KS", "Brier", "Outcome mix", "over the FOIR ceiling", "Four-fifths by gender"):
            assert figure in report, report
        assert "(n " in report
        assert "Report on the packaged holdout (1000 rows)" in report  # the caption names the holdout
        gates = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#version-gates li")]
        assert len(gates) == 4 and all(gate.startswith("✓") for gate in gates), gates

        Select(browser.find_element(By.ID, "promote-role")).select_by_value("challenger")
        share = browser.find_element(By.ID, "promote-share")
        share.clear()
        share.send_keys("10")
        browser.find_element(By.ID, "promote-reason").send_keys("Try FOIR 55% on a tenth of applications.")
        browser.find_element(By.ID, "promote").click()
        wait(browser).until(ec.text_to_be_present_in_element((By.ID, "promote-result"), "proposed"))
        change_id = browser.find_element(By.ID, "promote-result").get_attribute("data-change-id")
        assert (
            change_id and browser.find_element(By.ID, "approve-change-id").get_attribute("value") == change_id
        )
        # The maker cannot approve their own change (and is not a manager): the API's 403, inline.
        browser.find_element(By.ID, "approve-change").click()
        wait(browser).until(ec.text_to_be_present_in_element((By.ID, "approve-error"), "403"))
        assert browser.find_element(By.ID, "routing-challenger").is_displayed() is False
        browser.save_screenshot(str(screenshots / "versions-proposed.png"))

        pending = browser.find_element(By.CSS_SELECTOR, f'#pending-changes li[data-change-id="{change_id}"]')
        assert "proposed" in pending.text and not pending.find_elements(By.TAG_NAME, "button")  # no manager

        sign_in_to_versions(browser, site, "manager1")
        before = versions_loads(browser)
        browser.find_element(By.CSS_SELECTOR, f'button.approve-pending[data-change-id="{change_id}"]').click()
        wait(browser).until(ec.text_to_be_present_in_element((By.ID, "approve-result"), "applied"))
        wait(browser).until(lambda d: versions_loads(d) > before)
        challenger = browser.find_element(By.ID, "routing-challenger")
        assert challenger.is_displayed() and challenger.get_attribute("data-share") == "10"
        assert challenger.text == f"challenger {version_id} · 10%"
        assert browser.find_element(By.ID, "pending-changes").text == "None."
        assert browser.find_element(By.ID, "routing-champion").get_attribute("data-share") == "90"
        row = browser.find_element(By.CSS_SELECTOR, f'#versions-table tr[data-version-id="{version_id}"]')
        assert "challenger" in row.text and "10%" in row.text
        # The registry's audit trail, newest first: the approval on top, the proposal under it.
        newest = "#versions-audit tbody tr:first-child"
        wait(browser).until(
            lambda d: (
                "routing_changed" in d.find_element(By.CSS_SELECTOR, newest).text
                if d.find_elements(By.CSS_SELECTOR, newest)
                else False
            )
        )
        approval, proposal = browser.find_elements(By.CSS_SELECTOR, "#versions-audit tbody tr")[:2]
        assert version_id in approval.text and "challenger 10%" in approval.text
        assert "routing_proposed" in proposal.text and "Try FOIR 55% on a tenth" in proposal.text
        assert browser.find_element(By.ID, "versions-audit").get_attribute("data-verified") == "true"
        assert browser.find_element(By.ID, "versions-audit-state").text.startswith("Verified")
        browser.save_screenshot(str(screenshots / "versions-routing.png"))
        assert csp_violations(browser) == []
    finally:
        # The module's other tests expect the packaged version to decide everything: retire it.
        retire = _staff_call(
            site, "modelrisk1", "POST", f"/v1/versions/{version_id}/promote", {"role": "retire"}
        )
        if retire.status_code == 202:
            approved = _staff_call(
                site, "manager1", "POST", f"/v1/versions/changes/{retire.json()['change_id']}/approve"
            )
            assert approved.status_code == 200, approved.text
