// The what-if page: builds the form from the server's levers, sends runs and questions,
// and places what the server answers (numbers, sentences and charts are all made by the
// server; nothing is computed here).
"use strict";

const $ = (id) => document.getElementById(id);
let running = null;
let asking = null;

function controlsOf() {
  return Array.from(document.querySelectorAll("[data-path]"));
}

function errorSpan(path) {
  return Array.from(document.querySelectorAll("[data-error-for]")).find((s) => s.dataset.errorFor === path);
}

function clearErrors() {
  $("form-error").textContent = "";
  $("opt-error").textContent = "";
  document.querySelectorAll("[data-error-for]").forEach((s) => { s.textContent = ""; });
  document.querySelectorAll("[aria-invalid]").forEach((c) => c.removeAttribute("aria-invalid"));
}

// A refusal: next to the control it names, else above the buttons.
function showError(body, fallback) {
  const span = body.path ? errorSpan(body.path) : null;
  if (span) {
    span.textContent = body.error;
    const control = controlsOf().find((c) => c.dataset.path === body.path);
    if (control) {
      control.setAttribute("aria-invalid", "true");
      control.focus();
    }
  } else {
    fallback.textContent = body.error;
  }
}

function control(lever) {
  const label = document.createElement("label");
  label.textContent = lever.label + " ";
  let input;
  if (lever.kind === "choice") {
    input = document.createElement("select");
    for (const c of lever.choices) {
      const o = document.createElement("option");
      o.value = c;
      o.textContent = c;
      input.appendChild(o);
    }
  } else {
    input = document.createElement("input");
    input.type = lever.kind === "text" ? "text" : "number";
    if (lever.kind === "integer") input.step = "1";
    if (lever.kind === "number") input.step = "any";
  }
  input.value = lever.value;
  input.dataset.path = lever.path;
  input.dataset.original = lever.value;
  input.title = lever.path;
  label.appendChild(input);
  const error = document.createElement("span");
  error.className = "field-error";
  error.dataset.errorFor = lever.path;
  const wrap = document.createElement("div");
  wrap.appendChild(label);
  wrap.appendChild(error);
  return wrap;
}

async function loadLevers() {
  clearErrors();
  const response = await fetch("/api/levers?variant=" + encodeURIComponent($("variant").value));
  const body = await response.json();
  if (!response.ok) {
    showError(body, $("form-error"));
    return;
  }
  const box = $("controls");
  box.textContent = "";
  const groups = new Map();
  for (const lever of body.levers) {
    if (!groups.has(lever.group)) {
      const set = document.createElement("fieldset");
      const legend = document.createElement("legend");
      legend.textContent = lever.group;
      set.appendChild(legend);
      box.appendChild(set);
      groups.set(lever.group, set);
    }
    groups.get(lever.group).appendChild(control(lever));
  }
  const slots = body.levers.filter((l) => /^service\.0\.bands\.\d+\.slots$/.test(l.path)).map((l) => Number(l.value));
  if (slots.length) $("opt-hi").value = String(2 * Math.max(...slots));
}

// The fields whose value differs from the file's, as typed.
function edits() {
  const set = {};
  for (const c of controlsOf()) {
    if (c.value !== c.dataset.original) set[c.dataset.path] = c.value;
  }
  return set;
}

// Reads a response of one JSON object a line, calling `each` with every object.
async function lines(response, each) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.trim()) each(JSON.parse(line));
    }
  }
}

function showResult(result) {
  $("results").hidden = false;
  $("run-summary").textContent = result.summary;
  $("table").innerHTML = result.html;
  const charts = $("charts");
  charts.textContent = "";
  for (const chart of result.charts) {
    const figure = document.createElement("figure");
    figure.id = "chart-" + chart.name;
    const picture = document.createElement("div");
    picture.innerHTML = chart.svg;
    const caption = document.createElement("figcaption");
    caption.textContent = chart.caption;
    figure.appendChild(picture);
    figure.appendChild(caption);
    charts.appendChild(figure);
  }
  const list = $("downloads");
  list.textContent = "";
  for (const d of result.downloads) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = d.href;
    a.download = d.name;
    a.textContent = d.name;
    li.appendChild(a);
    list.appendChild(li);
  }
  $("reproduce").textContent = result.reproduce;
}

function busy(on) {
  $("run").disabled = on;
  $("cancel").disabled = !on;
  $("progress").hidden = !on;
}

async function run(event) {
  event.preventDefault();
  clearErrors();
  running = new AbortController();
  busy(true);
  $("progress").value = 0;
  $("progress-text").textContent = "starting";
  const request = {
    set: edits(),
    variant: $("variant").value,
    replications: Number($("replications").value),
    seed_start: Number($("seed-start").value),
  };
  let finished = false;
  try {
    const response = await fetch("/api/run", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(request),
      signal: running.signal,
    });
    if (!response.ok) {
      const text = await response.text();
      let body;
      try { body = JSON.parse(text); } catch (_) { body = { error: text }; }
      if (!body.path && /^replications/.test(body.error)) body.path = "replications";
      showError(body, $("form-error"));
      $("progress-text").textContent = "";
      return;
    }
    await lines(response, (line) => {
      if (line.total !== undefined) {
        $("progress").max = line.total;
        $("progress").value = line.progress;
        $("progress-text").textContent = line.progress + " of " + line.total + " replications";
      } else if (line.result) {
        finished = true;
        showResult(line.result);
        $("progress-text").textContent = "done";
      } else if (line.error) {
        finished = true;
        $("form-error").textContent = line.error;
      }
    });
    if (!finished) $("progress-text").textContent = "stopped before the end";
  } catch (e) {
    $("progress-text").textContent = e.name === "AbortError" ? "cancelled" : "";
    if (e.name !== "AbortError") $("form-error").textContent = String(e);
  } finally {
    running = null;
    busy(false);
  }
}

async function ask(event) {
  event.preventDefault();
  clearErrors();
  asking = new AbortController();
  $("ask-button").disabled = true;
  $("ask-cancel").disabled = false;
  $("opt-answer").textContent = "";
  $("opt-progress").textContent = "starting";
  const request = {
    set: edits(),
    variant: $("variant").value,
    lo: Number($("opt-lo").value),
    hi: Number($("opt-hi").value),
    days: Number($("opt-days").value),
    max_replications: Number($("opt-max").value),
  };
  try {
    const response = await fetch("/api/optimize", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(request),
      signal: asking.signal,
    });
    if (!response.ok) {
      const body = await response.json();
      showError(body, $("opt-error"));
      $("opt-progress").textContent = "";
      return;
    }
    await lines(response, (line) => {
      if (line.doing !== undefined) {
        $("opt-progress").textContent = line.doing + " · " + line.progress + " replications so far";
      } else if (line.answer) {
        $("opt-progress").textContent = line.replications + " replications in all";
        const box = $("opt-answer");
        line.answer.forEach((text, i) => {
          const p = document.createElement("p");
          if (i === 0) p.className = "sentence";
          p.textContent = text;
          box.appendChild(p);
        });
        for (const w of line.warnings) {
          const p = document.createElement("p");
          p.className = "error";
          p.textContent = "warning: " + w;
          box.appendChild(p);
        }
        const p = document.createElement("p");
        p.className = "meta";
        p.textContent = "The same question on the command line, on the edited scenario: " + line.command;
        box.appendChild(p);
      } else if (line.error) {
        $("opt-error").textContent = line.error;
      }
    });
  } catch (e) {
    $("opt-progress").textContent = e.name === "AbortError" ? "cancelled" : "";
    if (e.name !== "AbortError") $("opt-error").textContent = String(e);
  } finally {
    asking = null;
    $("ask-button").disabled = false;
    $("ask-cancel").disabled = true;
  }
}

async function start() {
  const s = await (await fetch("/api/scenario")).json();
  $("scenario-name").textContent = s.name;
  $("scenario-file").textContent = s.file;
  for (const name of s.variant_names) {
    const o = document.createElement("option");
    o.value = name;
    o.textContent = name;
    $("variant").appendChild(o);
  }
  $("replications").value = s.default_replications;
  $("replications").max = s.max_replications;
  await loadLevers();
  $("variant").addEventListener("change", loadLevers);
  $("levers").addEventListener("submit", run);
  $("cancel").addEventListener("click", () => running && running.abort());
  $("reset").addEventListener("click", () => {
    controlsOf().forEach((c) => { c.value = c.dataset.original; });
    clearErrors();
  });
  $("optimize-form").addEventListener("submit", ask);
  $("ask-cancel").addEventListener("click", () => asking && asking.abort());
  document.body.dataset.ready = "true";
}

start();
