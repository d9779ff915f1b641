"""Each lesson exported to HTML as nbconvert writes an executed notebook without widget state (as
JupyterLab saves one), opened in headless Chromium: every output shows something, every image
its picture, and each widget (quiz, stepper) its static form, the answers folded until a click."""

from __future__ import annotations

import pytest
from nbconvert import HTMLExporter
from selenium.webdriver.common.by import By

from tests.test_notebooks import LESSONS, NOTEBOOKS, lesson_id, run_lesson

WIDGET = "application/vnd.jupyter.widget-view+json"
SCRIPT = "application/javascript"  # draws into another output (jupyterquiz): shows nothing itself

# The text an element shows: its visible text nodes, not those of an output nested inside it
# (an output that leaves a tag open swallows the cells after it).
SHOWN = """
const shown = (root, area) => {
  const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const parts = [];
  for (let node = walk.nextNode(); node; node = walk.nextNode()) {
    const parent = node.parentElement;
    if (parent.closest('.jp-OutputArea-output') === area && node.data.trim()
        && parent.checkVisibility({visibilityProperty: true, opacityProperty: true})) {
      parts.push(node.data.trim());
    }
  }
  return parts.join(' ');
};
"""
OUTPUTS = (
    SHOWN
    + """
return [...document.querySelectorAll('.jp-OutputArea-output')].map(area => {
  const own = [...area.querySelectorAll('img, svg')].filter(
    e => e.parentElement.closest('.jp-OutputArea-output') === area);
  const drawn = own.filter(e => e.tagName.toLowerCase() === 'img'
    ? e.complete && e.naturalWidth > 0 && e.naturalHeight > 0
    : e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().height > 0);
  return {mime: area.dataset.mimeType, text: shown(area, area), pictures: drawn.length};
});
"""
)
FOLDED = SHOWN + "const d = arguments[0]; return shown(d, d.closest('.jp-OutputArea-output'));"


@pytest.mark.parametrize("path", LESSONS, ids=lesson_id)
def test_an_exported_lesson_shows_every_output(path, tmp_path, tmp_path_factory, browser):
    nb = run_lesson(path, tmp_path_factory)
    body, _ = HTMLExporter().from_notebook_node(
        nb, resources={"metadata": {"name": path.stem, "path": str(NOTEBOOKS)}}
    )
    page = tmp_path / f"{path.stem}.html"
    page.write_text(body, encoding="utf-8")
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*"]})
    try:  # offline, as a student's copy may be: the template's CDN scripts do not load
        browser.get(page.as_uri())  # returns once the page has loaded, its images included
    finally:
        browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})

    images = browser.execute_script(
        "return [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
    )
    assert all(done and width and height for done, width, height in images), images
    outputs = [
        (n, output)
        for n, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for output in cell.outputs
    ]
    shown = browser.execute_script(OUTPUTS)
    assert len(shown) == len(outputs), f"{len(outputs)} outputs, {len(shown)} on the page"
    areas = browser.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output")
    for (n, output), area, element in zip(outputs, shown, areas, strict=True):
        data, where = output.get("data", {}), f"{path.name}, cell {n}"
        if SCRIPT not in data:
            assert area["text"] or area["pictures"], f"{where}: an empty {area['mime']} output"
        if WIDGET not in data:
            continue
        assert area["mime"] == "text/html", f"{where}: a widget shown as {area['mime']}"
        for details in element.find_elements(By.TAG_NAME, "details"):
            summary = details.find_element(By.TAG_NAME, "summary")
            assert browser.execute_script(FOLDED, details) == summary.text, f"{where}: unfolded"
            summary.click()
            unfolded = browser.execute_script(FOLDED, details)
            assert unfolded.startswith(summary.text) and len(unfolded) > len(summary.text), where
        folds = data["text/html"].count("<details>")
        assert len(element.find_elements(By.TAG_NAME, "details")) == folds, where
