#!/usr/bin/python3
"""Drives the storefront and the cluster page in headless Chromium (WebDriver) against a
running cluster; started by browser_test.sh, which owns the cluster and cleans up.

Every wait is bounded; the whole run takes well under a minute on a quiet machine."""
import argparse
import re
import subprocess
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

TOYS = {"Tux": "25.99", "Whale": "34.99", "Elephant": "29.99", "Bird": "39.99", "Risk": "15.99",
        "Sand": "19.99", "Jenga": "21.99", "Uno": "35.99", "Pinball": "49.99", "Clue": "9.99"}
XSS = "<img src=x onerror=alert(1)>"


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    print("ok:", what, flush=True)


def wait_for(what, fn, timeout=10.0, interval=0.05):
    """fn() until it returns something truthy, at most `timeout` seconds; returns it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except WebDriverException as e:  # an element replaced under us: ask again
            last = e
        time.sleep(interval)
    raise Failure(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def rows(driver):
    """{name: (price, quantity)} as the table shows them."""
    out = {}
    for tr in driver.find_elements(By.CSS_SELECTOR, "#items tbody tr"):
        cells = tr.find_elements(By.TAG_NAME, "td")
        out[cells[0].text] = (cells[1].text, cells[2].text)
    return out


def quantity_of(driver, name):
    return rows(driver).get(name, (None, None))[1]


def no_alert(driver):
    try:
        text = driver.switch_to.alert.text
    except NoAlertPresentException:
        return True
    raise Failure(f"an alert opened: {text!r}")


def launch(args, *verb):
    r = subprocess.run([args.launch, *verb, "--run-dir", args.run_dir], capture_output=True,
                       text=True, timeout=30)
    if r.returncode != 0:
        raise Failure(f"launch/bazaar {' '.join(verb)} failed: {r.stderr.strip()}")
    return r.stdout


def start_browser(profile):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    # This machine's network is closed: nothing may try to reach out (updates, sync, QUIC).
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1200,820", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"),
                              options=options)
    driver.set_page_load_timeout(15)
    driver.set_script_timeout(10)
    return driver


def watch_text(driver, css, pattern):
    """Installs an observer that notes Date.now() the first time the element's text matches."""
    driver.execute_script(
        """
        const [css, pattern] = arguments;
        const re = new RegExp(pattern);
        window.__seenAt = null;
        const look = () => {
          const el = document.querySelector(css);
          if (window.__seenAt === null && el && re.test(el.textContent)) window.__seenAt = Date.now();
        };
        new MutationObserver(look).observe(document.body, {subtree: true, childList: true, characterData: true});
        look();
        """, css, pattern)


def run(args):
    driver = start_browser(args.profile)
    try:
        base = args.url.rstrip("/")
        # ---- the storefront lists every item, names as text ------------------------------------
        driver.get(base + "/")
        listed = wait_for("eleven rows", lambda: len(rows(driver)) == 11 and rows(driver))
        for name, price in TOYS.items():
            check(listed.get(name) == (price, "100"), f"storefront lists {name} at {price}, 100 left")
        check(XSS in listed, "the markup item name shows as text")
        check(driver.find_elements(By.TAG_NAME, "img") == [], "no img element on the page")
        no_alert(driver)
        check(True, "no alert opened")
        wait_for("the live stream", lambda: driver.find_element(By.ID, "live").text == "live")
        store_window = driver.current_window_handle

        # ---- a second window on the same store -----------------------------------------------
        driver.switch_to.new_window("window")
        other_window = driver.current_window_handle
        driver.get(base + "/")
        wait_for("the second window's list", lambda: quantity_of(driver, "Tux") == "100")
        wait_for("the second window's stream", lambda: driver.find_element(By.ID, "live").text == "live")
        watch_text(driver, "#items tbody tr[data-name='Tux'] td.qty", "^97$")

        # ---- a buy through the form, no reload -------------------------------------------------
        driver.switch_to.window(store_window)
        driver.execute_script("window.__notReloaded = true;")
        watch_text(driver, "#order-result", "^Order \\d+ placed")
        Select(driver.find_element(By.ID, "order-name")).select_by_value("Tux")
        qty = driver.find_element(By.ID, "order-quantity")
        qty.clear()
        qty.send_keys("3")
        driver.find_element(By.ID, "buy").click()
        result = wait_for("the order confirmation", lambda: re.match(
            r"^Order (\d+) placed: buy 3 Tux\.$", driver.find_element(By.ID, "order-result").text))
        order_number = result.group(1)
        check(True, f"the confirmation names order {order_number}")
        wait_for("Tux at 97 in the first window", lambda: quantity_of(driver, "Tux") == "97")
        check(driver.execute_script("return window.__notReloaded === true;"),
              "the quantity fell to 97 without a reload")
        confirmed_at = driver.execute_script("return window.__seenAt;")

        driver.switch_to.window(other_window)
        seen_at = wait_for("Tux at 97 in the second window",
                           lambda: driver.execute_script("return window.__seenAt;"), timeout=5)
        lag = (seen_at - confirmed_at) / 1000.0
        check(lag <= 1.0, f"the second window showed 97 {lag:.3f} s after the confirmation (<= 1 s)")

        # ---- a buy of more than is left -------------------------------------------------------
        driver.switch_to.window(store_window)
        qty = driver.find_element(By.ID, "order-quantity")
        qty.clear()
        qty.send_keys("1000")
        driver.find_element(By.ID, "buy").click()
        refusal = wait_for("the refusal", lambda: re.match(
            r"^Not enough Tux left to buy 1000 \(97 left\)\.$",
            driver.find_element(By.ID, "order-result").text))
        check(refusal is not None, "the refusal reads: " + refusal.group(0))
        check(quantity_of(driver, "Tux") == "97", "the refusal changed nothing")

        # ---- the order lookup -----------------------------------------------------------------
        box = driver.find_element(By.ID, "lookup-number")
        box.clear()
        box.send_keys(order_number)
        driver.find_element(By.ID, "lookup").click()
        wait_for("the order lookup", lambda: driver.find_element(By.ID, "lookup-result").text ==
                 f"Order {order_number}: buy 3 Tux.")
        check(True, f"the lookup shows order {order_number}: buy 3 Tux")
        no_alert(driver)
        if args.screenshots:
            driver.save_screenshot(f"{args.screenshots}/store.png")

        # ---- the cluster page and a fail-over -------------------------------------------------
        driver.switch_to.window(other_window)
        driver.get(base + "/cluster")
        wait_for("the cluster page's leader",
                 lambda: driver.find_element(By.ID, "leader").text.startswith("Leader: order-3 "))
        wait_for("three replicas up", lambda: len(driver.find_elements(
            By.CSS_SELECTOR, "#replicas td.up")) == 3)
        check(True, "the cluster page names order-3 as leader, three replicas up")
        wait_for("the order chart", lambda: "orders in the last minute" in
                 driver.find_element(By.ID, "chart-figures").text)
        if args.screenshots:
            # Only for the pictures in docs/: some orders, so the chart has something to show.
            subprocess.run([f"{args.bin_dir}/bazaar-client", "--url", base, "load", "--clients", "2",
                            "--duration", "10", "--p", "0.02", "--max-quantity", "1",
                            "--items", ",".join(TOYS)],
                           capture_output=True, timeout=30, check=False)
            time.sleep(1.5)
        launch(args, "kill", "leader")
        killed_at = time.monotonic()
        text = wait_for("a new leader on the page", lambda: re.match(
            r"^Leader: order-([12]) \(term (\d+)\)$", driver.find_element(By.ID, "leader").text),
            timeout=2.0, interval=0.02)
        took = time.monotonic() - killed_at
        check(True, f"the page named order-{text.group(1)} (term {text.group(2)}) "
                    f"{took:.2f} s after the kill (<= 2 s)")
        status = launch(args, "status")
        check(re.search(rf"^order-{text.group(1)} .* up .*leader", status, re.M) is not None,
              f"launch/bazaar status agrees that order-{text.group(1)} leads")
        wait_for("the killed replica shown down", lambda: len(driver.find_elements(
            By.CSS_SELECTOR, "#replicas td.down")) == 1, timeout=3)
        check(True, "the page shows the killed replica down")
        new_leader_row = f"#replicas tbody tr:nth-child({text.group(1)}) td:nth-child(3)"
        wait_for("the replica table showing the new leader", lambda: driver.find_element(
            By.CSS_SELECTOR, new_leader_row).text == "leader", timeout=3)
        check(True, f"the replica table shows order-{text.group(1)} as leader")
        no_alert(driver)
        if args.screenshots:
            driver.save_screenshot(f"{args.screenshots}/cluster.png")
    finally:
        driver.quit()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--run-dir", required=True)
    p.add_argument("--launch", required=True)
    p.add_argument("--profile", required=True)
    p.add_argument("--screenshots")
    p.add_argument("--bin-dir", default="")
    args = p.parse_args()
    started = time.monotonic()
    try:
        run(args)
    except Failure as e:
        print("FAIL:", e, flush=True)
        return 1
    print(f"browser checks passed in {time.monotonic() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
