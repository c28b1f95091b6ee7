// What a viewer cannot read in the main area: text, button labels and figures that are cut by a
// container or stick out of it. Measured on element boxes, not pixels. Returns a list of
// {what, text, why} (empty when everything fits). Used by tests/browser/test_presentation_browser.py
// (through conftest's cut_text).
() => {
  const main = document.querySelector("[data-testid='stMain']");
  if (!main) return [{ what: "page", text: "", why: "no stMain" }];
  const SLACK = 2; // px: sub-pixel rounding and focus rings
  // Scrolling on purpose: code listings (a reader scrolls code), the data editor's canvas grid.
  const EXEMPT = "pre, [data-testid='stCode'], [data-testid='stDataFrame'] *, " +
    "[data-testid='stTooltipContent'], [data-baseweb='popover']";
  // Vega-Lite charts draw on a canvas (or svg); number grids are HTML tables (data-grid)
  const FIGURES = "[data-grid], [data-testid='stImage'] img, " +
    "[data-testid='stGraphVizChart'] svg, [data-testid='stTable'] table, " +
    "[data-testid='stMarkdownContainer'] table, [data-testid='stDataFrame'], " +
    "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg";
  const out = [];
  const seen = new Set();
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) return false; // also screen-reader-only text (1 px, clipped)
    // not rendered for the viewer: inside a closed expander (<details>), display:none, hidden
    if (!el.checkVisibility({ visibilityProperty: true })) return false;
    const cs = getComputedStyle(el);
    return cs.visibility !== "hidden" && cs.display !== "none";
  };
  const label = (el) => {
    const t = (el.innerText || el.getAttribute("aria-label") || el.tagName).trim();
    return t.replace(/\s+/g, " ").slice(0, 60);
  };
  // the nearest ancestor that cuts what overflows it (or main itself)
  const clipper = (el) => {
    for (let a = el.parentElement; a && a !== main; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible") return a;
    }
    return main;
  };
  const report = (el, why) => {
    if (seen.has(el)) return;
    seen.add(el);
    const tid = el.closest("[data-testid]");
    out.push({ what: `${el.tagName.toLowerCase()} in ${tid ? tid.dataset.testid : "?"}`,
               text: label(el), why });
  };
  const hasText = (el) =>
    [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim().length > 0);
  const mainBox = main.getBoundingClientRect();
  const right = Math.min(mainBox.right, document.documentElement.clientWidth);
  const candidates = [...main.querySelectorAll("*")].filter(
    (el) => (hasText(el) || el.matches("button") || el.matches(FIGURES)) && !el.closest(EXEMPT)
  );
  for (const el of candidates) {
    if (!visible(el)) continue;
    const cs = getComputedStyle(el);
    // 1. text cut inside its own box (ellipsis, overflow hidden)
    if (hasText(el) && cs.overflowX !== "visible" && el.scrollWidth > el.clientWidth + SLACK) {
      report(el, `text cut: scrollWidth ${el.scrollWidth} > clientWidth ${el.clientWidth}`);
      continue;
    }
    // 2. sticks out of the container that clips it, or of the page
    const r = el.getBoundingClientRect();
    const c = clipper(el).getBoundingClientRect();
    if (r.right > c.right + SLACK || r.left < c.left - SLACK) {
      report(el, `outside its container: [${Math.round(r.left)}, ${Math.round(r.right)}] vs ` +
                 `[${Math.round(c.left)}, ${Math.round(c.right)}]`);
      continue;
    }
    if (r.right > right + SLACK) {
      report(el, `outside the page: right ${Math.round(r.right)} > ${Math.round(right)}`);
    }
  }
  // 3. a chart's drawing, or a number grid, wider than the element that holds it
  const drawings = [
    ...main.querySelectorAll("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg"),
    // a grid's cells: the box around its first cell
    ...[...main.querySelectorAll("[data-grid] [data-r='0'][data-c='0']")].map((c) => c.parentElement),
  ];
  for (const fig of drawings) {
    if (!visible(fig)) continue;
    const box = fig.closest("[data-testid='stElementContainer']") || fig.parentElement;
    if (fig.getBoundingClientRect().width > box.getBoundingClientRect().width + SLACK) {
      report(fig, `figure ${Math.round(fig.getBoundingClientRect().width)} px wide in a ` +
                  `${Math.round(box.getBoundingClientRect().width)} px container`);
    }
  }
  return out;
}
