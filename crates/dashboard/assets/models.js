// Models: versions, activate / roll back, warm instances, and each version's profile.
"use strict";

(() => {
  const { $, el, api, fmt, num, rows, explain } = Dash;
  const profiles = new Map(); // "name/version" -> Promise of the profile

  function say(text, ok = true) {
    const s = $("#models-status");
    s.textContent = text;
    s.className = ok ? "ok" : "error";
  }

  function profile(m) {
    const k = `${m.name}/${m.version}`;
    if (!profiles.has(k)) {
      profiles.set(
        k,
        api("/v1/energy/predict", { method: "POST", body: { model: m.name, version: m.version } })
          .then((a) => a.model.profile)
          .catch(() => null),
      );
    }
    return profiles.get(k);
  }

  async function act(label, path, body) {
    say(`${label}…`);
    try {
      const a = await api(path, { method: "POST", body: body || {} });
      const v = a.version !== undefined ? a.version : a.active_version;
      say(`${label}: done${v !== undefined ? ` (version ${v})` : ""}.`);
    } catch (e) {
      say(`${label}: ${explain(e)}`, false);
    }
    await load();
  }

  async function load() {
    const data = await api("/v1/models");
    const list = data.models.slice().sort((a, b) => a.name.localeCompare(b.name) || b.version - a.version);
    const cells = [];
    for (const m of list) {
      const p = { params: el("td", { class: "num" }, "…"), macs: el("td", { class: "num" }, "…"), size: el("td", { class: "num" }, "…") };
      profile(m).then((pr) => {
        p.params.textContent = pr ? fmt(pr.params) : "–";
        p.macs.textContent = pr ? fmt(pr.macs) : "–";
        p.size.textContent = pr ? fmt(pr.size_mb, 2) : fmt(m.size_bytes / 1e6, 2);
      });
      const who = `${m.name} version ${m.version}`;
      const actions = el("td", {});
      if (m.active) {
        actions.append(
          el("button", { type: "button", class: "secondary", "aria-label": `Roll back ${m.name}`,
            onclick: () => act(`Rolling back ${m.name}`, `/v1/models/${encodeURIComponent(m.name)}/rollback`) }, "Roll back"),
        );
      } else {
        actions.append(
          el("button", { type: "button", "aria-label": `Activate ${who}`,
            onclick: () => act(`Activating ${who}`, `/v1/models/${encodeURIComponent(m.name)}/activate`, { version: m.version }) }, "Activate"),
        );
      }
      const state = m.active ? el("strong", {}, "active") : "inactive";
      const inst = `${m.instances}${m.loading ? ` (+${m.loading} loading)` : ""}`;
      cells.push([m.name, num(m.version, 0), state, m.task, el("td", { class: "num" }, inst), p.params, p.macs, p.size, actions]);
    }
    rows($("#models-table"), cells, "No models registered: infergate models add NAME --file MODEL.onnx");
    const sel = $("#warm-model");
    const chosen = sel.value;
    sel.replaceChildren(...list.map((m) => el("option", { value: `${m.name}/${m.version}` }, `${m.name} v${m.version}`)));
    if (list.some((m) => `${m.name}/${m.version}` === chosen)) sel.value = chosen;
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#warm-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const [name, version] = $("#warm-model").value.split("/");
      if (!name) return;
      const count = $("#warm-count").value || "1";
      act(`Warming ${name} v${version}`, `/v1/models/${encodeURIComponent(name)}/warm?version=${version}&count=${count}`);
    });
  });

  Dash.tab("models", { show: load });
})();
