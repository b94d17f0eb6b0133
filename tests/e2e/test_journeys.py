"""What people do every day, in a real browser: request, decide, pay; ask and answer; keyboard only.

Each journey signs in as the demo logins, clicks through the pages by their labels (as a screen
reader would find them) and checks what the next person sees.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from tests.support.browser import SCREENSHOTS, serious_accessibility_violations, sydney_today

HOMES = {
    "sf@ngo1.demo": "/sf/",
    "tl@ngo1.demo": "/approvals/",
    "pm@lead.demo": "/pm/",
    "fin@lead.demo": "/finance/",
    "finmgr@lead.demo": "/finance/",
    "admin@lead.demo": "/admin/",
    "auditor@lead.demo": "/audit/",
}


def _needed_by(days: int = 10) -> str:
    return (sydney_today() + timedelta(days=days)).isoformat()


def _open_first_client(page: Any) -> None:
    page.goto("/sf/")
    page.get_by_role("region", name=re.compile("Clients I support")).get_by_role(
        "link"
    ).first.click()
    page.wait_for_url(re.compile(r"/sf/clients/\d+$"))


def _raise_request(page: Any, *, amount: str, gst: str, category: str, supplier: str) -> str:
    """From a client's page: add a need, then request funds against it; returns the URL."""
    page.get_by_label("Domain").select_option("daily_living")
    page.get_by_label("Goal").fill("Set up the new flat")
    page.get_by_role("button", name="Add need").click()
    page.get_by_text("The need was added").wait_for()
    page.get_by_role("link", name="Request funds").click()
    need = page.get_by_label("Action Plan need").locator("option", has_text="Set up the new flat")
    page.get_by_label("Action Plan need").select_option(need.last.get_attribute("value"))
    page.get_by_label("Category").select_option(label=category)
    page.get_by_label("Supplier").select_option(label=supplier)
    page.get_by_label("Amount including GST ($)").fill(amount)
    page.get_by_label("GST included ($)").fill(gst)
    page.get_by_label("Needed by").fill(_needed_by())
    page.get_by_label("What it is for").fill("A fridge for the new flat")
    page.get_by_label("Why no other service can meet it").fill("NDIS plan does not cover it")
    page.get_by_role("button", name="Submit for approval").click()
    page.wait_for_url(re.compile(r"/requests/\d+$"))
    page.get_by_text("Submitted for approval.").wait_for()
    return str(page.url)


def _approve_from_inbox(page: Any, url: str) -> None:
    number = url.rsplit("/", 1)[1]
    page.goto("/approvals/")
    page.locator(f'a[href="/requests/{number}"]').first.click()
    page.get_by_role("heading", name="Availability").wait_for()
    page.get_by_role("button", name="Approve", exact=True).click()
    page.get_by_text("Done: the request is now").wait_for()


def test_a_request_goes_from_sf_to_tl_to_pm_and_finance_pays_it_with_gst(new_page: Any) -> None:
    sf = new_page("sf@ngo1.demo")
    _open_first_client(sf)
    url = _raise_request(
        sf,
        amount="880.00",
        gst="80.00",
        category="Furniture and whitegoods",
        supplier="Northside Appliances",
    )
    request_path = url.split("127.0.0.1", 1)[1].split("/", 1)[1]
    tl = new_page("tl@ngo1.demo")
    _approve_from_inbox(tl, url)
    assert "pending" in tl.content()  # a large one goes on to the program manager
    pm = new_page("pm@lead.demo")
    _approve_from_inbox(pm, url)
    pm.get_by_text("the request is now approved").wait_for()
    fin = new_page("fin@lead.demo")
    number = request_path.rsplit("/", 1)[1]
    fin.goto(f"/finance/requests/{number}/pay")
    fin.get_by_label("Supplier's invoice number").fill(f"E2E-{number}")
    fin.get_by_label("Amount paid, including GST ($)").fill("880.00")
    fin.get_by_label("GST in that amount ($)").fill("80.00")
    fin.get_by_label("Paid on").fill(_needed_by(0))
    fin.get_by_role("button", name=re.compile("Record")).click()
    fin.goto(f"/requests/{number}")
    assert "paid" in fin.locator("h1").inner_text()
    assert "$80.00" in fin.content() and "$800.00" in fin.content()


def test_a_tl_asks_for_information_and_the_sf_answers(new_page: Any) -> None:
    sf = new_page("sf@ngo1.demo")
    _open_first_client(sf)
    url = _raise_request(
        sf,
        amount="45.50",
        gst="0",
        category="Groceries and essentials",
        supplier="Coastal Fresh Foods",
    )
    tl = new_page("tl@ngo1.demo")
    tl.goto(url)
    tl.get_by_label("Reason or message").fill("Which week is this for?")
    tl.get_by_role("button", name="Ask for information").click()
    tl.get_by_text("the request is now info requested").wait_for()
    sf.goto(url)
    assert "Which week is this for?" in sf.content()
    sf.get_by_label("Reason or message").fill("The week of the move")
    sf.get_by_role("button", name="Send the information").click()
    sf.get_by_text("the request is now pending").wait_for()


def test_a_request_can_be_submitted_with_the_keyboard_alone(new_page: Any) -> None:
    page = new_page("sf2@ngo1.demo")
    page.goto("/sf/")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to main content"
    _open_first_client(page)
    page.get_by_role("link", name="Request funds").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/requests/new$"))
    page.get_by_label("Action Plan need").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")  # category
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")  # supplier: not known yet
    page.keyboard.press("Tab")
    page.keyboard.type("25.00")
    page.keyboard.press("Tab")
    page.keyboard.type("0")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-needed_by"
    # The date field's parts come in the browser's locale order; type each as a person would.
    order = page.evaluate(
        "new Intl.DateTimeFormat().formatToParts(new Date())"
        ".filter(p => p.type !== 'literal').map(p => p.type)"
    )
    year, month, day = _needed_by().split("-")
    page.keyboard.type("".join({"year": year, "month": month, "day": day}[p] for p in order))
    for _ in range(3):  # Tab walks on through the date's parts, then out of the field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") != "f-needed_by":
            break
    assert page.get_by_label("Needed by").input_value() == _needed_by()
    assert page.evaluate("document.activeElement.id") == "f-purpose"
    page.keyboard.type("Bus fares to appointments")
    page.keyboard.press("Tab")
    page.keyboard.type("No transport concession yet")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Submit for approval"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/requests/\d+$"))
    assert "Submitted for approval." in page.content()


@pytest.mark.parametrize("email", sorted(HOMES))
def test_every_role_home_has_no_serious_accessibility_violation(new_page: Any, email: str) -> None:
    page = new_page(email)
    page.goto(HOMES[email])
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(
        path=str(SCREENSHOTS / f"{email.split('@')[0]}-{email.split('@')[1].split('.')[0]}.png"),
        full_page=True,
    )
    bad = serious_accessibility_violations(page)
    assert not bad, bad


def test_a_forged_post_from_the_browser_is_refused(new_page: Any) -> None:
    page = new_page("sf@ngo1.demo")
    _open_first_client(page)
    client_path = page.url.split("127.0.0.1", 1)[1].split("/", 1)[1]
    response = page.request.post(
        f"/{client_path}/needs", form={"domain": "housing", "goal": "Forged from elsewhere"}
    )
    assert response.status == 400
    page.reload()
    assert "Forged from elsewhere" not in page.content()
