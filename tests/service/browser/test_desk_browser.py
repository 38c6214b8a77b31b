"""The manager's desk in a real browser: Debian's Chromium driven by Selenium through chromedriver,
against the service trusting a real OpenID provider (oauth2-mock-server under Node.js).

A manager signs in through the provider (authorization code with PKCE), looks an employee up with the
keyboard, is stopped by the browser without a reason and by the server when the browser's check is
removed, records a decision and sees it listed; a viewer whose token lacks attrition:decide sees no
decision form. The missing system packages (chromium, chromium-driver) are installed by the test;
the provider's npm packages too. With ATTRITION_DESK_SCREENSHOT=docs/desk.png the signed-in desk is
saved there (the README's picture); otherwise to the test's temp dir.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from tests.service.online_files import write_online
from tests.support.oidc_provider import Provider, run_provider
from tests.support.service import Server, serve_in_thread, settings_for
from tests.support.system import ensure_command

pytestmark = [pytest.mark.system, pytest.mark.timeout(900)]  # a fresh machine installs chromium first

EMPLOYEE = "E000001"
WAIT_S = 15
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1000,1400",
)


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """The module's OpenID provider."""
    with run_provider(tmp_path_factory.mktemp("oidc") / "provider.log") as running:
        yield running


@pytest.fixture(scope="module")
def desk(
    provider: Provider, model_package: Path, scores_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The service: tokens from the provider, the desk signing in as its client, an online store."""
    tmp = tmp_path_factory.mktemp("desk")
    settings = settings_for(
        tmp,
        model_package,
        scores_csv,
        online_features=write_online(tmp / "online.json.gz"),
        oidc_issuer=provider.issuer,
        oidc_client_id="attrition-desk",
    )
    with serve_in_thread(settings) as server:
        yield server


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """A fresh headless Chromium (new empty profile) through the system chromedriver."""
    binary = ensure_command("chromium", "chromium")
    driver_path = ensure_command("chromedriver", "chromium-driver")
    options = Options()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def _wait_for(driver: WebDriver, element_id: str) -> str:
    """The text of the element with `element_id` once the page shows it (bounded wait)."""
    try:
        WebDriverWait(driver, WAIT_S).until(lambda d: d.find_elements(By.ID, element_id))
    except TimeoutException:
        body = driver.find_element(By.TAG_NAME, "body").text
        raise AssertionError(f"no #{element_id} on {driver.current_url}:\n{body}") from None
    return str(driver.find_element(By.ID, element_id).text)


def _look_up(driver: WebDriver) -> None:
    """Type the id and press Enter: the form works from the keyboard alone."""
    field = driver.find_element(By.ID, "employee_id")
    assert driver.find_element(By.CSS_SELECTOR, "label[for=employee_id]").text == "Employee id"
    field.clear()
    field.send_keys(EMPLOYEE, Keys.ENTER)
    _wait_for(driver, "probability")
    assert EMPLOYEE not in driver.current_url, "no employee data in URLs"


def test_sign_in_through_the_provider_look_up_decide_and_see_it_listed(
    browser: WebDriver, desk: Server, tmp_path: Path
) -> None:
    browser.get(f"{desk.url}/desk")
    browser.find_element(By.ID, "oidc-login").click()  # to the provider and back with a code
    assert "manager-oidc" in _wait_for(browser, "signed-in")
    _look_up(browser)
    assert "%" in browser.find_element(By.ID, "probability").text
    assert "the live model" in browser.find_element(By.ID, "source").text
    assert browser.find_element(By.ID, "decision").text

    Select(browser.find_element(By.ID, "action")).select_by_value("stay_interview")
    reason = browser.find_element(By.ID, "reason")
    reason.submit()  # no reason: the browser refuses to send the form
    assert browser.execute_script("return document.getElementById('reason').validity.valueMissing")
    assert not browser.find_elements(By.ID, "recorded")

    browser.execute_script("document.getElementById('reason').removeAttribute('required')")
    browser.find_element(By.ID, "reason").submit()  # the server refuses a blank reason too
    assert "reason" in _wait_for(browser, "error")
    assert not browser.find_elements(By.ID, "recorded")

    text = "Stay interview booked: workload doubled since the reorganisation"
    browser.find_element(By.ID, "reason").send_keys(text)
    browser.find_element(By.ID, "reason").submit()
    assert "stay interview" in _wait_for(browser, "recorded")
    rows = browser.find_elements(By.CSS_SELECTOR, "#decisions tbody tr")
    assert any(text in row.text and "manager-oidc" in row.text for row in rows)

    _look_up(browser)  # the decision is listed with the employee's next look-up
    assert text in browser.find_element(By.ID, "decisions").text
    shot = Path(os.environ.get("ATTRITION_DESK_SCREENSHOT") or tmp_path / "desk.png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(shot))


def test_without_the_decide_scope_the_desk_shows_no_decision_form(
    browser: WebDriver, desk: Server, provider: Provider
) -> None:
    browser.get(f"{desk.url}/desk")
    token = provider.client_credentials("attrition:predict", client_id="hr-viewer")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.ID, "token").submit()
    assert "hr-viewer" in _wait_for(browser, "signed-in")
    _look_up(browser)
    assert "attrition:decide" in browser.find_element(By.ID, "no-decide").text
    assert not browser.find_elements(By.ID, "reason")
