"""What the browser journeys check beyond the fixtures: axe-core's findings, the consortium's day,
where screenshots go."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from tests.support.clock import CLOCK

SCREENSHOTS = Path(__file__).parents[1] / "e2e" / "screenshots"


AXE = "/static/vendor/axe-core/axe.min.js"


def serious_accessibility_violations(page: Any) -> list[str]:
    """What axe-core finds serious or critical on the page as it stands, one line each."""
    # After a redirect the page may still be starting htmx, whose inline indicator style the
    # CSP blocks; Playwright would blame that violation on the script tag added meanwhile.
    page.wait_for_load_state("load")
    page.add_script_tag(url=AXE)
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def sydney_today() -> date:
    """The consortium's today: what the demo and the app date things by."""
    return CLOCK.today
