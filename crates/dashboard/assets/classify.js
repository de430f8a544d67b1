// Classify: drop or pick an image, POST it to /v1/classify, show the answer and the history.
"use strict";

(() => {
  const { $, el, api, blobUrl, fmt, when, rows, num } = Dash;
  const thumbs = new Map(); // inference id -> blob: URL

  async function models() {
    const sel = $("#classify-model");
    const chosen = sel.value;
    const data = await api("/v1/models");
    const names = [...new Set(data.models.map((m) => m.name))];
    sel.replaceChildren(el("option", { value: "" }, "default"), ...names.map((n) => el("option", { value: n }, n)));
    sel.value = names.includes(chosen) ? chosen : "";
  }

  async function history() {
    const list = $("#classify-history");
    const page = await api("/v1/inferences?limit=12");
    list.replaceChildren();
    if (!page.items.length) {
      list.append(el("li", { class: "muted" }, "No classifications yet."));
      return;
    }
    for (const r of page.items) {
      const img = el("img", { alt: `Image classified as ${r.label}`, loading: "lazy" });
      list.append(
        el(
          "li",
          {},
          img,
          el("strong", {}, r.label),
          ` ${fmt(r.confidence * 100, 1)} %`,
          el("br"),
          el("span", { class: "muted" }, `${r.model.name} v${r.model.version}${r.cached ? " · cached" : ""}`),
          el("br"),
          el("span", { class: "muted" }, when(r.created_at)),
        ),
      );
      if (!thumbs.has(r.id)) thumbs.set(r.id, blobUrl(`/v1/inferences/${encodeURIComponent(r.id)}/image`));
      thumbs
        .get(r.id)
        .then((url) => (img.src = url))
        .catch(() => (img.alt = "image unavailable"));
    }
  }

  function show(answer, file) {
    $("#classify-result").hidden = false;
    const preview = $("#classify-preview");
    if (preview.dataset.url) URL.revokeObjectURL(preview.dataset.url);
    preview.dataset.url = URL.createObjectURL(file);
    preview.src = preview.dataset.url;
    $("#classify-label").textContent = answer.label;
    $("#classify-confidence").textContent = `${fmt(answer.confidence * 100, 1)} %`;
    const flag = (name, on) => el("span", { class: on ? "flag on" : "flag" }, `${name}: ${on ? "yes" : "no"}`);
    $("#classify-flags").replaceChildren(flag("cold start", answer.cold_start), flag("cached", answer.cached));
    $("#classify-model-used").textContent =
      `${answer.model.name} v${answer.model.version}` + (answer.in_domain === false ? " · neither cat nor dog?" : "");
    rows(
      $("#classify-top"),
      (answer.top_k || []).map((c) => [c.label, num(c.score, 4)]),
    );
    const t = answer.timings_ms || {};
    const stages = ["decode", "preprocess", "queue", "inference", "total"].map((s) => [s, num(t[s], 2)]);
    if (answer.load_ms !== null && answer.load_ms !== undefined) stages.push(["model load", num(answer.load_ms, 1)]);
    if (answer.cost_usd !== null && answer.cost_usd !== undefined) stages.push(["cost (USD)", num(answer.cost_usd, 8)]);
    rows($("#classify-timings"), stages);
  }

  async function send(file) {
    const status = $("#classify-status");
    if (!file) return;
    status.textContent = `Classifying ${file.name}…`;
    status.className = "muted";
    const model = $("#classify-model").value;
    const q = new URLSearchParams({ top_k: "5" });
    if (model) q.set("model", model);
    try {
      const answer = await api(`/v1/classify?${q}`, {
        method: "POST",
        body: file,
        headers: { "Content-Type": file.type || "application/octet-stream" },
      });
      show(answer, file);
      status.textContent = `${file.name}: ${answer.label}`;
      await history();
    } catch (e) {
      status.textContent = `${file.name}: ${e.message}`;
      status.className = "error";
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const input = $("#classify-file");
    const drop = $("#drop");
    input.addEventListener("change", () => {
      const file = input.files[0];
      input.value = ""; // so that choosing the same file again sends it again
      send(file);
    });
    drop.addEventListener("dragover", (ev) => {
      ev.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (ev) => {
      ev.preventDefault();
      drop.classList.remove("over");
      send(ev.dataTransfer.files[0]);
    });
  });

  Dash.tab("classify", { show: () => Promise.all([models(), history()]) });
})();
