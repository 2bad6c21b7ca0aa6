#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The web console as a security admin uses it, in a real browser (Debian's chromium, driven by
selenium through chromium-driver). ConsoleEndToEndTests runs it step by step around a real
enrolled vigild: `setup` (first login, own password, an enrolment token), `policy` (import a
settings.json, add a team-scoped rule), `revoke` (the device's page). Each step saves a screenshot
of every page it visits and prints one JSON line of what the Swift test needs."""
import argparse
import json
import os
import sys

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select, WebDriverWait

DRIVER = "/usr/bin/chromedriver"


class Walkthrough:
    def __init__(self, url, shots):
        self.url = url.rstrip("/")
        self.shots = shots
        os.makedirs(shots, exist_ok=True)
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                     "--ignore-certificate-errors", "--disable-gpu"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
        self.wait = WebDriverWait(self.driver, 15)

    def open(self, path):
        self.driver.get(self.url + path)

    def shot(self, name):
        path = os.path.join(self.shots, name + ".png")
        # The whole page, not only the window.
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1400, max(1000, min(height + 40, 6000)))
        self.driver.save_screenshot(path)
        return path

    def field(self, name):
        return self.driver.find_element(By.NAME, name)

    def submit(self, form_action):
        self.click(self.driver.find_element(By.CSS_SELECTOR, f'form[action="{form_action}"] button'))

    def click(self, button):
        """Clicks and waits for the next page: every form here answers with a new page (or a redirect to one)."""
        # A mark on the old page's window: gone once the browser has a new document. Selenium's staleness_of
        # asks about a node, and chromium can answer that mid-navigation with an inspector error instead.
        self.driver.execute_script("window.__vigilOldPage = true")
        button.click()
        self.wait.until(self._next_page_loaded)

    def _next_page_loaded(self, driver):
        try:
            return driver.execute_script(
                "return window.__vigilOldPage !== true && document.readyState === 'complete'")
        except WebDriverException:
            return False  # between documents

    def login(self, name, password):
        self.open("/login")
        self.field("name").send_keys(name)
        self.field("password").send_keys(password)
        self.submit("/login")

    def text(self, css):
        return self.wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, css))).text

    def body(self):
        return self.driver.find_element(By.TAG_NAME, "body").text

    def expect(self, condition, what):
        if not condition:
            self.shot("failure")
            raise SystemExit(f"walkthrough: {what} (page {self.driver.current_url}):\n{self.body()[:2000]}")

    def close(self):
        self.driver.quit()


def setup(w, args):
    # Not logged in: the console sends the browser to its login page.
    w.open("/devices")
    w.expect("/login" in w.driver.current_url, "an anonymous visit is not sent to the login page")
    w.shot("01-login")
    w.login(args.user, args.one_time)
    w.expect(w.driver.current_url.endswith("/account/password"), "the one-time password does not lead to the password form")
    w.shot("02-password")
    w.field("current").send_keys(args.one_time)
    w.field("new").send_keys(args.password)
    w.field("again").send_keys(args.password)
    w.submit("/account/password")
    w.expect(w.text("h1") == "Dashboard", "the new password does not lead to the dashboard")
    w.shot("03-dashboard-empty")
    w.open("/tokens")
    w.field("team").send_keys(args.team)
    w.submit("/tokens")
    command = w.text("#issued-token pre")
    w.expect(command.startswith("sudo vigil enroll vigil-enroll-1."), "no token was shown")
    w.shot("04-token-issued")
    print(json.dumps({"token": command.split()[-1]}))


def policy(w, args):
    w.login(args.user, args.password)
    w.open("/")
    w.expect(w.text("#enrolled") == "1", "the dashboard does not show the enrolled device")
    w.shot("05-dashboard-device")
    w.open("/devices")
    w.expect(args.hostname in w.text("#devices"), "the device list does not show " + args.hostname)
    w.shot("06-devices")
    w.open("/policy")
    w.shot("07-policy-before")
    # Import the team's Claude Code settings.json (pasted), as the managed layer.
    w.field("settings").send_keys(open(args.settings).read())
    Select(w.field("layer")).select_by_value("managed")
    w.submit("/policy/import")
    w.expect("Published v" in w.text(".flash"), "the import did not publish a version")
    w.shot("08-policy-imported")
    # A rule for the infrastructure team only.
    w.field("match").send_keys(args.rule_match)
    Select(w.field("action")).select_by_value(args.rule_action)
    Select(w.field("scope_kind")).select_by_value("team")
    w.field("scope_value").send_keys(args.team)
    w.field("reason").send_keys("Terraform runs from the pipeline, not from an agent.")
    w.submit("/policy/rows")
    flash = w.text(".flash")
    w.expect("Published v" in flash, "the new rule was not published")
    version = int(flash.split("Published v")[1].split(":")[0])
    w.expect(args.rule_match in w.text("#rows"), "the rule is not among the rows")
    w.shot("09-policy-rule-added")
    w.open(f"/policy/diff?from={version - 1}&to={version}")
    w.expect(args.rule_match in w.body(), "the diff does not show the rule")
    w.shot("10-policy-diff")
    print(json.dumps({"version": version}))


def revoke(w, args):
    w.login(args.user, args.password)
    w.open("/devices/" + args.device)
    w.expect(args.hostname in w.text("h1"), "the device page does not name the device")
    w.expect("v" in w.text("dl.facts"), "the device page has no facts")
    w.shot("11-device")
    w.field("reason").send_keys("laptop reported stolen")
    w.click(w.driver.find_element(By.ID, "revoke"))
    w.expect("revoked" in w.text("h1"), "the device is not shown revoked")
    w.shot("12-device-revoked")
    w.open("/audit")
    w.expect("device.revoke" in w.text("#audit"), "the audit log page lacks the revoke")
    w.shot("13-audit")
    print(json.dumps({"revoked": args.device}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["setup", "policy", "revoke"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--shots", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--one-time")
    parser.add_argument("--team", default="infra")
    parser.add_argument("--hostname", default="")
    parser.add_argument("--device", default="")
    parser.add_argument("--settings")
    parser.add_argument("--rule-match", default="Bash(terraform *)")
    parser.add_argument("--rule-action", default="deny")
    args = parser.parse_args()
    w = Walkthrough(args.url, args.shots)
    try:
        {"setup": setup, "policy": policy, "revoke": revoke}[args.step](w, args)
    finally:
        w.close()


if __name__ == "__main__":
    sys.exit(main())
