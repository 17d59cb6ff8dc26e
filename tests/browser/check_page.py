"""Checks one rendered report: the screenshot is not blank, Chromium logged no console message
(a script error or a refused load would be one), and its NetLog has no request other than the
page's own file.

Usage: check_page.py NAME SCREENSHOT NETLOG CHROMIUM_LOG
"""
import json
import sys

from PIL import Image


def blank_problem(path):
    image = Image.open(path).convert("RGB")
    width, height = image.size
    pixels = list(image.get_flattened_data() if hasattr(image, "get_flattened_data") else image.getdata())
    inked = sum(1 for p in pixels if sum(p) < 3 * 235)
    colours = len(set(pixels[:: max(1, len(pixels) // 50000)]))
    # A rendered report has text, axes and filled charts: well over 2% of the page is ink, in
    # many colours. A blank or error page has almost none.
    if inked < 0.02 * width * height or colours < 8:
        return f"looks blank: {inked} inked pixels of {width * height}, {colours} colours"
    return None


def requests(netlog_path):
    """Every URL the page asked for, from Chromium's NetLog: the requests with an initiator
    (the browser's own background requests have none, "not an origin")."""
    with open(netlog_path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    # Chromium may stop before closing the JSON array: close it.
    try:
        log = json.loads(text)
    except json.JSONDecodeError:
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = set()
    for event in log.get("events", []):
        params = event.get("params") or {}
        if event.get("type") == start and "url" in params and params.get("initiator") != "not an origin":
            urls.add(params.get("url", ""))
    return sorted(urls)


def main():
    name, screenshot, netlog, chromium_log = sys.argv[1:5]
    problems = []
    blank = blank_problem(screenshot)
    if blank:
        problems.append(blank)
    remote = [u for u in requests(netlog) if not u.startswith(("file:", "data:", "about:", "chrome:"))]
    if remote:
        problems.append(f"network requests: {remote}")
    with open(chromium_log, encoding="utf-8", errors="replace") as f:
        console = [line.strip() for line in f if "CONSOLE" in line]
    if console:
        problems.append(f"console messages: {console}")
    if problems:
        print(f"{name}: FAILED: " + "; ".join(problems))
        sys.exit(1)
    print(f"{name}: ok (not blank, no request, no console message)")


main()
