/* The tracker's own script, loaded with `defer` from base.html (the CSP allows no inline
 * script). It keeps keyboard and screen-reader users oriented when HTMX replaces part of a page:
 *
 * - after a swap that shows errors, focus moves to the first of them (an error summary, marked
 *   `.form-errors[tabindex="-1"]`, or a field with aria-invalid="true") and the live region
 *   (#announcer, in base.html) reads the error;
 * - after a swap without errors, focus moves to the element named by the requesting form's
 *   `data-result-focus` (a heading with tabindex="-1") and the live region reads its
 *   `data-result-message`, or the text of the element named by `data-result-text`;
 * - a form marked `data-error-fields` has its 400 answers (its own errors, e.g. a search too
 *   long) swapped in like any other, and keeps its fields' aria-invalid and aria-describedby in
 *   step with the errors the swap brought (id_<name>_error), as the server does on a full page;
 * - a page that arrives with errors (a form posted without HTMX) opens with focus on the first.
 *
 * Without JavaScript every form still works as a plain POST or GET with a full page.
 */
"use strict";
(() => {
  const ERRORS = '.form-errors[tabindex="-1"], [aria-invalid="true"]';
  const MESSAGES = ".error, .errorlist, .form-errors";

  function squash(text) {
    return (text || "").replace(/\s+/g, " ").trim();
  }

  function announce(message) {
    const region = document.getElementById("announcer");
    if (!region || !message) {
      return;
    }
    // Emptied first, then filled after a pause, so the same message twice is read twice.
    region.textContent = "";
    window.setTimeout(() => {
      region.textContent = message;
    }, 100);
  }

  /* What the live region says in the page's language (base.html sets it on #announcer). */
  function said(name) {
    const region = document.getElementById("announcer");
    return (region && region.dataset[name]) || "";
  }

  /* The words of an error: a summary's own text; a field's, the error it is described by. */
  function errorText(element) {
    if (!element.matches('[aria-invalid="true"]')) {
      return squash(element.textContent);
    }
    const ids = (element.getAttribute("aria-describedby") || "").split(/\s+/);
    for (const id of ids) {
      const described = id && document.getElementById(id);
      if (described && described.matches(MESSAGES)) {
        return squash(described.textContent);
      }
    }
    return "";
  }

  function focusFirstError(root) {
    const error = root.querySelector(ERRORS);
    if (error) {
      error.focus();
    }
    return error;
  }

  /* The fields of `form` whose error (id_<name>_error) is on the page are invalid and
   * described by it; the others are not. */
  function syncErrorFields(form) {
    for (const field of form.querySelectorAll("input[name], select[name], textarea[name]")) {
      if (field.type === "hidden") {
        continue;
      }
      const errorId = `id_${field.name}_error`;
      const described = (field.getAttribute("aria-describedby") || "")
        .split(/\s+/)
        .filter((id) => id && id !== errorId);
      if (document.getElementById(errorId)) {
        field.setAttribute("aria-invalid", "true");
        described.push(errorId);
      } else {
        field.removeAttribute("aria-invalid");
      }
      if (described.length) {
        field.setAttribute("aria-describedby", described.join(" "));
      } else {
        field.removeAttribute("aria-describedby");
      }
    }
  }

  function requestingForm(detail) {
    const source = detail && detail.requestConfig && detail.requestConfig.elt;
    return source && source.closest ? source.closest("form") : null;
  }

  document.addEventListener("htmx:beforeSwap", (event) => {
    const detail = event.detail || {};
    const form = requestingForm(detail);
    if (detail.xhr && detail.xhr.status === 400 && form && "errorFields" in form.dataset) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  const settled = new WeakSet();

  document.addEventListener("htmx:afterSettle", (event) => {
    const detail = event.detail || {};
    // What a response updates on the side (out of band, e.g. the timeline) is not its result.
    if (event.target instanceof Element && event.target.hasAttribute("data-swapped-aside")) {
      return;
    }
    // An outerHTML swap settles each new top-level element: act once per response.
    if (!detail.xhr || settled.has(detail.xhr)) {
      return;
    }
    settled.add(detail.xhr);
    const source = detail.requestConfig && detail.requestConfig.elt;
    const swapped = event.target instanceof Element ? event.target : document.body;
    const options = (source && source.dataset) || {};
    const form = requestingForm(detail);
    if (form && "errorFields" in form.dataset) {
      syncErrorFields(form);
    }
    const failed = detail.xhr.status >= 400;
    // The first invalid field or error summary; failing those, any error message there is.
    const error = swapped.querySelector(ERRORS) || (failed && swapped.querySelector(MESSAGES));
    if (error) {
      if (options.resultFocus) {
        if (!error.matches(ERRORS)) {
          error.setAttribute("tabindex", "-1");
        }
        error.focus(); // the person who submitted the form fixes it next
      }
      announce(squash(`${options.errorMessage || ""} ${errorText(error)}`));
      return;
    }
    if (failed) {
      announce(options.errorMessage ? `${options.errorMessage} ${said("reload")}` : "");
      return;
    }
    if (options.resultFocus) {
      const result = document.querySelector(options.resultFocus);
      if (result) {
        result.focus();
      }
    }
    if (options.resultMessage) {
      announce(options.resultMessage);
    } else if (options.resultText) {
      const result = document.querySelector(options.resultText);
      announce(result ? squash(result.textContent) : "");
    }
  });

  // A search box sends its request as the person types ("input changed", after a pause). The
  // change event it fires when they leave it would repeat that request, and its answer would
  // replace the results between the press and the release of a click on one of them: the click
  // is lost. So the change is dropped when its words were already asked for. When they were not
  // (the person left within the pause: HTMX then drops the pending request for the change), the
  // change asks for them.
  const searched = new WeakMap();
  document.addEventListener("htmx:confirm", (event) => {
    const trigger = event.detail && event.detail.triggeringEvent;
    const field = trigger && trigger.target;
    if (!trigger || !(field instanceof HTMLInputElement) || field.type !== "search") {
      return;
    }
    if (trigger.type === "change" && searched.get(field) === field.value) {
      event.preventDefault();
      return;
    }
    searched.set(field, field.value);
  });

  // A refusal HTMX does not swap in (a 403, a 500, the server unreachable) is said aloud;
  // not a part that refreshes itself on the side (the timeline): what the person did worked.
  function aside(event) {
    const source = event.detail && event.detail.elt;
    return source instanceof Element && source.hasAttribute("data-swapped-aside");
  }
  document.addEventListener("htmx:responseError", (event) => {
    if (!aside(event)) {
      announce(said("failed"));
    }
  });
  document.addEventListener("htmx:sendError", (event) => {
    if (!aside(event)) {
      announce(said("unreachable"));
    }
  });

  // The form of a page that came back with errors (no HTMX): start at the first error.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => focusFirstError(document));
  } else {
    focusFirstError(document);
  }
})();
