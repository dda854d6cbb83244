/* Admin, inlines with an autocomplete field (recommendations/admin/).
 *
 * Select2 draws its own box for an autocomplete <select> and names it after the chosen option
 * only, so an empty row's box has no accessible name. Each box is named here after its <select>
 * (whose aria-label the inline's formset sets to the column's name) and then its choice:
 * "Recommendation, 3. Identify victims…", or "Recommendation" while empty.
 */
"use strict";
{
  function nameSelect2Boxes(root) {
    for (const select of root.querySelectorAll("select.admin-autocomplete[aria-label]")) {
      const box = select.nextElementSibling;
      const selection = box && box.querySelector(".select2-selection");
      const rendered = box && box.querySelector(".select2-selection__rendered");
      if (!selection || !rendered || !rendered.id) {
        continue;
      }
      const labelId = `${rendered.id}-label`;
      if (!document.getElementById(labelId)) {
        const label = document.createElement("span");
        label.id = labelId;
        label.hidden = true;
        label.textContent = select.getAttribute("aria-label");
        box.appendChild(label);
      }
      selection.setAttribute("aria-labelledby", `${labelId} ${rendered.id}`);
      rendered.setAttribute("aria-labelledby", labelId);
    }
  }

  // Django's autocomplete.js draws the boxes once jQuery is ready (which may be after the
  // load event), and a new inline row's when it is added: name each box as it appears.
  document.addEventListener("DOMContentLoaded", () => {
    nameSelect2Boxes(document);
    new MutationObserver(() => nameSelect2Boxes(document)).observe(document.body, {
      childList: true,
      subtree: true,
    });
  });
}
