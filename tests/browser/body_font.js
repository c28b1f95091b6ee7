// The body text size of the main area (CSS px): the most common font size among its visible
// paragraphs and list items, captions, widget labels and the presentation toggle left out.
() => {
  const skip = "[data-testid='stCaptionContainer'], [data-testid='stWidgetLabel'], " +
    ".st-key-present_toggle, [data-testid='stTooltipContent'], [data-testid='stExpander'] summary";
  const counts = new Map();
  for (const p of document.querySelectorAll(
    "[data-testid='stMain'] [data-testid='stMarkdownContainer'] :is(p, li)")) {
    if (p.closest(skip) || p.getBoundingClientRect().width < 1) continue;
    const size = parseFloat(getComputedStyle(p).fontSize);
    counts.set(size, (counts.get(size) || 0) + (p.innerText || "").length);
  }
  let best = 0, most = -1;
  for (const [size, n] of counts) if (n > most) { best = size; most = n; }
  return best;
}
