"""The dashboard in a real headless browser (Debian's chromium, driven by Playwright),
against the test stack's PostgreSQL and the dashboard as `make up` starts it."""

import time

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from fraudlake import settings as cfg
from fraudlake.dashboard.producer_control import ProducerControl

from tests.conftest import REPO_ROOT
from tests.dashboard.helpers import clean, known_tables
from tests.producer.helpers import count

pytestmark = pytest.mark.stack

CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/bootstrap.sh); Playwright's own download is unreachable
SCREENSHOT = REPO_ROOT / "reports" / "dashboard.png"
WAIT_MS = 20_000  # the page refreshes every DASHBOARD_REFRESH_SECONDS (1 s in tests)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, dashboard_service, db):
    clean(db)
    page = browser.new_page(viewport={"width": 1600, "height": 2200})
    page.goto(dashboard_service)
    page.get_by_text("Transactions today", exact=True).wait_for(timeout=60_000)
    yield page
    page.close()


def metric(page: Page, label: str):
    return (page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True))
            .locator('[data-testid="stMetricValue"]'))


def expect_no_error(page: Page) -> None:
    page.wait_for_timeout(1500)  # one refresh: an error raised while refreshing shows by then
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_every_tab_loads_without_an_error(page, db):
    # Jobs that earlier tests ran (tests/stack, say, when run first) leave their last progress.
    db.execute("TRUNCATE streaming_progress")
    expect_no_error(page)
    expect(page.get_by_text("Latest alerts")).to_be_visible()
    page.get_by_role("tab", name="Pipeline health").click()
    expect(page.get_by_text("Components", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("No streaming job has reported progress yet.")).to_be_visible()
    expect_no_error(page)
    page.get_by_role("tab", name="Producer").click()
    expect(page.get_by_role("button", name="Start", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect_no_error(page)


def test_new_transactions_and_predictions_change_the_kpis(page, db):
    expect(metric(page, "Predictions last hour")).to_have_text("0")
    expect(metric(page, "Amount at risk (24 h)")).to_have_text("$0.00")
    known_tables(db)  # tests/dashboard/helpers.py: 3 predictions in the last hour, 2 frauds for $150.50
    expect(metric(page, "Predictions last hour")).to_have_text("3", timeout=WAIT_MS)
    expect(metric(page, "Transactions last hour")).to_have_text("4")
    expect(metric(page, "Predicted frauds (24 h)")).to_have_text("2")
    expect(metric(page, "HIGH (24 h)")).to_have_text("1")
    expect(metric(page, "Fraud rate (24 h)")).to_have_text("50.00%")
    expect(metric(page, "Amount at risk (24 h)")).to_have_text("$150.50")
    expect(metric(page, "Alerts pending")).to_have_text("1")
    expect_no_error(page)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 20_000


@pytest.fixture
def control():
    control = ProducerControl(cfg.get_path_settings())
    yield control
    control.stop()  # whatever the test's outcome, no stream outlives it


def test_a_stream_started_on_the_page_fills_the_table_until_stopped(page, db, control):
    page.get_by_role("tab", name="Producer").click()
    page.get_by_label("Rate (rows per second, streams)").fill("50")
    start = page.get_by_role("button", name="Start", exact=True)
    start.click()
    expect(page.get_by_text("Started.")).to_be_visible(timeout=WAIT_MS)
    deadline = time.monotonic() + 30
    while count(db) < 50:
        assert time.monotonic() < deadline, f"only {count(db)} rows arrived"
        time.sleep(0.2)
    expect(page.get_by_text("Running:")).to_be_visible(timeout=WAIT_MS)
    expect(metric(page, "Rows sent")).not_to_have_text("0", timeout=WAIT_MS)

    start.click()  # one stream at a time
    expect(page.get_by_text("Not started: a producer run is already going")).to_be_visible(timeout=WAIT_MS)

    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.get_by_text("Ended:")).to_be_visible(timeout=WAIT_MS)
    assert not control.state().running
    rows = count(db)
    time.sleep(2)
    assert count(db) == rows > 0
    assert control.state().loaded == rows
    expect_no_error(page)
