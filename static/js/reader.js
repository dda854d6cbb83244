/* The report reader for coordinators who curate evidence (loaded by source.html only for
 * them): a passage selected in the report gets a "Quote this" button, which opens the quote
 * panel (#quote-panel) for the selection's characters in the report's text. Without
 * JavaScript the form beside the report does the same from a pasted quote or offsets.
 *
 * Each paragraph carries its first character's offset (data-start); a position inside it is
 * that offset plus the length of the paragraph's own text before it, leaving out the marks
 * after quotes (<sup>), which are not report text.
 */
"use strict";
(() => {
  const article = document.querySelector("article.source[data-quote-url]");
  const panel = document.getElementById("quote-panel");
  if (!article || !panel) {
    return;
  }

  const button = document.createElement("button");
  button.type = "button";
  button.className = "quote-this";
  button.textContent = article.dataset.quoteLabel || "Quote this";
  button.hidden = true;
  article.after(button); // next in the tab order after the text it quotes
  let selected = null;

  function offsetInReport(node, offset) {
    const element = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
    const paragraph = element && element.closest("p[data-start]");
    if (!paragraph || !article.contains(paragraph)) {
      return null;
    }
    const before = document.createRange();
    before.setStart(paragraph, 0);
    before.setEnd(node, offset);
    const text = before.cloneContents();
    text.querySelectorAll("sup").forEach((mark) => mark.remove());
    return Number(paragraph.dataset.start) + text.textContent.length;
  }

  function selection() {
    const chosen = window.getSelection();
    if (!chosen || chosen.isCollapsed || chosen.rangeCount === 0) {
      return null;
    }
    const range = chosen.getRangeAt(0);
    const start = offsetInReport(range.startContainer, range.startOffset);
    const end = offsetInReport(range.endContainer, range.endOffset);
    if (start === null || end === null || end <= start) {
      return null;
    }
    return { start, end, box: range.getBoundingClientRect() };
  }

  function place() {
    selected = selection();
    if (!selected) {
      button.hidden = true;
      return;
    }
    button.hidden = false;
    button.style.top = `${window.scrollY + selected.box.bottom + 6}px`;
    button.style.left = `${window.scrollX + Math.max(8, selected.box.left)}px`;
  }

  document.addEventListener("selectionchange", () => window.requestAnimationFrame(place));

  button.addEventListener("click", () => {
    if (!selected) {
      return;
    }
    const url = `${article.dataset.quoteUrl}?start=${selected.start}&end=${selected.end}`;
    button.hidden = true;
    window.htmx.ajax("GET", url, { target: "#quote-panel", swap: "innerHTML" }).then(() => {
      const heading = document.getElementById("quote-panel-heading");
      if (heading) {
        heading.focus();
      }
    });
  });

  // Closing the panel empties it (the link reloads the reader where there is no script).
  panel.addEventListener("click", (event) => {
    const close = event.target instanceof Element && event.target.closest(".close-panel");
    if (close) {
      event.preventDefault();
      panel.replaceChildren();
      article.focus();
    }
  });
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && panel.firstElementChild) {
      panel.replaceChildren();
      article.focus();
    }
  });
})();
