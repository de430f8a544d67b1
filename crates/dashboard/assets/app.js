// Infergate dashboard core: sign-in (the key lives in sessionStorage only), API calls with
// `Authorization: Bearer`, the tab list (arrow keys, Home/End, the URL fragment) and helpers the
// tab scripts use. Each tab script registers itself with Dash.tab(id, {show, hide}).
"use strict";

const Dash = (() => {
  const KEY = "infergate.apiKey";
  const tabs = {};
  let current = null;

  const $ = (sel, root = document) => root.querySelector(sel);
  const key = () => sessionStorage.getItem(KEY);

  // An element: el("td", {class: "num"}, "12"); children may be strings or nodes.
  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error) || `HTTP ${status}`);
      this.status = status;
      this.body = body;
      this.code = body && body.code;
    }
  }

  // Calls the API with the key; JSON in (objects) and out. Raw bodies (File, Blob) pass through.
  async function api(path, { method = "GET", body, headers = {}, raw = false } = {}) {
    const h = { ...headers };
    const k = key();
    if (k) h.Authorization = "Bearer " + k;
    let payload = body;
    if (body !== undefined && !(body instanceof Blob) && typeof body !== "string") {
      h["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const resp = await fetch(path, { method, headers: h, body: payload, cache: "no-store" });
    if (resp.status === 401 && k) {
      signOut("The key was refused (revoked or unknown): sign in again.");
      throw new ApiError(401, { error: "signed out" });
    }
    if (raw) {
      if (!resp.ok) throw new ApiError(resp.status, await resp.json().catch(() => null));
      return resp;
    }
    const text = await resp.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = { error: text };
    }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }

  // A blob: URL of something fetched with the key (an image or a chart); revoked on replace.
  async function blobUrl(path) {
    const resp = await api(path, { raw: true });
    return URL.createObjectURL(await resp.blob());
  }

  // Shows the SVG chart at `path` in the <img> `img` (alt says what it is).
  async function chart(img, path, alt) {
    const url = await blobUrl(path);
    const old = img.dataset.url;
    img.src = url;
    img.alt = alt;
    img.dataset.url = url;
    if (old) URL.revokeObjectURL(old);
  }

  // "Admin key needed" instead of an error when a client key meets an admin endpoint.
  function explain(err) {
    if (err.status === 403) return "This needs an admin key.";
    return err.message;
  }

  function fmt(v, digits = 2) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    if (typeof v !== "number") return String(v);
    if (Math.abs(v) >= 1000) return v.toLocaleString("en", { maximumFractionDigits: 0 });
    if (v !== 0 && Math.abs(v) < 10 ** -digits) return v.toPrecision(2); // tiny, not "0"
    return v.toLocaleString("en", { maximumFractionDigits: digits });
  }

  function when(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : d.toLocaleString("en-GB", { hour12: false });
  }

  // Fills a table's <tbody> with rows of cells (strings, numbers or nodes); `empty` if none.
  function rows(table, data, empty = "Nothing yet.") {
    const tbody = table.tBodies[0];
    tbody.replaceChildren();
    if (!data.length) {
      const n = table.tHead ? table.tHead.rows[0].cells.length : 1;
      tbody.append(el("tr", {}, el("td", { colspan: n, class: "muted" }, empty)));
      return;
    }
    for (const r of data) {
      tbody.append(el("tr", {}, r.map((c) => (c instanceof Node && c.tagName === "TD" ? c : el("td", {}, c)))));
    }
  }
  const num = (v, digits) => el("td", { class: "num" }, fmt(v, digits));

  function tab(id, handlers) {
    tabs[id] = handlers;
  }

  function select(id, focus = false) {
    const buttons = [...document.querySelectorAll('[role="tab"]')];
    if (!buttons.some((b) => b.dataset.tab === id)) id = buttons[0].dataset.tab;
    for (const b of buttons) {
      const on = b.dataset.tab === id;
      b.setAttribute("aria-selected", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
      document.getElementById(b.getAttribute("aria-controls")).hidden = !on;
      if (on && focus) b.focus();
    }
    if (current && current !== id && tabs[current] && tabs[current].hide) tabs[current].hide();
    current = id;
    if (location.hash !== "#" + id) history.replaceState(null, "", "#" + id);
    const t = tabs[id];
    if (t && t.show) {
      Promise.resolve(t.show()).catch((e) => console.warn(`${id}: ${e.message}`));
    }
  }

  function tabKeys(ev) {
    const buttons = [...document.querySelectorAll('[role="tab"]')];
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    let j = null;
    if (ev.key === "ArrowRight") j = (i + 1) % buttons.length;
    else if (ev.key === "ArrowLeft") j = (i - 1 + buttons.length) % buttons.length;
    else if (ev.key === "Home") j = 0;
    else if (ev.key === "End") j = buttons.length - 1;
    if (j === null) return;
    ev.preventDefault();
    select(buttons[j].dataset.tab, true);
  }

  function signOut(message = "") {
    sessionStorage.removeItem(KEY);
    if (current && tabs[current] && tabs[current].hide) tabs[current].hide();
    current = null;
    $("#app").hidden = true;
    $("#signin").hidden = false;
    $("#sign-out").hidden = true;
    $("#whoami").hidden = true;
    $("#signin-error").textContent = message;
    $("#api-key").focus();
  }

  // Checks the key (a client key may list models), then which role it has.
  async function enter() {
    await api("/v1/models");
    let role = "admin";
    try {
      await api("/v1/stats?window_s=60");
    } catch (e) {
      if (e.status === 403) role = "client";
      else throw e;
    }
    Dash.role = role;
    $("#signin").hidden = true;
    $("#app").hidden = false;
    $("#sign-out").hidden = false;
    $("#whoami").hidden = false;
    $("#whoami").textContent = `Signed in with ${role === "admin" ? "an admin" : "a client"} key.`;
    select(location.hash.slice(1) || "classify");
  }

  async function signIn(ev) {
    ev.preventDefault();
    const input = $("#api-key");
    const k = input.value.trim();
    if (!k) return;
    sessionStorage.setItem(KEY, k);
    input.value = "";
    $("#signin-error").textContent = "";
    try {
      await enter();
    } catch (e) {
      signOut(e.status === 401 ? "That key was refused." : `Could not sign in: ${e.message}`);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    // Tables that scroll sideways on a narrow screen: a named region reachable by keyboard.
    for (const w of document.querySelectorAll(".table-wrap")) {
      const caption = w.querySelector("caption");
      w.tabIndex = 0;
      w.setAttribute("role", "region");
      w.setAttribute("aria-label", caption ? caption.textContent : "table");
    }
    $("#signin-form").addEventListener("submit", signIn);
    $("#sign-out").addEventListener("click", () => signOut("Signed out."));
    $("#tabs").addEventListener("keydown", tabKeys);
    for (const b of document.querySelectorAll('[role="tab"]')) {
      b.addEventListener("click", () => select(b.dataset.tab));
    }
    window.addEventListener("hashchange", () => {
      if (key() && location.hash.slice(1) !== current) select(location.hash.slice(1));
    });
    if (key()) {
      enter().catch((e) => signOut(e.status === 401 ? "That key was refused." : `Could not sign in: ${e.message}`));
    } else {
      $("#api-key").focus();
    }
  });

  return { $, el, api, blobUrl, chart, explain, fmt, when, rows, num, tab, select, role: null, ApiError };
})();
