"""Drives headless Chromium with selenium from inside the browser's own network namespace (started by
peers.Chromium with `ip netns exec`): reads one JSON command per line on stdin, answers one JSON line
on stdout. Chromium, chromedriver and this script all live in that namespace, so the browser is a host
of its own whose address the test can change (a network change) while the server keeps running.

Commands: {"op": "open", "url"}, {"op": "size", "width", "height"}, {"op": "js", "script"} (returns its
value), {"op": "click", "css"}, {"op": "type", "css", "text"}, {"op": "key", "css", "key"},
{"op": "screenshot", "path"}, {"op": "logs"} (the console), {"op": "preload", "script"} (runs in every
page before its own scripts: a test's instrumentation), {"op": "quit"}.
"""
import json
import sys

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement


def main():
    options = json.loads(sys.argv[1])
    chrome = webdriver.ChromeOptions()
    for argument in options["arguments"]:
        chrome.add_argument(argument)
    chrome.binary_location = options.get("binary", "/usr/bin/chromium")
    chrome.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=options.get("driver", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=chrome, service=service)
    print(json.dumps({"ok": True, "version": driver.capabilities.get("browserVersion")}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        try:
            result = None
            if op == "open":
                driver.get(command["url"])
            elif op == "size":
                driver.set_window_size(command["width"], command["height"])
            elif op == "js":
                result = driver.execute_script(command["script"])
                if isinstance(result, WebElement):
                    result = True  # an element was found; elements themselves stay in the browser
            elif op == "click":
                driver.find_element(By.CSS_SELECTOR, command["css"]).click()
            elif op == "type":
                element = driver.find_element(By.CSS_SELECTOR, command["css"])
                element.clear()
                element.send_keys(command["text"])
            elif op == "key":
                driver.find_element(By.CSS_SELECTOR, command["css"]).send_keys(command["key"])
            elif op == "preload":
                driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": command["script"]})
            elif op == "logs":
                result = [entry["message"] for entry in driver.get_log("browser")]
            elif op == "screenshot":
                driver.save_screenshot(command["path"])
            elif op == "quit":
                break
            print(json.dumps({"ok": True, "result": result}), flush=True)
        except Exception as error:  # reported to the test, which fails with it
            print(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}), flush=True)
    driver.quit()


if __name__ == "__main__":
    main()
