"""Screenshot an HTML report with headless Chromium (for docs/img/).

    .venv/bin/python scripts/screenshot_report.py reports/demo.html docs/img/demo-report.png

Uses the test suite's DevTools client (tests/helpers/browser.py, needs the dev
extra) and Debian's chromium. The shot is the top of the page at the given size.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers.browser import Browser


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1600)
    parser.add_argument("--anchor", default="", help="scroll to this element id first")
    args = parser.parse_args()
    with Browser.launch(width=args.width, height=args.height) as browser:
        browser.open(args.report.resolve().as_uri())
        if args.anchor:
            browser.evaluate(f"document.getElementById({args.anchor!r}).scrollIntoView()")
        errors = browser.console_errors()
        if errors:
            raise SystemExit(f"console errors: {errors}")
        browser.screenshot(args.output, full_page=False)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
