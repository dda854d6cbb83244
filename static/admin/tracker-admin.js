/* Admin (recommendations/admin/).
 *
 * An evidence item's recommendations: on the item's form, each recommendation <option> carries
 * its report (data-report); only those of the report chosen above are offered. One already
 * chosen from another report stays, so that the error the server gives for it can be read.
 *
 * Inlines with an autocomplete field:
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

  function offerTheReportsRecommendations() {
    const report = document.getElementById("id_report");
    if (!report) {
      return;
    }
    for (const option of document.querySelectorAll("select[name$='-recommendation'] option[data-report]")) {
      const elsewhere = report.value !== "" && option.dataset.report !== report.value;
      option.hidden = option.disabled = elsewhere && !option.selected;
    }
  }

  document.addEventListener("change", (event) => {
    if (event.target instanceof HTMLSelectElement && event.target.id === "id_report") {
      offerTheReportsRecommendations();
    }
  });
  document.addEventListener("formset:added", offerTheReportsRecommendations);
  document.addEventListener("DOMContentLoaded", offerTheReportsRecommendations);

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
