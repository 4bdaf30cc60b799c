import os
from pathlib import Path

import pytest

OUT = Path("/tmp/shots")


@pytest.mark.parametrize("html", os.environ.get("SHOTS", "").split(",") if os.environ.get("SHOTS") else [])
def test_shot(open_map, html):
    page = open_map(html)
    name = Path(html).parent.name + "_" + Path(html).stem
    page.screenshot(OUT / f"{name}.png")
    if "coverage_map" in html:
        radio = page.page.locator("input[type=radio]")
        if radio.count() >= 2:
            radio.nth(0).check()
            page.page.wait_for_timeout(300)
            page.screenshot(OUT / f"{name}_before.png")
