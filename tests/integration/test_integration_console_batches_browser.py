"""The console's Batches page (issue 19) in a real browser: Debian's headless Chromium driven by
Selenium against a local stack of this module's own (moto server, ``chalice local``, the workers
that invoke the app's SQS handlers, the batch scorer among them).

A model-risk member signs in on the page, picks a small CSV (rows of the shipped data and one
invalid row) and two decision versions (the packaged one and a stricter registered variant), and
presses "Upload and start": the page creates the backtest, PUTs the file from the browser to the
presigned URL (moto S3: its CORS answer and the page's CSP both allow it), starts it and polls its
progress until COMPLETED. The page's figures, the outcome chart's totals and the swap-set chart's
counts must equal what ``engine.batch`` computes in this process on the same bytes. A file that is
not CSV ends FAILED with the reason on the page. Waits are on conditions the page sets, never sleeps.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chalicelib import engine
from chalicelib.engine import batch
from chalicelib.engine.lending_policy import POLICY_V1_PATH
from devstack.stack import DevStack
from tests.integration.test_integration_console_browser import (
    CHROMEDRIVER,
    CHROMIUM,
    _staff,
    _staff_call,
    csp_violations,
    open_console,
    submit_sign_in,
    use_api_key,
    wait,
)

# The module-scoped Chromium of the console tests (a fixture: imported to be used by name here).
from tests.integration.test_integration_console_browser import browser as browser

ROOT = Path(__file__).resolve().parents[2]
ROWS = 300

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="Debian chromium + chromium-driver not installed (make browser)",
)

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


def stricter_policy() -> dict[str, Any]:
    """Version 1's policy with FOIR over 45% declined and over 35% referred: it swaps outcomes."""
    document: dict[str, Any] = json.loads(POLICY_V1_PATH.read_text(encoding="utf-8"))
    document["version"] = "1.2-foir-45-browser"
    document["rules"]["POL-FOIR-MAX"]["limit"] = 0.45
    document["rules"]["POL-FOIR-REVIEW"]["limit"] = 0.35
    return document


@pytest.fixture(scope="module")
def site(start_stack: Callable[..., DevStack]) -> DevStack:
    # Chunks of 100 rows: the small file is cut into several, so the progress bar moves.
    return start_stack("console-batches-browser", workers=1, batch_env={"BATCH_ROWS_PER_CHUNK": "100"})


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("console-batches-screenshots")


@pytest.fixture(scope="module")
def variant(site: DevStack) -> str:
    if site.staff_pool is None:
        pytest.skip("this AWS endpoint has no Cognito IdP: no staff sign-in")
    registered = _staff_call(
        site, "modelrisk1", "POST", "/v1/versions", {"label": "FOIR 45%", "policy": stricter_policy()}
    )
    assert registered.status_code == 201, registered.text
    return str(registered.json()["version_id"])


def small_file(directory: Path) -> tuple[Path, bytes]:
    """ROWS rows of the shipped data, then one row whose age is not a number."""
    lines = (ROOT / "data" / "loan_applications.csv").read_text(encoding="utf-8").splitlines()[: ROWS + 1]
    bad = lines[1].split(",")
    bad[2] = "forty"  # age
    lines.append(",".join(bad))
    data = ("\n".join(lines) + "\n").encode()
    path = directory / "backtest.csv"
    path.write_bytes(data)
    return path, data


def expected_summary(data: bytes, variant_id: str) -> batch.BatchSummary:
    """What the page must show: engine.batch on the same bytes, in this process."""
    columns = batch.check_file_start(data, "csv")
    body = data[data.index(b"\n") + 1 :]
    packaged = engine.packaged_version()
    stricter = engine.DecisionLogic(packaged.model, engine.load_policy(stricter_policy()))
    part = batch.score_chunk(
        body, "csv", columns, 1, [("v1", packaged), (variant_id, stricter)], batch.ChunkOptions()
    )
    return batch.summarise(batch.merge_aggregates([part.aggregates]), ["v1", variant_id])


def list_loads(driver: Any) -> int:
    return int(driver.find_element(By.ID, "batches-table").get_attribute("data-loads") or 0)


def sign_in_to_batches(driver: Any, site: DevStack, username: str) -> None:
    user = _staff(username)
    open_console(driver, site, "#batches")
    wait(driver).until(ec.visibility_of_element_located((By.ID, "view-batches")))
    if driver.find_element(By.ID, "staff-signed-in").is_displayed():
        driver.find_element(By.ID, "sign-out").click()
    wait(driver).until(ec.visibility_of_element_located((By.ID, "sign-in-form")))
    before = list_loads(driver)
    submit_sign_in(driver, user.username, user.password)
    wait(driver).until(lambda d: list_loads(d) > before)
    assert (
        Select(driver.find_element(By.ID, "batch-owner")).first_selected_option.get_attribute("value")
        == "staff"
    )


def run_file(driver: Any, path: Path, versions: str) -> tuple[str, str]:
    """Chooses the file and versions, presses the button: (the final status the page shows, the
    refusal shown under the form)."""
    driver.find_element(By.ID, "batch-file").send_keys(str(path))
    field = driver.find_element(By.ID, "batch-versions")
    field.clear()
    field.send_keys(versions)
    driver.find_element(By.ID, "batch-run").click()
    detail = driver.find_element(By.ID, "batch-detail")
    wait(driver).until(
        lambda d: detail.get_attribute("data-status") in ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED")
    )
    return str(detail.get_attribute("data-status")), str(driver.find_element(By.ID, "batch-error").text)


def test_a_backtest_uploads_runs_and_shows_its_summary_and_charts(
    browser: Any,
    site: DevStack,
    variant: str,
    screenshots: Path,
    tmp_path: Path,
) -> None:
    sign_in_to_batches(browser, site, "modelrisk1")
    path, data = small_file(tmp_path)
    expected = expected_summary(data, variant)
    assert run_file(browser, path, f"v1, {variant}") == ("COMPLETED", "")
    wait(browser).until(ec.visibility_of_element_located((By.ID, "batch-outcome")))

    # The progress bar is full and the figures are the file's.
    bar = browser.find_element(By.ID, "batch-progress")
    assert bar.get_attribute("value") == bar.get_attribute("max")
    rows = expected["rows"]
    assert browser.find_element(By.ID, "batch-rows-read").text == f"{rows['read']:,}"
    assert browser.find_element(By.ID, "batch-rows-scored").text == f"{rows['scored']:,}" == f"{ROWS:,}"
    assert browser.find_element(By.ID, "batch-rows-invalid").text == "1"
    invalid = browser.find_element(By.ID, "batch-invalid").text
    assert f"line {expected['invalid_rows'][0]['line']}: age" in invalid

    table = browser.find_element(By.ID, "batch-versions-table").text
    for version in expected["versions"]:
        assert version["approval_rate"] is not None
        # console.js's percent(): rounded half up to a tenth of a percent.
        assert f"{math.floor(version['approval_rate'] * 1000 + 0.5) / 10:.1f} %" in table

    outcomes = browser.find_element(By.ID, "batch-outcomes-chart")
    wait(browser).until(lambda d: outcomes.get_attribute("data-rendered") == "true")
    assert outcomes.get_attribute("data-totals") == f"{ROWS},{ROWS}"
    swaps = browser.find_element(By.ID, "batch-swaps-chart")
    assert swaps.get_attribute("data-rendered") == "true"
    swap = expected["swaps"][0]
    assert swap["approve_to_decline"] + swap["to_review"] > 0  # the stricter version changes something
    assert swaps.get_attribute("data-swaps") == "/".join(
        str(swap[key]) for key in ("approve_to_decline", "decline_to_approve", "to_review", "from_review")
    )
    for canvas in (outcomes, swaps):
        assert canvas.size["height"] > 100 and canvas.size["width"] > 100
    assert (
        browser.find_element(By.CSS_SELECTOR, "#batch-downloads a").get_attribute("href").startswith("http")
    )

    # The list shows it, completed.
    batch_id = browser.find_element(By.ID, "batch-id").text
    wait(browser).until(
        lambda d: (
            "COMPLETED"
            in d.find_element(By.CSS_SELECTOR, f'#batches-table tr[data-batch-id="{batch_id}"]').text
        )
    )
    browser.save_screenshot(str(screenshots / "batches.png"))
    assert not browser.find_element(By.ID, "banner").is_displayed()  # nothing was refused on the way
    assert csp_violations(browser) == []


def test_a_client_runs_its_own_batch_with_its_api_key(
    browser: Any,
    site: DevStack,
    tmp_path: Path,
) -> None:
    # Signed out, the page asks for a key instead of sending a request bound to fail.
    open_console(browser, site, "#batches")
    if browser.find_element(By.ID, "staff-signed-in").is_displayed():
        browser.find_element(By.ID, "sign-out").click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "sign-in-form")))
    open_console(browser, site, "#batches")
    assert "API key" in browser.find_element(By.ID, "batches-caption").text
    assert not browser.find_element(By.ID, "banner").is_displayed()
    before = list_loads(browser)
    use_api_key(browser, site.api_key())
    wait(browser).until(lambda d: list_loads(d) > before)
    assert (
        Select(browser.find_element(By.ID, "batch-owner")).first_selected_option.get_attribute("value")
        == "client"
    )
    path, _ = small_file(tmp_path)
    assert run_file(browser, path, "") == ("COMPLETED", "")  # no versions: the champion
    wait(browser).until(ec.visibility_of_element_located((By.ID, "batch-outcome")))
    assert browser.find_element(By.ID, "batch-rows-scored").text == f"{ROWS:,}"
    assert browser.find_element(By.ID, "batch-outcome").get_attribute("data-versions") == "1"
    assert "one version only" in browser.find_element(By.ID, "batch-swaps-caption").text
    assert browser.find_element(By.ID, "batches-caption").text.startswith("This API key's batches")
    assert csp_violations(browser) == []


def test_a_file_that_is_not_csv_fails_with_the_reason_on_the_page(
    browser: Any,
    site: DevStack,
    variant: str,
    tmp_path: Path,
) -> None:
    sign_in_to_batches(browser, site, "modelrisk1")
    path = tmp_path / "not-a-table.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    status, refusal = run_file(browser, path, "v1")
    assert status == "FAILED"
    reason = browser.find_element(By.ID, "batch-failure").text
    for text in (reason, refusal):
        assert text and "{" not in text and "Traceback" not in text
    assert browser.find_element(By.ID, "batch-outcome").is_displayed() is False
