// The Gatehouse operator console: one page, no dependencies, no inline code (the page's
// Content-Security-Policy allows scripts and styles from the gateway only). Everything it shows comes
// from the admin API (/admin/...) and the audit API (/v1/audit/...) with the operator's credential.
// Text from upstreams (tool names, descriptions, diffs) is only ever set as text, never as markup.
"use strict";

const CREDENTIAL = "gatehouse.credential";
const PKCE = "gatehouse.pkce";
const state = { credential: sessionStorage.getItem(CREDENTIAL), me: null, timer: null, page: null };

// ---- small DOM helpers ----

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const SVG = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") el.setAttribute("class", v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function badge(text, kind) {
  return h("span", { class: "badge " + (kind || text) }, text);
}

function table(headers, rows, label) {
  return h("table", { "aria-label": label },
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows));
}

function page(title, ...children) {
  const root = document.getElementById("page");
  if (!state.me) return root; // an answer that arrived after signing out shows nothing
  root.replaceChildren(h("h1", {}, title), ...children.flat());
  return root;
}

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString();
}

function ms(micros) {
  return micros >= 1000 ? (micros / 1000).toFixed(1) + " ms" : micros + " µs";
}

function usd(x) {
  const n = Number(x || 0);
  return "$" + (n === 0 ? "0" : n < 0.01 ? n.toPrecision(2) : n.toFixed(2));
}

// ---- the APIs ----

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, options) {
  const opts = options || {};
  const headers = { Accept: "application/json" };
  if (state.credential) headers.Authorization = "Bearer " + state.credential;
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method: opts.method || (opts.body !== undefined ? "POST" : "GET"),
    headers,
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  if (!res.ok) {
    const err = body && body.error;
    const message = err ? (typeof err === "string" ? err : err.message) : res.status + " " + res.statusText;
    throw new ApiError(res.status, message);
  }
  return body;
}

function failure(e) {
  if (e instanceof ApiError && e.status === 401) {
    signOut("Your credential is no longer accepted: " + e.message);
    return h("p", {}, "");
  }
  return h("p", { class: "error", role: "alert" }, e.message || String(e));
}

// ---- sign-in ----

function base64url(bytes) {
  let bin = "";
  for (const b of new Uint8Array(bytes)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function redirectUri() {
  return location.origin + "/console/";
}

async function startOidc(info) {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const st = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state: st, issuer: info.issuer }));
  const url = new URL(info.authorization_endpoint);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", info.client_id);
  url.searchParams.set("redirect_uri", redirectUri());
  url.searchParams.set("scope", info.scope);
  url.searchParams.set("state", st);
  url.searchParams.set("code_challenge", challenge);
  url.searchParams.set("code_challenge_method", "S256");
  location.assign(url.toString());
}

async function finishOidc(params) {
  const saved = JSON.parse(sessionStorage.getItem(PKCE) || "null");
  sessionStorage.removeItem(PKCE);
  history.replaceState(null, "", "/console/");
  if (params.get("error")) {
    throw new Error("The identity provider refused the sign-in: " + params.get("error") + " " + (params.get("error_description") || ""));
  }
  if (!saved || saved.state !== params.get("state")) {
    throw new Error("The sign-in answer does not belong to a sign-in started here (state mismatch); sign in again.");
  }
  if (params.get("iss") && params.get("iss") !== saved.issuer) {
    throw new Error("The sign-in answer came from another issuer (" + params.get("iss") + "); sign in again.");
  }
  const token = await api("/console/oidc/token", {
    body: { code: params.get("code"), code_verifier: saved.verifier, redirect_uri: redirectUri() },
  });
  return token.access_token;
}

function showSignIn(message) {
  document.getElementById("nav").hidden = true;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("who").textContent = "";
  document.getElementById("page").replaceChildren();
  document.getElementById("sign-in").hidden = false;
  document.getElementById("sign-in-error").textContent = message || "";
  api("/console/oidc").then((info) => {
    const box = document.getElementById("oidc-sign-in");
    box.hidden = !info.enabled;
    if (info.enabled) {
      const button = document.getElementById("oidc-button");
      button.textContent = "Sign in with " + info.issuer;
      button.onclick = () => startOidc(info).catch((e) => showSignIn(e.message));
    } else if (info.error) {
      document.getElementById("sign-in-error").textContent = info.error;
    }
  }).catch(() => {});
}

function signOut(message) {
  state.credential = null;
  state.me = null;
  sessionStorage.removeItem(CREDENTIAL);
  stopTimer();
  showSignIn(message);
}

async function signIn(credential) {
  state.credential = credential;
  try {
    state.me = await api("/console/me");
  } catch (e) {
    state.credential = null;
    showSignIn(e instanceof ApiError && e.status === 401 ? "Not accepted: " + e.message : e.message);
    return;
  }
  if (!state.me.admin && !state.me.auditor) {
    state.credential = null;
    showSignIn("Signed in as " + state.me.principal + ", which has neither an admin nor an auditor role "
      + "(access.admin_roles, access.auditor_roles): the console has nothing to show it.");
    return;
  }
  sessionStorage.setItem(CREDENTIAL, credential);
  document.getElementById("sign-in").hidden = true;
  document.getElementById("sign-out").hidden = false;
  document.getElementById("who").textContent = state.me.principal + (state.me.admin ? " · admin" : " · auditor");
  const nav = document.getElementById("nav");
  nav.hidden = false;
  for (const a of nav.querySelectorAll("a")) {
    a.hidden = a.dataset.role === "admin" ? !state.me.admin : !state.me.auditor;
  }
  route();
}

// ---- routing ----

function stopTimer() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
}

function every(millis, fn) {
  stopTimer();
  state.timer = setInterval(() => fn().catch(() => {}), millis);
}

const PAGES = {
  upstreams: { role: "admin", render: upstreamsPage },
  catalog: { role: "admin", render: catalogPage },
  access: { role: "admin", render: accessPage },
  chains: { role: "auditor", render: chainsPage },
  chain: { role: "auditor", render: chainPage },
  spend: { role: "auditor", render: spendPage },
  config: { role: "admin", render: configPage },
};

function route() {
  if (!state.me) return;
  stopTimer();
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  let name = parts[0] || (state.me.admin ? "upstreams" : "chains");
  let arg = parts.slice(1).map(decodeURIComponent).join("/");
  if (name === "chains" && arg) name = "chain";
  const p = PAGES[name];
  if (!p || (p.role === "admin" && !state.me.admin) || (p.role === "auditor" && !state.me.auditor)) {
    page("Not here", h("p", {}, "This page does not exist or your credential may not see it."));
    return;
  }
  state.page = name;
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.dataset.page === (name === "chain" ? "chains" : name));
  }
  p.render(arg).catch((e) => page("Error", failure(e)));
  document.getElementById("main").focus({ preventScroll: true });
}

// ---- Upstreams ----

/** Who gave a user_consent upstream their consent, with a revoke button each (never a token). */
async function showConsents(name, box) {
  try {
    const c = await api("/admin/upstreams/" + encodeURIComponent(name) + "/consents");
    const rows = c.consents.map((x) => h("tr", { "data-consent": x.principal },
      h("td", {}, x.principal), h("td", {}, when(x.updated_at)),
      h("td", {}, h("button", { type: "button", class: "danger", "aria-label": "Revoke the consent of " + x.principal, onclick: async () => {
        try {
          await api("/admin/upstreams/" + encodeURIComponent(name) + "/consents?principal=" + encodeURIComponent(x.principal), { method: "DELETE" });
          await showConsents(name, box);
        } catch (e) {
          box.replaceChildren(failure(e));
        }
      } }, "Revoke"))));
    box.replaceChildren(h("div", { class: "card", id: "consents" }, h("h2", {}, "Users who consented toward " + name),
      rows.length ? table(["Principal", "Since", ""], rows, "Consents") : h("p", { class: "muted" }, "Nobody has consented yet.")));
  } catch (e) {
    box.replaceChildren(failure(e));
  }
}

async function upstreamsPage() {
  const holder = h("div", {});
  const consents = h("div", {});
  page("Upstreams", h("p", { class: "muted" }, "Live: refreshed every 3 seconds."), holder, consents);
  const render = async () => {
    const data = await api("/admin/upstreams");
    const rows = data.upstreams.map((u) => h("tr", { "data-upstream": u.name },
      h("td", {}, h("strong", {}, u.name)),
      h("td", {}, badge(u.state)),
      h("td", {}, u.transport),
      h("td", {}, u.protocol_version || ""),
      h("td", {}, String(u.tools)),
      h("td", {}, when(u.since)),
      h("td", { class: u.error ? "error" : "muted" }, u.error || (u.auth ? u.auth : "")),
      h("td", {}, h("button", { type: "button", class: "secondary", "aria-label": "Reconnect " + u.name,
        onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            await api("/admin/upstreams/" + encodeURIComponent(u.name) + "/reconnect", { method: "POST" });
            await render();
          } catch (e) {
            holder.replaceChildren(failure(e));
          }
        } }, "Reconnect"),
        (u.auth || "").startsWith("user_consent") ? [" ", h("button", { type: "button", class: "secondary", "aria-label": "Consents toward " + u.name,
          onclick: () => showConsents(u.name, consents) }, "Consents")] : null)));
    holder.replaceChildren(rows.length === 0
      ? h("p", {}, "No upstreams are configured (upstreams: in the config).")
      : table(["Name", "State", "Transport", "Revision", "Tools", "Since", "Last error / credentials", ""], rows, "Upstreams"));
  };
  await render();
  every(3000, render);
}

// ---- Catalog ----

async function catalogPage() {
  const [cat, integrity] = await Promise.all([api("/admin/catalog"), api("/admin/integrity")]);
  const withheld = Object.assign({}, integrity.withheld.tools || {}, integrity.withheld.prompts || {});
  const changed = {};
  for (const c of integrity.changes) changed[c.federated_name] = c;
  const findings = {};
  for (const f of integrity.findings) (findings[f.server + "/" + f.name] = findings[f.server + "/" + f.name] || []).push(f);
  const filter = h("input", { type: "search", id: "catalog-filter", placeholder: "Filter by name, server or description", "aria-label": "Filter the catalog" });
  const body = h("div", {});

  const policyCell = (e) => e.policies.length === 0
    ? (cat.policies_active ? badge("default deny", "deny") : badge("no policies: allowed", "allow"))
    : e.policies.map((p) => h("span", { class: "badge " + p.effect, title: p.detail + " — applies to " + p.who }, p.effect + " · " + p.rule));

  const integrityCell = (e, original) => {
    const out = [];
    if (withheld[e.name]) out.push(badge("withheld", "bad"));
    if (changed[e.name]) out.push(badge("changed, pending approval", "warn"));
    for (const f of findings[e.server + "/" + original] || []) out.push(h("span", { class: "badge warn", title: f.excerpt }, f.rule));
    return out.length ? out : badge("ok", "ok");
  };

  const render = () => {
    const q = filter.value.toLowerCase();
    const match = (e) => !q || (e.name + " " + e.server + " " + (e.description || "")).toLowerCase().includes(q);
    const rows = (list, kind) => list.filter(match).map((e) => h("tr", { "data-name": e.name },
      h("td", {}, h("strong", {}, e.name), h("div", { class: "muted" }, kind)),
      h("td", {}, e.server),
      h("td", { class: "desc" }, (e.description || "").slice(0, 300)),
      h("td", {}, policyCell(e)),
      h("td", {}, integrityCell(e, e.original_name || e.original_uri || e.name))));
    const all = rows(cat.tools, "tool").concat(rows(cat.prompts, "prompt"), rows(cat.resources, "resource"));
    body.replaceChildren(all.length ? table(["Name", "Server", "Description", "Policies", "Integrity"], all, "Catalog")
      : h("p", {}, "Nothing matches."));
  };
  filter.addEventListener("input", render);
  render();

  const pending = integrity.changes.map((c) => h("div", { class: "card", "data-change": c.federated_name },
    h("h2", {}, c.kind + " " + c.federated_name + " changed"),
    h("p", { class: "muted" }, "since " + when(c.since) + (c.withheld ? " · withheld until approved" : " · served (warn mode)")),
    h("pre", {}, c.diff.map((line) => h("div", { class: line.startsWith("-") ? "diff-del" : line.startsWith("+") ? "diff-add" : "" }, line))),
    h("button", { type: "button", onclick: () => decide(c, "approve") }, "Approve"), " ",
    h("button", { type: "button", class: "danger", onclick: () => decide(c, "reject") }, "Reject")));

  page("Catalog",
    h("p", { class: "muted" }, cat.tools.length + " tools, " + cat.prompts.length + " prompts, " + cat.resources.length
      + " resources; " + integrity.fingerprints + " definitions fingerprinted."),
    h("h2", {}, "Changes waiting for a decision"),
    pending.length ? pending : h("p", { class: "muted", id: "no-pending" }, "None."),
    h("h2", {}, "Everything served"),
    h("div", { class: "toolbar" }, filter), body);
}

async function decide(change, decision) {
  try {
    await api("/admin/integrity/decisions", {
      body: { server: change.server, kind: change.kind, name: change.name, hash: change.hash, decision },
    });
    await catalogPage();
  } catch (e) {
    document.getElementById("page").prepend(failure(e));
  }
}

// ---- Access ----

function ruleRow(x) {
  const verdict = String(x.verdict);
  return h("tr", {},
    h("td", {}, x.rule_id || x.ruleId),
    h("td", {}, x.applies ? "yes" : "no"),
    h("td", {}, badge(verdict.toLowerCase(), verdict === "ALLOWS" ? "allow" : verdict === "DENIES" ? "deny" : "")),
    h("td", {}, x.why),
    h("td", {}, x.detail, (x.limits || []).map((l) => h("div", { class: "muted" }, l))));
}

async function accessPage() {
  const cat = await api("/admin/catalog").catch(() => ({ tools: [], prompts: [], resources: [] }));
  const list = h("datalist", { id: "targets" }, cat.tools.concat(cat.prompts).map((t) => h("option", { value: t.name })));
  const f = {
    subject: h("input", { id: "x-subject", value: "alice" }),
    groups: h("input", { id: "x-groups", placeholder: "engineering, finance" }),
    roles: h("input", { id: "x-roles" }),
    tenant: h("input", { id: "x-tenant" }),
    kind: h("select", { id: "x-kind" }, ["tool", "prompt", "resource", "model"].map((k) => h("option", { value: k }, k))),
    target: h("input", { id: "x-target", list: "targets", placeholder: "files__read_file", required: true }),
  };
  const out = h("div", { id: "explain-result", "aria-live": "polite" });
  const split = (v) => v.split(",").map((x) => x.trim()).filter(Boolean);
  const form = h("form", { class: "card", onsubmit: async (ev) => {
    ev.preventDefault();
    const principal = { subject: f.subject.value.trim(), groups: split(f.groups.value), roles: split(f.roles.value) };
    if (f.tenant.value.trim()) principal.tenant = f.tenant.value.trim();
    try {
      const r = await api("/admin/policy/explain", { body: { principal, action: { [f.kind.value]: f.target.value.trim() } } });
      out.replaceChildren(
        h("p", { class: "decision" }, badge(r.decision), " ", r.action, " — rule ", h("code", {}, r.rule)),
        h("p", {}, r.reason),
        table(["Rule", "Applies", "Verdict", "Why", "Detail"], r.rules.map(ruleRow), "Rules"));
    } catch (e) {
      out.replaceChildren(failure(e));
    }
  } },
  h("div", { class: "row" },
    h("div", {}, h("label", { for: "x-subject" }, "Subject"), f.subject),
    h("div", {}, h("label", { for: "x-groups" }, "Groups (comma-separated)"), f.groups),
    h("div", {}, h("label", { for: "x-roles" }, "Roles (comma-separated)"), f.roles),
    h("div", {}, h("label", { for: "x-tenant" }, "Tenant"), f.tenant)),
  h("div", { class: "row" },
    h("div", {}, h("label", { for: "x-kind" }, "Kind"), f.kind),
    h("div", {}, h("label", { for: "x-target" }, "Tool, prompt, resource (server+uri) or model"), f.target, list)),
  h("button", { type: "submit", id: "explain" }, "Explain"));
  page("Access", h("p", { class: "muted" }, "What a principal may use, and which rule decides: the policy engine's explanation, taking no rate-limit token."),
    form, out);
}

// ---- Chains ----

async function chainsPage() {
  const holder = h("div", {});
  page("Chains", h("p", { class: "muted" }, "The most recent steps grouped by chain, newest first. Live: refreshed every 3 seconds."), holder);
  const render = async () => {
    const data = await api("/v1/audit/steps?limit=300");
    const chains = new Map();
    for (const st of data.steps) {
      let c = chains.get(st.chain_id);
      if (!c) chains.set(st.chain_id, c = { id: st.chain_id, steps: 0, denied: 0, cost: 0, tokens: 0, subject: st.subject, last: st.started_at, kinds: new Set() });
      c.steps++;
      if (st.decision !== "allow") c.denied++;
      c.cost += Number(st.cost_usd || 0);
      c.tokens += st.tokens_in + st.tokens_out;
      c.kinds.add(st.kind);
    }
    const rows = [...chains.values()].map((c) => h("tr", { class: "clickable", tabindex: 0, "data-chain": c.id,
      onclick: () => { location.hash = "#/chains/" + encodeURIComponent(c.id); },
      onkeydown: (ev) => { if (ev.key === "Enter") location.hash = "#/chains/" + encodeURIComponent(c.id); } },
      h("td", {}, h("a", { href: "#/chains/" + encodeURIComponent(c.id) }, c.id)),
      h("td", {}, c.subject || "(unauthenticated)"),
      h("td", {}, when(c.last)),
      h("td", {}, String(c.steps), " ", [...c.kinds].map((k) => badge(k, ""))),
      h("td", {}, c.denied ? badge(c.denied + " refused", "deny") : badge("all allowed", "allow")),
      h("td", {}, c.tokens ? String(c.tokens) : ""),
      h("td", {}, c.cost ? usd(c.cost) : "")));
    holder.replaceChildren(rows.length ? table(["Chain", "Principal", "Latest step", "Steps", "Decisions", "Tokens", "Cost"], rows, "Chains")
      : h("p", {}, "No steps recorded yet."));
  };
  await render();
  every(3000, render);
}

async function chainPage(id) {
  const chain = await api("/v1/audit/chains/" + encodeURIComponent(id));
  const steps = chain.steps;
  const t0 = Math.min(...steps.map((x) => Date.parse(x.started_at) * 1000));
  const end = Math.max(...steps.map((x) => Date.parse(x.started_at) * 1000 + x.duration_micros));
  const span = Math.max(1, end - t0);
  const W = 1000, L = 300, R = 90, ROW = 28;
  const svg = s("svg", { class: "timeline", viewBox: "0 0 " + W + " " + (steps.length * ROW + 24), role: "img",
    "aria-label": "Timeline of " + steps.length + " steps" });
  const byId = {};
  steps.forEach((x, i) => { byId[x.step_id] = i; });
  steps.forEach((x, i) => {
    const y = i * ROW + 4;
    const start = Date.parse(x.started_at) * 1000 - t0;
    const bx = L + (start / span) * (W - L - R);
    const bw = Math.max(2, (x.duration_micros / span) * (W - L - R));
    const cls = x.decision !== "allow" ? "bar-denied" : x.kind === "llm" ? "bar-llm" : x.kind === "tool" ? "bar-tool" : "bar-other";
    svg.appendChild(s("rect", { class: "lane", x: 0, y, width: W, height: ROW - 4 }));
    const indent = x.parent_step_id && byId[x.parent_step_id] !== undefined ? "  ↳ " : "";
    svg.appendChild(s("text", { x: 6, y: y + 16 }, indent + x.kind + " " + x.action.slice(0, 36)));
    svg.appendChild(s("rect", { class: cls, x: bx, y: y + 4, width: bw, height: ROW - 12 }, s("title", {}, x.action + ": " + ms(x.duration_micros))));
    svg.appendChild(s("text", { x: Math.min(bx + bw + 4, W - R + 4), y: y + 16 }, ms(x.duration_micros)));
  });
  const verifyOut = h("div", { id: "verify-result", "aria-live": "polite" });
  const verify = h("button", { type: "button", id: "verify", onclick: async () => {
    verifyOut.replaceChildren(h("p", { class: "muted" }, "Verifying…"));
    try {
      const v = await api("/v1/audit/verify?chain=" + encodeURIComponent(id));
      verifyOut.replaceChildren(h("p", {}, badge(v.ok ? "verified" : "NOT verified", v.ok ? "ok" : "bad"), " ",
        v.chain.ok ? "Each of this chain's " + v.chain.steps + " steps matches its stored hash. "
          : "Altered steps: " + v.chain.altered_steps.join(", ") + ". ", v.message));
    } catch (e) {
      verifyOut.replaceChildren(failure(e));
    }
  } }, "Verify the hash chain");
  const cost = steps.reduce((a, x) => a + Number(x.cost_usd || 0), 0);
  const tokens = steps.reduce((a, x) => a + x.tokens_in + x.tokens_out, 0);
  const traceId = /^[0-9a-f]{32}$/.test(id) ? id : null;
  const rows = steps.map((x) => h("tr", { "data-step": x.step_id },
    h("td", {}, when(x.started_at)),
    h("td", {}, x.kind, h("div", { class: "muted" }, x.source)),
    h("td", {}, x.action, x.parent_step_id ? h("div", { class: "muted" }, "after " + x.parent_step_id) : null),
    h("td", {}, badge(x.decision), x.rule ? h("div", { class: "muted" }, "rule " + x.rule) : null, x.reason ? h("div", {}, x.reason) : null),
    h("td", {}, badge(x.outcome, x.outcome === "ok" ? "ok" : "bad")),
    h("td", {}, ms(x.duration_micros)),
    h("td", {}, x.tokens_in || x.tokens_out ? x.tokens_in + " → " + x.tokens_out : ""),
    h("td", {}, Number(x.cost_usd) ? usd(x.cost_usd) : "")));
  page("Chain " + id,
    h("p", {}, h("a", { href: "#/chains" }, "← all chains"), " · ", steps.length + " steps · " + tokens + " tokens · " + usd(cost),
      traceId ? [" · trace ", state.me.trace_url
        ? h("a", { id: "trace-id", href: state.me.trace_url.replace("{trace_id}", traceId), target: "_blank", rel: "noopener noreferrer" }, traceId)
        : h("code", { id: "trace-id" }, traceId)] : null),
    h("div", { class: "card" }, svg),
    h("div", {}, verify, verifyOut),
    table(["Started", "Kind", "Action", "Decision", "Outcome", "Latency", "Tokens", "Cost"], rows, "Steps"));
}

// ---- Spend and traffic ----

function barChart(label, days, series, format) {
  const W = 700, H = 220, L = 56, B = 28, T = 10;
  const max = Math.max(1e-9, ...days.map((d) => series.reduce((a, k) => a + Number(d[k] || 0), 0)));
  const svg = s("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": label });
  svg.appendChild(s("line", { class: "axis", x1: L, y1: H - B, x2: W, y2: H - B }));
  svg.appendChild(s("text", { x: 2, y: T + 10 }, format(max)));
  svg.appendChild(s("text", { x: 2, y: H - B }, format(0)));
  const bw = (W - L) / Math.max(1, days.length);
  days.forEach((d, i) => {
    let y = H - B;
    series.forEach((k, j) => {
      const v = Number(d[k] || 0);
      const hgt = (v / max) * (H - B - T);
      y -= hgt;
      svg.appendChild(s("rect", { class: "s" + j, x: L + i * bw + 2, y, width: Math.max(1, bw - 4), height: hgt }, s("title", {}, d.day + " " + k + ": " + format(v))));
    });
    if (days.length <= 14 || i % Math.ceil(days.length / 10) === 0) {
      svg.appendChild(s("text", { x: L + i * bw + 2, y: H - 8 }, d.day.slice(5)));
    }
  });
  return svg;
}

function lineChart(label, days, series) {
  const W = 700, H = 220, L = 56, B = 28, T = 10;
  const vals = days.flatMap((d) => series.map((k) => d[k]).filter((v) => v !== null && v !== undefined));
  const max = Math.max(0.001, ...vals);
  const svg = s("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": label });
  svg.appendChild(s("line", { class: "axis", x1: L, y1: H - B, x2: W, y2: H - B }));
  svg.appendChild(s("text", { x: 2, y: T + 10 }, max.toFixed(1) + " ms"));
  const step = (W - L - 10) / Math.max(1, days.length - 1);
  series.forEach((k, j) => {
    const pts = [];
    days.forEach((d, i) => {
      if (d[k] !== null && d[k] !== undefined) pts.push((L + i * step).toFixed(1) + "," + (H - B - (d[k] / max) * (H - B - T)).toFixed(1));
    });
    if (pts.length) svg.appendChild(s("polyline", { class: "l" + j, points: pts.join(" ") }));
    for (const p of pts) {
      const [cx, cy] = p.split(",");
      svg.appendChild(s("circle", { class: "p" + j, cx, cy, r: 4 }));
    }
  });
  days.forEach((d, i) => {
    if (days.length <= 14 || i % Math.ceil(days.length / 10) === 0) svg.appendChild(s("text", { x: L + i * step - 10, y: H - 8 }, d.day.slice(5)));
  });
  return svg;
}

function legend(names) {
  return h("div", { class: "legend" }, names.map((n, i) => h("span", { class: "k" + i }, n)));
}

async function spendPage(arg) {
  const days = Number(arg) || 7;
  const until = new Date();
  const since = new Date(until.getTime() - days * 86400000);
  const sum = await api("/v1/audit/summary?since=" + since.toISOString() + "&until=" + until.toISOString());
  const choose = h("select", { id: "window", "aria-label": "Window", onchange: (ev) => { location.hash = "#/spend/" + ev.target.value; } },
    [1, 7, 30, 90].map((d) => h("option", { value: d, selected: d === days }, "last " + d + (d === 1 ? " day" : " days"))));
  const t = sum.totals;
  const breakdown = (rows, key, title) => table([title, "Steps", "Refused", "Errors", "Tokens in", "Tokens out", "Cost"], rows.map((r) => h("tr", {},
    h("td", {}, r[key]), h("td", {}, String(r.steps)), h("td", {}, String(r.denied)), h("td", {}, String(r.errors)),
    h("td", {}, String(r.tokens_in)), h("td", {}, String(r.tokens_out)), h("td", {}, usd(r.cost_usd)))), title);
  page("Spend and traffic",
    h("div", { class: "toolbar" }, choose),
    h("p", {}, t.steps + " steps, " + t.denied + " refused, " + t.errors + " failed; " + t.tokens_in + " tokens in, " + t.tokens_out
      + " out; " + usd(t.cost_usd) + "; latency p50 " + (t.p50_ms ?? "–") + " ms, p99 " + (t.p99_ms ?? "–") + " ms."),
    h("div", { class: "row" },
      h("div", { class: "card" }, h("h2", {}, "Cost per day (USD)"), barChart("Cost per day", sum.days, ["cost_usd"], (v) => usd(v))),
      h("div", { class: "card" }, h("h2", {}, "Steps per day"), legend(["allowed", "refused", "failed"]),
        barChart("Steps per day", sum.days.map((d) => Object.assign({}, d, { ok: d.steps - d.denied - d.errors })), ["ok", "denied", "errors"], (v) => Math.round(v)))),
    h("div", { class: "row" },
      h("div", { class: "card" }, h("h2", {}, "Tokens per day"), legend(["in", "out"]), barChart("Tokens per day", sum.days, ["tokens_in", "tokens_out"], (v) => Math.round(v))),
      h("div", { class: "card" }, h("h2", {}, "Latency per day"), legend(["p50", "p99"]), lineChart("Latency per day", sum.days, ["p50_ms", "p99_ms"]))),
    h("h2", {}, "By principal"), breakdown(sum.principals, "principal", "Principal"),
    h("h2", {}, "By model"), breakdown(sum.models, "model", "Model"),
    h("h2", {}, "By tool"), breakdown(sum.tools, "tool", "Tool"));
}

// ---- Config ----

async function configPage() {
  const c = await api("/admin/config");
  const out = h("div", { id: "reload-result", "aria-live": "polite" });
  const reload = h("button", { type: "button", id: "reload", disabled: !c.file, onclick: async () => {
    try {
      const r = await api("/admin/config/reload", { method: "POST" });
      out.replaceChildren(h("p", {}, badge("applied", "ok"), " loaded at " + when(r.loaded_at)));
    } catch (e) {
      out.replaceChildren(failure(e));
    }
  } }, "Reload from the file");
  page("Config",
    h("p", {}, c.file ? ["File ", h("code", {}, c.file), ", loaded at " + when(c.loaded_at) + "."] : "Started on the embedded defaults, without a config file."),
    c.error ? h("p", { class: "error" }, "The file's last change was refused (the running config stays): " + c.error) : null,
    c.read_error ? h("p", { class: "error" }, c.read_error) : null,
    h("div", {}, reload, out),
    h("h2", {}, "Running config (secrets masked)"),
    h("pre", { id: "config-text" }, c.text));
}

// ---- start ----

document.getElementById("key-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = document.getElementById("api-key");
  const value = input.value.trim();
  input.value = "";
  signIn(value);
});
document.getElementById("sign-out").addEventListener("click", () => signOut("Signed out."));
window.addEventListener("hashchange", route);

(async () => {
  const params = new URLSearchParams(location.search);
  if (params.has("code") || params.has("error")) {
    try {
      await signIn(await finishOidc(params));
    } catch (e) {
      showSignIn(e.message);
    }
  } else if (state.credential) {
    await signIn(state.credential);
  } else {
    showSignIn();
  }
})();
