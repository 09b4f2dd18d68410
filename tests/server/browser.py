"""The web page in headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium over WebDriver): search -> producer -> product -> dataset download -> SQL console,
in Chinese and in English, and search and producer history with JavaScript disabled.
Screenshots go to the artefact directory. Prints one JSON report; exits non-zero on failure.

    python browser.py BASE_URL ARTEFACT_DIR
"""
import hashlib, json, sys, tempfile, time, urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

base, artefacts = sys.argv[1], sys.argv[2]


def browser(javascript=True):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,1600",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='zhijian-chromium-')}"]:
        o.add_argument(flag)
    if not javascript:
        o.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


report = {}


def shot(d, name):
    d.save_screenshot(f"{artefacts}/{name}.png")


def navigates(d, act):
    """Runs `act` (a click, an Enter or a submit that leaves the page) and waits until the
    page it leaves is gone and the next one has loaded: under load a form's navigation can
    start after the click returns, and reading then would read the old page."""
    page = d.find_element(By.TAG_NAME, "html")
    act()

    def left(_):
        # Stale, or (mid-navigation) "node does not belong to the document": either way gone.
        try:
            page.is_enabled()
            return False
        except WebDriverException:
            return True

    def loaded(d):
        try:
            return d.execute_script("return document.readyState") == "complete"
        except WebDriverException:  # the next document is not there yet
            return False

    WebDriverWait(d, 120).until(left)
    WebDriverWait(d, 120).until(loaded)


def run_sql(d, text):
    """Submits the console's form; a busy server (every SQL slot taken by other tests) asks
    to retry in a few seconds, which is what a person would do."""
    for _ in range(40):
        area = d.find_element(By.ID, "sql")
        area.clear()
        area.send_keys(text)
        navigates(d, d.find_element(By.CSS_SELECTOR, "form.sql button").click)
        errors = d.find_elements(By.CSS_SELECTOR, "p.error")
        if not errors or "retry" not in errors[0].text:
            return
        time.sleep(0.5)


def flow(d, lang):
    en = lang == "en"
    r = {}
    d.get(base + "/" + ("?lang=en" if en else ""))
    r["html_lang"] = d.find_element(By.TAG_NAME, "html").get_attribute("lang")
    # Keyboard: the first Tab lands on the skip link.
    d.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    r["first_tab"] = d.switch_to.active_element.get_attribute("class")
    label = d.find_element(By.CSS_SELECTOR, "label[for=q]").text
    r["search_label"] = label
    shot(d, f"{lang}-1-home")
    box = d.find_element(By.ID, "q")
    box.send_keys("电热" if not en else "dianre")
    navigates(d, lambda: box.send_keys(Keys.ENTER))
    r["results_text"] = d.find_element(By.ID, "result-count").text
    r["results_rows"] = len(d.find_elements(By.CSS_SELECTOR, "section.rows tbody tr"))
    r["facet_links"] = len(d.find_elements(By.CSS_SELECTOR, "aside.facets a"))
    shot(d, f"{lang}-2-search")
    # A facet narrows the results and shows as a removable filter.
    navigates(d, d.find_elements(By.CSS_SELECTOR, "aside.facets a")[0].click)
    r["filter_chips"] = len(d.find_elements(By.CSS_SELECTOR, "a.chip"))
    r["url_has_filter"] = "&" in d.current_url.split("?", 1)[1]
    navigates(d, d.back)
    # Producer history.
    navigates(d, d.find_elements(By.CSS_SELECTOR, "a.enterprise")[0].click)
    r["enterprise_h1"] = d.find_element(By.TAG_NAME, "h1").text
    r["pass_rate"] = d.find_element(By.ID, "pass-rate").text
    r["history_rows"] = len(d.find_elements(By.CSS_SELECTOR, "#history tbody tr"))
    shot(d, f"{lang}-3-enterprise")
    # Product page with its charts.
    navigates(d, d.find_elements(By.CSS_SELECTOR, "#history tbody a")[0].click)
    r["product_h1"] = d.find_element(By.TAG_NAME, "h1").text
    r["charts"] = len(d.find_elements(By.CSS_SELECTOR, "svg.chart"))
    r["chart_bars"] = len(d.find_elements(By.CSS_SELECTOR, "svg.chart rect"))
    shot(d, f"{lang}-4-product")
    # Dataset catalog -> dataset -> download (checked against the sha256 the page lists).
    d.get(base + "/datasets" + ("?lang=en" if en else ""))
    r["dataset_links"] = len(d.find_elements(By.CSS_SELECTOR, "ul.datasets a"))
    navigates(d, d.find_element(By.CSS_SELECTOR, "a[href^='/datasets/A1-02']").click)
    r["citation"] = d.find_element(By.ID, "citation").text
    link = d.find_elements(By.CSS_SELECTOR, "a.download")[0]
    listed = link.find_element(By.XPATH, "..").find_element(By.TAG_NAME, "code").text
    body = urllib.request.urlopen(link.get_attribute("href")).read()
    r["download_sha256_ok"] = hashlib.sha256(body).hexdigest() == listed
    r["jsonld"] = json.loads(d.find_element(By.CSS_SELECTOR, "script[type='application/ld+json']")
                             .get_attribute("innerHTML"))["@type"]
    r["sample_rows"] = len(d.find_elements(By.CSS_SELECTOR, "#sample tbody tr"))
    r["distribution_charts"] = len(d.find_elements(By.CSS_SELECTOR, "#distributions svg.chart"))
    r["coverage"] = d.find_element(By.ID, "coverage").text
    shot(d, f"{lang}-5-dataset")
    # A register's page: its own sample and distributions.
    d.get(base + "/datasets/E1-01" + ("?lang=en" if en else ""))
    r["register_sample"] = [td.text for td in d.find_elements(By.CSS_SELECTOR, "#sample tbody tr:first-child td")]
    r["register_charts"] = len(d.find_elements(By.CSS_SELECTOR, "#distributions svg.chart"))
    shot(d, f"{lang}-5-register")
    # SQL console.
    d.get(base + "/sql" + ("?lang=en" if en else ""))
    run_sql(d, "SELECT product, count(*) AS n FROM spot_checks GROUP BY product ORDER BY n DESC LIMIT 5")
    r["sql_rows"] = len(d.find_elements(By.CSS_SELECTOR, "#sql-result tbody tr"))
    shot(d, f"{lang}-6-sql")
    run_sql(d, "SELECT * FROM spot_check")
    r["sql_error"] = d.find_element(By.CSS_SELECTOR, "p.error").text
    shot(d, f"{lang}-7-sql-error")
    return r


d = browser()
try:
    report["zh"] = flow(d, "zh")
    # The toggle switches the page to English and keeps the place.
    d.get(base + "/datasets")
    navigates(d, d.find_element(By.ID, "lang-toggle").click)
    report["toggle_lang"] = d.find_element(By.TAG_NAME, "html").get_attribute("lang")
    report["toggle_url"] = d.current_url
    report["en"] = flow(d, "en")
finally:
    d.quit()

# Without JavaScript: search and a producer's history still work.
d = browser(javascript=False)
try:
    d.get(base + "/")
    box = d.find_element(By.ID, "q")
    box.send_keys("电热")
    navigates(d, box.submit)
    nojs = {"results_rows": len(d.find_elements(By.CSS_SELECTOR, "section.rows tbody tr"))}
    navigates(d, d.find_elements(By.CSS_SELECTOR, "a.enterprise")[0].click)
    nojs["history_rows"] = len(d.find_elements(By.CSS_SELECTOR, "#history tbody tr"))
    shot(d, "nojs-enterprise")
    report["nojs"] = nojs
finally:
    d.quit()

print(json.dumps(report, ensure_ascii=False))
