// keepa-pipeline's dashboard: polls the JSON endpoints of the program that
// served it (/api/summary, /api/balance, /api/deals, /api/locales) and
// draws them; no libraries, nothing from elsewhere. Text from the server
// only ever goes in as text (textContent), never as HTML.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const SUMMARY_EVERY_MS = 2000;
const BALANCE_EVERY_MS = 10000;
const DEALS_EVERY_MS = 5000;

const $ = (id) => document.getElementById(id);

const state = {
  query: { order: "roi", limit: 50, offset: 0 },
  total: 0,
  summary: null,
  balance: null,
};

// -- formatting ---------------------------------------------------------------

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
const moneyFormats = new Map();

function money(cents, currency) {
  if (cents === null || cents === undefined) return "\u2013";
  const code = currency || "USD";
  if (!moneyFormats.has(code)) {
    let f;
    try {
      f = new Intl.NumberFormat("en-US", { style: "currency", currency: code });
    } catch (e) {
      f = { format: (x) => x.toFixed(2) + " " + code };
    }
    moneyFormats.set(code, f);
  }
  return moneyFormats.get(code).format(cents / 100);
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "\u2013";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  const h = Math.floor(s / 3600);
  return h + " h " + Math.floor((s % 3600) / 60) + " min";
}

function ago(unixSeconds) {
  const d = Date.now() / 1000 - unixSeconds;
  if (d < 90) return "just now";
  if (d < 5400) return Math.round(d / 60) + " min ago";
  if (d < 172800) return Math.round(d / 3600) + " h ago";
  return Math.round(d / 86400) + " d ago";
}

function clock(unixSeconds) {
  const t = new Date(unixSeconds * 1000);
  return String(t.getHours()).padStart(2, "0") + ":" +
    String(t.getMinutes()).padStart(2, "0");
}

function el(tag, text, cls) {
  const x = document.createElement(tag);
  if (text !== undefined && text !== null) x.textContent = text;
  if (cls) x.className = cls;
  return x;
}

function svg(tag, attrs, text) {
  const x = document.createElementNS(SVG, tag);
  for (const k in attrs) x.setAttribute(k, attrs[k]);
  if (text !== undefined) x.textContent = text;
  return x;
}

// -- fetching -----------------------------------------------------------------

async function get(path) {
  const res = await fetch(path, { credentials: "same-origin", cache: "no-store" });
  if (res.status === 401) {
    throw new Error("not signed in: open the address keepa-pipeline printed at its start");
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || ("HTTP " + res.status));
  return body;
}

function live(ok, why) {
  const x = $("live");
  x.className = "live " + (ok ? "ok" : "down");
  x.textContent = ok ? "live, updated " + new Date().toLocaleTimeString("en-GB")
    : "no answer: " + why;
}

// Runs `f` now and then `every` ms after each run ends (never overlapping).
function poll(f, every) {
  const run = async () => {
    try {
      await f();
    } catch (e) {
      live(false, e.message);
    }
    setTimeout(run, every);
  };
  run();
}

// -- tokens -------------------------------------------------------------------

function renderToken(s) {
  const t = s.token;
  if (!t) {
    $("balance").textContent = "\u2013";
    $("token-mode").textContent = "TOKEN did not answer";
    return;
  }
  $("balance").textContent = integer.format(t.balance_tokens);
  const mode = $("token-mode");
  mode.textContent = t.mode;
  mode.className = "mode " + t.mode.split(" ")[0];
  const wait = $("token-wait");
  if (t.waits_for_balance_tokens !== null && t.queue.length > 0) {
    const head = t.queue[0];
    const at = new Date(s.at_unix_ms + t.wait_seconds * 1000);
    wait.textContent = "waits until the balance reaches " +
      integer.format(t.waits_for_balance_tokens) + " tokens, in " +
      duration(t.wait_seconds) + " (at " + at.toLocaleTimeString("en-GB") +
      "), for " + head.consumer + " (" + head.stage + ", " +
      integer.format(head.cost_tokens) + " tokens)" +
      (t.waiting_requests > 1 ? "; " + t.waiting_requests + " requests wait" : "");
  } else {
    wait.textContent = "nothing waits";
  }
  const facts = $("token-facts");
  facts.replaceChildren();
  const fact = (k, v) => { facts.append(el("dt", k), el("dd", v)); };
  fact("refill", integer.format(t.refill_tokens_per_minute) + " / min");
  fact("cap", integer.format(t.cap_tokens));
  fact("floor", integer.format(t.floor_tokens));
  fact("outstanding", integer.format(t.outstanding_tokens));
  fact("profile", t.profile || "\u2013");
  fact("next refill", duration(t.next_refill_seconds));
  fact("observed", duration(t.observation_age_seconds) + " ago");
}

// -- stages and spending --------------------------------------------------------

const STAGE_NAMES = {
  scanned: "scanned", pre_rejected: "pre-rejected", peeked: "peeked",
  committed: "committed", rejected: "rejected", updated: "updated",
};

function renderStages(s) {
  const body = $("stages").tBodies[0];
  body.replaceChildren();
  for (const x of s.stages) {
    const tr = el("tr");
    tr.append(el("td", STAGE_NAMES[x.name] || x.name), el("td", integer.format(x.count)),
      el("td", x.per_hour === null ? "\u2013" : decimal.format(x.per_hour)));
    body.append(tr);
  }
  const eta = s.eta;
  $("eta").textContent = eta === null
    ? "no --keepa.max-deals set, so no ETA"
    : eta.seconds !== null
      ? "ETA for " + integer.format(eta.max_deals) + " deals: " + duration(eta.seconds) +
        " (" + decimal.format(eta.deals_per_hour) + " deals/h, " + eta.limit + "-limited)"
      : "ETA for " + integer.format(eta.max_deals) + " deals: " + eta.why_none;
  const spent = $("spent");
  spent.replaceChildren();
  if (!s.token) return;
  const by = s.token.spent_tokens_by_stage;
  const rate = s.token.spent_tokens_per_hour_by_stage;
  const most = Math.max(1, ...Object.values(by));
  for (const name of Object.keys(by)) {
    const row = el("div", null, "bar");
    const track = el("div", null, "track");
    const fill = el("div", null, "fill");
    fill.style.width = (100 * by[name] / most).toFixed(1) + "%";
    track.append(fill);
    const value = integer.format(by[name]) +
      (rate[name] === null ? "" : " (" + integer.format(rate[name]) + "/h)");
    row.append(el("span", name), track, el("span", value, "value"));
    spent.append(row);
  }
  spent.append(el("p", "total " + integer.format(s.token.spent_tokens) + " tokens", "muted"));
}

// -- the balance chart ----------------------------------------------------------

function niceStep(range, ticks) {
  const raw = range / ticks;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

function renderChart() {
  const chart = $("chart");
  chart.replaceChildren();
  const b = state.balance;
  const s = state.summary;
  if (!b) return;
  const t = b.at_unix_seconds.slice();
  const bal = b.balance_tokens.slice();
  const cap = b.cap_tokens.slice();
  const floor = b.floor_tokens.slice();
  // The live balance as the newest point.
  if (s && s.token && (t.length === 0 || s.at_unix_ms / 1000 > t[t.length - 1])) {
    t.push(s.at_unix_ms / 1000);
    bal.push(s.token.balance_tokens);
    cap.push(s.token.cap_tokens);
    floor.push(s.token.floor_tokens);
  }
  const W = 800, H = 230, L = 62, R = 12, T = 18, B = 24;
  if (t.length < 2) {
    chart.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" },
      "waiting for balance samples (one every " + b.sample_every_seconds + " s)"));
    return;
  }
  const t0 = t[0], t1 = t[t.length - 1];
  const lo = Math.min(0, ...bal, ...floor);
  const hi = Math.max(1, ...bal, ...cap);
  const pad = (hi - lo) * 0.05;
  const y0 = lo - pad, y1 = hi + pad;
  const x = (v) => L + (W - L - R) * (v - t0) / Math.max(1, t1 - t0);
  const y = (v) => T + (H - T - B) * (1 - (v - y0) / (y1 - y0));
  $("chart-span").textContent = "last " + duration(t1 - t0) + ", " + b.at_unix_seconds.length +
    " samples, one per " + b.sample_every_seconds + " s at most, and now";
  // Grid and value labels.
  const step = niceStep(y1 - y0, 4);
  for (let v = Math.ceil(y0 / step) * step; v <= y1; v += step) {
    chart.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: v === 0 ? "zero" : "grid" }));
    chart.append(svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" },
      integer.format(Math.round(v) || 0)));
  }
  // Time labels.
  const tstep = Math.max(60, niceStep(t1 - t0, 6));
  for (let v = Math.ceil(t0 / tstep) * tstep; v <= t1; v += tstep) {
    chart.append(svg("text", { x: x(v), y: H - 6, "text-anchor": "middle" }, clock(v)));
  }
  // Cap and floor as steps (they change with the plan).
  const steps = (vs) => {
    let p = "";
    for (let i = 0; i < vs.length; ++i) {
      p += (i === 0 ? "M" : "L") + x(t[i]).toFixed(1) + "," + y(vs[i]).toFixed(1);
      if (i + 1 < vs.length) p += "L" + x(t[i + 1]).toFixed(1) + "," + y(vs[i]).toFixed(1);
    }
    return p;
  };
  chart.append(svg("path", { d: steps(cap), class: "cap", id: "cap-line" }));
  chart.append(svg("path", { d: steps(floor), class: "floor", id: "floor-line" }));
  // Labels inside the plot, right-aligned: above the cap, below the floor.
  chart.append(svg("text", { x: W - R - 4, y: y(cap[cap.length - 1]) - 5, "text-anchor": "end",
    class: "cap-label" }, "cap " + integer.format(cap[cap.length - 1])));
  chart.append(svg("text", { x: W - R - 4, y: y(floor[floor.length - 1]) + 14, "text-anchor": "end",
    class: "floor-label" }, "floor " + integer.format(floor[floor.length - 1])));
  const points = t.map((v, i) => x(v).toFixed(1) + "," + y(bal[i]).toFixed(1));
  chart.append(svg("polygon", {
    points: x(t0).toFixed(1) + "," + y(Math.max(y0, 0)).toFixed(1) + " " + points.join(" ") +
      " " + x(t1).toFixed(1) + "," + y(Math.max(y0, 0)).toFixed(1),
    class: "area",
  }));
  chart.append(svg("polyline", { points: points.join(" "), class: "balance", id: "balance-line" }));
}

// -- deals --------------------------------------------------------------------

function dealQuery() {
  const q = state.query;
  const p = new URLSearchParams();
  p.set("order", q.order);
  p.set("limit", q.limit);
  p.set("offset", q.offset);
  for (const k of ["min_roi_bp", "min_profit_cents", "max_rank", "seen_within_seconds", "domain"])
    if (q[k] !== undefined && q[k] !== "") p.set(k, q[k]);
  return "/api/deals?" + p.toString();
}

function link(href, text, cls) {
  const a = el("a", text, cls);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

function renderDeals(page) {
  state.total = page.total;
  const body = $("deals").tBodies[0];
  body.replaceChildren();
  for (const d of page.deals) {
    const tr = el("tr", null, "deal");
    tr.dataset.asin = d.asin;
    const title = el("td", null, "title text");
    title.title = d.title;
    if (d.amazon_url) title.append(link(d.amazon_url, d.title, "deal-title"));
    else title.append(el("span", d.title, "deal-title"));
    title.append(el("span", d.asin + (d.locale ? " \u00b7 " + d.locale : ""), "asin"));
    const profit = el("td", money(d.profit_cents, d.currency), d.profit_cents >= 0 ? "profit" : "loss");
    const seen = el("td", ago(d.last_seen_unix_seconds));
    seen.title = new Date(d.last_seen_unix_seconds * 1000).toISOString();
    const links = el("td", null, "links text");
    if (d.amazon_url) links.append(link(d.amazon_url, "Amazon", "amazon"));
    if (d.keepa_url) links.append(link(d.keepa_url, "Keepa", "keepa"));
    tr.append(title, el("td", money(d.buy_price_cents, d.currency)),
      el("td", money(d.sell_price_cents, d.currency)), profit,
      el("td", decimal.format(d.roi_percent) + " %"),
      el("td", d.sales_rank === null ? "\u2013" : integer.format(d.sales_rank)), seen, links);
    body.append(tr);
  }
  if (page.deals.length === 0) {
    const tr = el("tr");
    const td = el("td", page.total === 0 && page.offset === 0
      ? "no stored deal matches yet" : "no deals on this page", "muted text");
    td.colSpan = 8;
    tr.append(td);
    body.append(tr);
  }
  const from = page.deals.length ? page.offset + 1 : 0;
  $("page-info").textContent = integer.format(from) + "\u2013" +
    integer.format(page.offset + page.deals.length) + " of " + integer.format(page.total);
  $("deal-count").textContent = integer.format(page.total) + " matching";
  $("prev").disabled = page.offset === 0;
  $("next").disabled = page.offset + page.deals.length >= page.total;
  for (const th of document.querySelectorAll("#deals th[data-order]"))
    th.classList.toggle("sorted", th.dataset.order === page.order);
}

async function loadDeals() {
  try {
    const page = await get(dealQuery());
    $("deal-error").hidden = true;
    renderDeals(page);
  } catch (e) {
    const x = $("deal-error");
    x.textContent = e.message;
    x.hidden = false;
  }
}

function readFilters() {
  const f = $("filters").elements;
  const q = state.query;
  const num = (v, scale) => (v === "" || isNaN(Number(v)) ? "" : String(Math.round(Number(v) * scale)));
  q.order = f.order.value;
  q.min_roi_bp = num(f.min_roi.value, 100);
  q.min_profit_cents = num(f.min_profit.value, 100);
  q.max_rank = num(f.max_rank.value, 1);
  q.seen_within_seconds = f.seen.value;
  q.domain = f.domain.value;
  q.limit = Number(f.limit.value);
  q.offset = 0;
  loadDeals();
}

async function loadLocales() {
  const xs = await get("/api/locales");
  const select = $("filters").elements.domain;
  for (const l of xs.locales) {
    const o = el("option", l.code + " (" + l.currency + ")");
    o.value = l.code;
    select.append(o);
  }
}

// -- start --------------------------------------------------------------------

function start() {
  const form = $("filters");
  form.addEventListener("change", readFilters);
  form.addEventListener("submit", (e) => { e.preventDefault(); readFilters(); });
  for (const th of document.querySelectorAll("#deals th[data-order]")) {
    th.addEventListener("click", () => {
      form.elements.order.value = th.dataset.order;
      readFilters();
    });
  }
  $("prev").addEventListener("click", () => {
    state.query.offset = Math.max(0, state.query.offset - state.query.limit);
    loadDeals();
  });
  $("next").addEventListener("click", () => {
    if (state.query.offset + state.query.limit < state.total) {
      state.query.offset += state.query.limit;
      loadDeals();
    }
  });
  poll(loadDeals, DEALS_EVERY_MS);
  poll(async () => {
    state.summary = await get("/api/summary");
    renderToken(state.summary);
    renderStages(state.summary);
    renderChart();
    live(true);
  }, SUMMARY_EVERY_MS);
  poll(async () => {
    state.balance = await get("/api/balance");
    renderChart();
  }, BALANCE_EVERY_MS);
  loadLocales().catch(() => {});
}

start();
