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

// The loading state: shown when an analysis form is sent (at once) and when a link to another
// dashboard page is followed (after a short delay, so fast pages do not flicker). After a
// second it counts the seconds; "Cancel" (or Esc) stops the browser waiting and keeps the page
// as it was. Screen readers hear the state (role=status) and the count every 5 s, not each
// second.
function loadingState() {
  const box = document.getElementById("loading");
  if (!box) return;
  const main = document.getElementById("main");
  const label = box.querySelector(".loading-text");
  const elapsed = box.querySelector(".loading-elapsed");
  const spoken = box.querySelector(".loading-spoken");
  const cancelButton = box.querySelector(".loading-cancel");
  const formText = label ? label.textContent : "";
  const numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);
  let ticker = null;
  let pending = null;

  function show(text) {
    if (!box.hidden) return;
    if (label) label.textContent = text;
    if (elapsed) elapsed.textContent = "";
    if (spoken) spoken.textContent = "";
    box.hidden = false;
    main?.setAttribute("aria-busy", "true");
    const started = Date.now();
    let shown = 0;
    ticker = setInterval(() => {
      const seconds = Math.floor((Date.now() - started) / 1000);
      if (seconds < 1 || seconds === shown) return;
      shown = seconds;
      const words = (box.dataset.elapsed || "{seconds} s").replace("{seconds}", numbers.format(seconds));
      if (elapsed) elapsed.textContent = words;
      if (spoken && seconds % 5 === 0) spoken.textContent = words;
    }, 200);
  }

  function hide() {
    clearTimeout(pending);
    pending = null;
    clearInterval(ticker);
    ticker = null;
    box.hidden = true;
    main?.removeAttribute("aria-busy");
    document.querySelectorAll("form.js-loading button[type=submit]").forEach((b) => { b.disabled = false; });
  }

  function cancel() {
    window.stop();  // the pending navigation ends; this page stays
    const focus = box.contains(document.activeElement);
    hide();
    if (focus) main?.focus({ preventScroll: true });
  }

  document.querySelectorAll("form.js-loading").forEach((form) => {
    form.addEventListener("submit", () => {
      show(formText);
      form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
      // the pressed button is disabled now: keep the keyboard focus somewhere useful
      cancelButton?.focus({ preventScroll: true });
    });
  });
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey
        || event.shiftKey || event.altKey || link.hasAttribute("download") || link.target
        || link.origin !== window.location.origin || !link.pathname.startsWith("/dashboard")
        || link.pathname.endsWith(".csv")
        || (link.hash && link.pathname === window.location.pathname
            && link.search === window.location.search)) return;
    clearTimeout(pending);
    pending = setTimeout(() => show(box.dataset.page || formText), 400);
  });
  cancelButton?.addEventListener("click", cancel);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !box.hidden) cancel();
  });
  // back/forward cache: a restored page must not stay "loading"
  window.addEventListener("pageshow", hide);
}

// At phone width the navigation folds behind a "Menu" button (the CSS decides when; without
// JavaScript the list simply stays open). Esc closes it and gives the focus back to the button.
function navigationToggle() {
  const toggle = document.getElementById("nav-toggle");
  const sidebar = toggle?.closest(".sidebar");
  if (!toggle || !sidebar) return;
  toggle.hidden = false;
  sidebar.classList.add("foldable");
  const set = (open) => {
    toggle.setAttribute("aria-expanded", String(open));
    sidebar.classList.toggle("open", open);
  };
  toggle.addEventListener("click", () => set(toggle.getAttribute("aria-expanded") !== "true"));
  sidebar.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && sidebar.classList.contains("open")) {
      set(false);
      toggle.focus();
    }
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
  loadingState();
  navigationToggle();
  funnelSteps();
  copyButtons();
  drawCharts();
});
