// Small behaviours of the dashboard pages. No inline scripts: the Content-Security-Policy allows
// only scripts served by the app.
(function () {
  "use strict";

  // Copy buttons: <button class="copy" data-copy-target="element-id">. navigator.clipboard exists only on https and
  // localhost: on a plain-http host, or when the clipboard refuses, the text is selected and copied the old way, or
  // left selected for Ctrl+C when the browser refuses that too. The button says which.
  function selectAndCopy(button, source) {
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;  // some browsers throw instead of answering false
    }
    button.textContent = copied ? "Copied" : "Selected: press Ctrl+C";
  }
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button.copy");
    if (!button) return;
    const source = document.getElementById(button.dataset.copyTarget);
    if (!source) return;
    if (!navigator.clipboard) {
      selectAndCopy(button, source);
      return;
    }
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      button.textContent = "Copied";
    }, function () {
      selectAndCopy(button, source);
    });
  });

  // Confirmation before destructive forms: <form data-confirm="Question?">
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // A select with data-autosubmit submits its form when it changes.
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
  });

  // A select-all box: <input type="checkbox" data-select-all="ids"> (no name, so never sent) checks or clears the
  // boxes named "ids" of its form, and shows whether they are all, some (mixed) or none checked. Hidden in the
  // HTML: without this script it would do nothing.
  function selectable(selectAll) {
    return Array.from(selectAll.form.elements).filter(function (element) {
      return element.type === "checkbox" && element.name === selectAll.dataset.selectAll;
    });
  }
  function showSelection(selectAll) {
    const checked = selectable(selectAll).filter(function (box) { return box.checked; }).length;
    selectAll.checked = checked > 0 && checked === selectable(selectAll).length;
    selectAll.indeterminate = checked > 0 && !selectAll.checked;
  }
  document.addEventListener("change", function (event) {
    const box = event.target;
    if (box.type !== "checkbox" || !box.form) return;
    if (box.dataset.selectAll) {
      selectable(box).forEach(function (other) { other.checked = box.checked; });
      return;
    }
    box.form.querySelectorAll("input[data-select-all]").forEach(function (selectAll) {
      if (selectAll.dataset.selectAll === box.name) showSelection(selectAll);
    });
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-select-all]").forEach(function (selectAll) {
      selectAll.hidden = false;
      showSelection(selectAll);  // a box the browser kept checked across a reload
    });
  });

  // Widths given as data-width="42.5" (percent): the Content-Security-Policy forbids style attributes.
  function applyWidths(root) {
    root.querySelectorAll("[data-width]").forEach(function (element) {
      element.style.width = element.dataset.width + "%";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { applyWidths(document); });
  document.addEventListener("htmx:afterSwap", function (event) { applyWidths(event.target); });
})();
