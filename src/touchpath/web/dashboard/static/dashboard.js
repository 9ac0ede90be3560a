// touchpath dashboard: charts from <script type="application/json"> elements, the loading
// state of forms, the funnel builder's "add a step", copy buttons. No inline scripts (CSP).
"use strict";

function drawCharts() {
  if (typeof window.Plotly === "undefined") return;
  const rtl = document.documentElement.dir === "rtl";
  document.querySelectorAll(".chart[data-figure]").forEach((el) => {
    const source = document.getElementById(el.dataset.figure);
    if (!source) return;
    const fig = JSON.parse(source.textContent);
    const layout = Object.assign({}, fig.layout || {});
    if (rtl) {
      layout.legend = Object.assign({}, layout.legend || {}, { xanchor: "right", x: 1 });
    }
    window.Plotly.newPlot(el, fig.data || [], layout, {
      responsive: true, displaylogo: false, modeBarButtonsToRemove: ["sendDataToCloud"],
    }).then(() => el.setAttribute("data-ready", "true"));
  });
}

function loadingForms() {
  const box = document.getElementById("loading");
  document.querySelectorAll("form.js-loading").forEach((form) => {
    form.addEventListener("submit", () => {
      if (box) box.hidden = false;
      document.getElementById("main")?.setAttribute("aria-busy", "true");
      form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
    });
  });
  // back/forward cache: a restored page must not stay "loading"
  window.addEventListener("pageshow", () => {
    if (box) box.hidden = true;
    document.querySelectorAll("form.js-loading button[type=submit]").forEach((b) => { b.disabled = false; });
  });
}

function funnelSteps() {
  const add = document.getElementById("add-step");
  const list = document.getElementById("steps");
  if (!add || !list) return;
  add.addEventListener("click", () => {
    const rows = list.querySelectorAll("li");
    if (rows.length >= 30) return;
    const row = rows[rows.length - 1].cloneNode(true);
    const n = rows.length + 1;
    const input = row.querySelector("input");
    const label = row.querySelector("label");
    input.id = "step-" + n;
    input.value = "";
    label.htmlFor = input.id;
    label.textContent = label.textContent.replace(/\d+/, String(n));
    list.appendChild(row);
    input.focus();
  });
}

function copyButtons() {
  document.querySelectorAll("[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const text = document.getElementById(button.dataset.copy)?.textContent || "";
      try {
        await navigator.clipboard.writeText(text);
      } catch (e) {
        const range = document.createRange();
        range.selectNodeContents(document.getElementById(button.dataset.copy));
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      }
      const before = button.textContent;
      button.textContent = button.dataset.copied || before;
      setTimeout(() => { button.textContent = before; }, 1500);
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  loadingForms();
  funnelSteps();
  copyButtons();
  drawCharts();
});
