// Deployment: devices and whether they are online, each active model's predicted energy on the
// chosen device (with its interval), deploying within a budget (a refusal shows the numbers),
// and the deployments so far.
"use strict";

(() => {
  const { $, el, api, fmt, num, rows, when, explain } = Dash;
  let devices = [];

  function say(node, ok = true) {
    const s = $("#deploy-status");
    s.replaceChildren(node);
    s.className = ok ? "ok" : "error";
  }

  async function loadDevices() {
    const data = await api("/v1/devices");
    devices = data.devices;
    rows(
      $("#devices-table"),
      devices.map((d) => {
        const st = d.last_status || {};
        const online = d.revoked_at
          ? el("span", { class: "badge-offline" }, "revoked")
          : el("span", { class: d.online ? "badge-online" : "badge-offline" }, d.online ? "online" : "offline");
        return [d.id, d.device_type, online, st.status || "–", st.model_name || "–", when(d.last_heartbeat_at)];
      }),
      "No devices: infergate devices add ID --type TYPE",
    );
    for (const sel of [$("#deploy-device"), $("#monitor-device")]) {
      const chosen = sel.value;
      sel.replaceChildren(...devices.map((d) => el("option", { value: d.id }, `${d.id} (${d.device_type})`)));
      if (devices.some((d) => d.id === chosen)) sel.value = chosen;
    }
  }

  async function loadModels() {
    const data = await api("/v1/models");
    const sel = $("#deploy-model");
    const chosen = sel.value;
    const list = data.models.slice().sort((a, b) => a.name.localeCompare(b.name) || b.version - a.version);
    sel.replaceChildren(
      ...list.map((m) => el("option", { value: `${m.name}/${m.version}` }, `${m.name} v${m.version}${m.active ? " (active)" : ""}`)),
    );
    if (list.some((m) => `${m.name}/${m.version}` === chosen)) sel.value = chosen;
    return list;
  }

  // Each model version's predicted energy on the chosen device's type.
  async function loadEnergy(models) {
    const d = devices.find((x) => x.id === $("#deploy-device").value);
    const table = $("#energy-table");
    if (!d) {
      rows(table, [], "Choose a device.");
      return;
    }
    $("#energy-caption").textContent = `Predicted energy per inference on ${d.id} (${d.device_type})`;
    const out = [];
    for (const m of models) {
      try {
        const a = await api("/v1/energy/predict", { method: "POST", body: { model: m.name, version: m.version, device: d.device_type } });
        const p = a.prediction;
        // The prior has no interval it could stand behind (its bounds equal the estimate).
        const interval = p.coverage ? `${fmt(p.energy_lower_mwh, 4)} – ${fmt(p.energy_upper_mwh, 4)}` : "–";
        out.push([`${m.name} v${m.version}`, num(p.energy_mwh, 4), interval, p.category || "–", p.source || "–"]);
      } catch (e) {
        out.push([`${m.name} v${m.version}`, "–", "–", "–", explain(e)]);
      }
    }
    rows(table, out, "No models registered.");
  }

  async function loadDeployments() {
    const data = await api("/v1/deployments?limit=20");
    rows(
      $("#deployments-table"),
      (data.deployments || []).map((x) => [
        when(x.created_at), x.device_id, `${x.model} v${x.version}`,
        x.message ? el("span", { title: x.message }, x.state) : x.state,
        num(x.predicted_energy_mwh, 4), num(x.energy_budget_mwh, 4),
      ]),
      "No deployments yet.",
    );
  }

  async function load() {
    await loadDevices();
    const models = await loadModels();
    await Promise.all([loadEnergy(models), loadDeployments()]);
  }

  async function deploy(ev) {
    ev.preventDefault();
    const device = $("#deploy-device").value;
    const [model, version] = $("#deploy-model").value.split("/");
    const budget = parseFloat($("#deploy-budget").value);
    if (!device || !model || !(budget >= 0)) return;
    say(document.createTextNode(`Deploying ${model} v${version} to ${device}…`));
    try {
      const a = await api("/v1/deployments", {
        method: "POST",
        body: { device_id: device, model, version: Number(version), energy_budget_mwh: budget },
      });
      const dep = a.deployment || a;
      say(document.createTextNode(`Deployed ${model} v${version} to ${device}: ${dep.state || "pending"}, predicted ${fmt(dep.predicted_energy_mwh, 4)} mWh within ${fmt(budget, 4)} mWh.`));
    } catch (e) {
      const p = e.body && e.body.prediction;
      if (e.code === "over_budget" && p) {
        say(
          el("span", {}, `Refused: over budget. Predicted ${fmt(p.predicted_energy_mwh, 4)} mWh per inference`,
            p.confidence_interval_lower !== null && p.confidence_interval_lower !== undefined
              ? ` (90 % interval ${fmt(p.confidence_interval_lower, 4)} – ${fmt(p.confidence_interval_upper, 4)})` : "",
            ` on ${p.device_type}, over the budget of ${fmt(p.energy_budget_mwh, 4)} mWh.`),
          false,
        );
      } else {
        say(document.createTextNode(`Refused: ${explain(e)}`), false);
      }
    }
    await loadDeployments();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#deploy-form").addEventListener("submit", deploy);
    $("#deploy-device").addEventListener("change", () => loadModels().then(loadEnergy));
  });

  Dash.tab("deployment", { show: load });
  Dash.devices = loadDevices;
})();
