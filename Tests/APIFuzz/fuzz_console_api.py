#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Schemathesis against the console's OpenAPI document (docs/api/console.openapi.yaml), on a real
vigil-console: once with an admin's session (no 5xx, answers as documented, malformed bodies
refused with 4xx and a reason) and once without credentials (every endpoint but health, enrolment
and login refuses). `make test` runs it; exit status non-zero on any failure."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import requests
import urllib3

urllib3.disable_warnings()
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("VIGIL_CONSOLE_BIN", os.path.join(ROOT, ".build", "debug", "vigil-console"))
SPEC = os.path.join(ROOT, "docs", "api", "console.openapi.yaml")
SCHEMATHESIS = os.path.join(os.path.dirname(sys.executable), "schemathesis")
MAX_EXAMPLES = os.environ.get("VIGIL_FUZZ_EXAMPLES", "40")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin(state, *args):
    out = subprocess.run([BIN, *args, "--state", state], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise SystemExit(f"vigil-console {' '.join(args)} failed: {out.stdout}{out.stderr}")
    return out.stdout


def log_in(url, name, one_time, password):
    """A browser's first login: the login form's cookie, the one-time password, our own."""
    web = requests.Session()
    web.verify = False
    web.trust_env = False  # REQUESTS_CA_BUNDLE would override verify=False
    form = web.get(url + "/login")
    token = re.search(r'name="login" value="([^"]+)"', form.text).group(1)
    answer = web.post(url + "/login", data={"login": token, "name": name, "password": one_time},
                      headers={"Origin": url}, allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["Location"] == "/account/password", answer.text
    page = web.get(url + "/account/password")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answer = web.post(url + "/account/password", data={"csrf": csrf, "current": one_time, "new": password, "again": password},
                      headers={"Origin": url}, allow_redirects=False)
    assert answer.status_code == 303, answer.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', web.get(url + "/").text).group(1)
    return web.cookies.get("vigil_session"), csrf


def schemathesis(url, headers, checks, extra, label, config=None):
    command = [SCHEMATHESIS, *(["--config-file", config] if config else []), "run", SPEC, "--url", url, "--tls-verify", "false", "--checks", checks,
               "--max-examples", MAX_EXAMPLES, "--workers", "1", "--phases", "examples,coverage,fuzzing",
               "--exclude-path-regex", r"/events$", "--warnings", "off", *extra]
    for header in headers:
        command += ["--header", header]
    print(f"== schemathesis ({label}) ==", flush=True)
    return subprocess.run(command, timeout=1200).returncode


def main():
    if not os.access(BIN, os.X_OK):
        raise SystemExit(f"{BIN} is missing: swift build first")
    state = tempfile.mkdtemp(prefix="vigil-fuzz-")
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    log = open(os.path.join(state, "console.log"), "w")
    console = subprocess.Popen([BIN, "serve", "--state", state + "/console", "--listen", f"127.0.0.1:{port}"], stdout=log, stderr=log)
    try:
        for _ in range(300):
            try:
                if requests.get(url + "/healthz", verify=False, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise SystemExit("vigil-console did not start: " + open(log.name).read())
        added = admin(state + "/console", "admin", "add", "fuzz", "--role", "admin")
        one_time = added.strip().splitlines()[-1]
        # A device to look at and a version to read, so the examples reach past 404.
        subprocess.run([BIN, "enroll-token", "--state", state + "/console", "--team", "web"], check=True, capture_output=True)
        cookie, csrf = log_in(url, "fuzz", one_time, "fuzzing passphrase 1")

        failures = 0
        # With a session: nothing crashes, answers are as documented, malformed input is refused.
        # The session and CSRF token as the document's security schemes, so that schemathesis knows
        # which requests it made without them (and expects those refused).
        config = os.path.join(state, "schemathesis.toml")
        with open(config, "w") as toml:
            toml.write(f'[auth.openapi.session]\napi_key = "{cookie}"\n[auth.openapi.csrf]\napi_key = "{csrf}"\n')
        failures += schemathesis(
            url, [f"Origin: {url}"],
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection",
            ["--include-path-regex", r"^/api/v1/admin/"], "an admin session", config) != 0
        # Without credentials: every endpoint refuses; and the device API refuses unsigned requests.
        failures += schemathesis(url, [], "not_a_server_error,status_code_conformance,negative_data_rejection", [], "no credentials") != 0
        with open(log.name) as text:
            crashes = [line for line in text if "request failed" in line]
        if crashes:
            print("the console logged failed requests (500s):\n" + "".join(crashes[:20]))
            failures += 1
        # Every refusal is a JSON body that names what and why.
        for path in ["/api/v1/admin/devices", "/api/v1/admin/policy", "/api/v1/device", "/api/v1/device/policy"]:
            answer = requests.get(url + path, verify=False)
            body = answer.json()
            if answer.status_code not in (401, 403) or not body.get("reason"):
                print(f"{path} without credentials answered {answer.status_code}: {answer.text}")
                failures += 1
        print("api fuzz:", "FAILED" if failures else "passed")
        return 1 if failures else 0
    finally:
        console.terminate()
        console.wait(timeout=10)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
