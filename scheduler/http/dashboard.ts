/**
 * The routing dashboard page: static HTML (dark theme, like the player and console pages) that
 * polls `/api/dashboard` every 2 s and renders the edges with their state timelines, an SVG
 * world map of which client regions route to which edges, and the DNS counters.
 *
 * No external assets: the map is an inline SVG (equirectangular, x = lon + 180, y = 90 − lat)
 * with a coarse land outline from `_world_outline.ts`; DB-IP's attribution is shown as its
 * CC BY 4.0 licence requires.
 *
 * @module
 */

import { DBIP_ATTRIBUTION_HTML } from "../../geo/mod.ts";
import { graticulePathD, LAND_PATH_D } from "./_world_outline.ts";

/** Latitudes the map shows (Antarctica and the high Arctic are cut off). */
const MAP_TOP_LAT = 80;
const MAP_BOTTOM_LAT = -60;
/** Milliseconds between polls of `/api/dashboard`. */
export const DASHBOARD_POLL_MS = 2000;

const MAP_VIEWBOX = `0 ${90 - MAP_TOP_LAT} 360 ${MAP_TOP_LAT - MAP_BOTTOM_LAT}`;

/** The page (no external assets; DB-IP attribution as CC BY 4.0 requires). */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Meridian — routing health</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<style>
:root{color-scheme:dark;--bg:#0f1419;--panel:#19212a;--line:#26313c;--fg:#e6edf3;--dim:#8b98a5;
--accent:#4cc2ff;--good:#5fd38d;--bad:#ff6b6b;--warn:#f5c04a;--unknown:#3a4652}
body{margin:0;font:15px/1.45 system-ui,sans-serif;background:var(--bg);color:var(--fg)}
header{padding:14px 20px;border-bottom:1px solid var(--line);display:flex;gap:12px;align-items:baseline}
header h1{font-size:18px;margin:0}header span{color:var(--dim)}.grow{flex:1}
main{padding:16px 20px;display:grid;gap:16px;grid-template-columns:minmax(0,2fr) minmax(0,1fr)}
@media (max-width:1000px){main{grid-template-columns:minmax(0,1fr)}}
section{background:var(--panel);border-radius:8px;padding:12px;overflow-x:auto}
section.wide{grid-column:1/-1}
section h2{font-size:15px;margin:0 0 8px}section h2 small{color:var(--dim);font-weight:normal}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
th{color:var(--dim);font-weight:normal}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr:hover td{background:#1e2832}td.empty{color:var(--dim)}
td.err{max-width:260px;overflow:hidden;text-overflow:ellipsis;color:var(--bad)}
.up{color:var(--good)}.down{color:var(--bad)}.draining{color:var(--warn)}.unknown{color:var(--dim)}
.dim,small{color:var(--dim)}a{color:var(--accent)}code,pre{color:var(--accent)}
pre{white-space:pre-wrap;margin:8px 0 0;font-size:13px}
.meter{display:inline-block;width:64px;height:8px;background:#0f1419;border-radius:4px;vertical-align:middle;margin-right:6px;overflow:hidden}
.meter i{display:block;height:100%;background:var(--accent)}.meter i.hot{background:var(--warn)}.meter i.over{background:var(--bad)}
.tl{display:flex;width:260px;height:12px;border-radius:3px;overflow:hidden;background:var(--unknown)}
.tl i{display:block;height:100%}.tl i.up{background:var(--good)}.tl i.down{background:var(--bad)}
.tl i.draining{background:var(--warn)}.tl i.unknown{background:var(--unknown)}
.tlaxis{display:flex;justify-content:space-between;width:260px;font-size:11px;color:var(--dim)}
#map{width:100%;height:auto;display:block;background:#0c1116;border-radius:6px}
#map .land{fill:#1f2a35;stroke:#2c3a47;stroke-width:.3}
#map .grid{stroke:#1b252f;stroke-width:.3;fill:none}
#map .arc{fill:none;stroke:var(--accent);stroke-linecap:round;opacity:.75}
#map .client{fill:var(--accent);stroke:#0c1116;stroke-width:.4}
#map .edge{stroke:#0c1116;stroke-width:.6}#map .edge.up{fill:var(--good)}
#map .edge.down{fill:var(--bad)}#map .edge.draining{fill:var(--warn)}
#map text{font:4px system-ui,sans-serif;fill:var(--fg);paint-order:stroke;stroke:#0c1116;stroke-width:.8}
#map text.cc{fill:var(--accent);font-size:3.2px}
.legend{display:flex;gap:14px;font-size:12px;color:var(--dim);margin-top:6px;flex-wrap:wrap}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:4px;vertical-align:middle}
.kv{display:grid;grid-template-columns:auto 1fr;gap:4px 14px;font-size:14px}.kv b{font-weight:normal;color:var(--dim)}
.kv span{font-variant-numeric:tabular-nums}
#spark{width:100%;height:56px;display:block}#spark polyline{fill:none;stroke:var(--accent);stroke-width:1.5}
#spark polygon{fill:rgba(76,194,255,.12)}
.chips{display:flex;gap:6px;flex-wrap:wrap}.chips span{background:#0f1419;border:1px solid #33414f;border-radius:12px;padding:1px 8px;font-size:13px}
.bar{display:inline-block;height:8px;background:var(--accent);border-radius:2px;vertical-align:middle;margin-right:6px}
input{background:#0f1419;color:var(--fg);border:1px solid #33414f;border-radius:6px;padding:6px 8px;font:inherit}
button{background:#24303c;color:var(--fg);border:1px solid #33414f;border-radius:6px;padding:6px 12px;cursor:pointer;font:inherit}
#err{color:var(--bad)}footer{padding:0 20px 20px;color:var(--dim);font-size:12px}
</style></head><body>
<header><h1>Meridian</h1><span>scheduler · routing health</span><span class="grow"></span>
<span id="err"></span><span id="updated" class="dim">connecting…</span></header>
<main>
<section class="wide"><h2>Edges <small id="edges-summary"></small></h2>
<table><thead><tr><th>edge</th><th>region</th><th>address</th><th>state</th>
<th>timeline <small>(last 15 min)</small></th><th>load</th><th>hit ratio</th><th>capacity</th><th>last check</th></tr></thead>
<tbody id="edges"><tr><td colspan="9" class="empty">loading…</td></tr></tbody></table></section>

<section><h2>Routing map <small id="map-summary"></small></h2>
<svg id="map" viewBox="${MAP_VIEWBOX}" role="img" aria-label="World map: client regions and the edges they are routed to">
<path class="grid" d="${graticulePathD(MAP_TOP_LAT, MAP_BOTTOM_LAT)}"/>
<path class="land" d="${LAND_PATH_D}"/>
<g id="arcs"></g><g id="clients"></g><g id="edge-markers"></g></svg>
<div class="legend"><span><i class="dot" style="background:var(--good)"></i>edge up</span>
<span><i class="dot" style="background:var(--bad)"></i>down</span><span><i class="dot" style="background:var(--warn)"></i>draining</span>
<span><i class="dot" style="background:var(--accent)"></i>client region (line width = share of answers)</span></div></section>

<section><h2>Client region → edge <small id="routes-summary"></small></h2>
<table><thead><tr><th>region</th><th>edge</th><th class="num">answers</th><th>share</th></tr></thead>
<tbody id="routes"></tbody></table></section>

<section><h2>Answers by carrier <small id="carriers-summary"></small></h2>
<table><thead><tr><th>carrier</th><th class="num">answers</th><th class="num">on-net</th><th>on-net share</th></tr></thead>
<tbody id="carriers"></tbody></table></section>

<section><h2>DNS <small id="qps"></small></h2>
<svg id="spark" viewBox="0 0 300 50" preserveAspectRatio="none" aria-label="Answers per second, last 5 minutes"><polygon points=""/><polyline points=""/></svg>
<div class="tlaxis" style="width:auto"><span>−5 min</span><span id="spark-max"></span><span>now</span></div>
<div class="kv" id="dns"></div></section>

<section><h2>Responses</h2><div class="chips" id="rcodes"></div>
<h2 style="margin-top:14px">ECS scope histogram</h2><table><tbody id="scopes"></tbody></table></section>

<section class="wide"><h2>Explain</h2>
<form id="ex"><input name="q" placeholder="IP or subnet, e.g. 81.2.69.0/24" size="30"> <button>explain</button></form>
<pre id="exout"></pre></section>
</main>
<footer>${DBIP_ATTRIBUTION_HTML}. Data refreshes every ${
  DASHBOARD_POLL_MS / 1000
} s from <a href="/api/dashboard">/api/dashboard</a>.</footer>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
const pct = (x, digits) => (x * 100).toFixed(digits ?? 0) + "%";
const X = (lon) => lon + 180, Y = (lat) => 90 - lat;
const f1 = (n) => Math.round(n * 10) / 10;
const hhmmss = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
let polls = 0;

function timeline(e, span) {
  const total = Math.max(1, span.toMs - span.fromMs);
  return "<div class=tl title='" + esc(e.timeline.map((s) => s.state + " " + hhmmss(s.fromMs) + "–" + hhmmss(s.toMs)).join("\\n")) + "'>" +
    e.timeline.map((s) => "<i class=" + s.state + " style='width:" + ((s.toMs - s.fromMs) / total * 100).toFixed(2) + "%'></i>").join("") + "</div>";
}

function meter(x) {
  const cls = x > 1 ? "over" : x > 0.8 ? "hot" : "";
  return "<span class=meter><i class='" + cls + "' style='width:" + Math.round(Math.min(1, x) * 100) + "%'></i></span>" + pct(x);
}

function renderEdges(d) {
  const counts = { up: 0, down: 0, draining: 0 };
  $("edges").innerHTML = d.edges.map((e) => {
    counts[e.state]++;
    return "<tr data-edge='" + esc(e.id) + "' data-state=" + e.state + "><td>" + esc(e.id) + "</td><td>" + esc(e.region || "–") +
      "</td><td>" + esc([e.address, e.address6].filter(Boolean).join(" ")) + "</td><td class=" + e.state + ">" + e.state +
      "</td><td>" + timeline(e, d.timeline) + "</td><td>" + meter(e.load) + "</td><td class=num>" +
      (e.hitRatio === null ? "–" : pct(e.hitRatio, 1)) + "</td><td class=num>" + esc(e.capacity) +
      "</td>" + (e.lastError ? "<td class=err title='" + esc(e.healthTarget + ": " + e.lastError) + "'>" + esc(e.lastError) :
      "<td title='" + esc(e.healthTarget) + "'>" + esc(e.lastCheck ? hhmmss(Date.parse(e.lastCheck)) : "–")) + "</td></tr>";
  }).join("") || "<tr><td colspan=9 class=empty>no edges</td></tr>";
  $("edges-summary").textContent = counts.up + " up · " + counts.down + " down · " + counts.draining + " draining";
}

function renderMap(d) {
  const edges = new Map(d.edges.map((e) => [e.id, e]));
  const located = d.routing.routes.filter((r) => r.latitude !== null && edges.has(r.edgeId));
  const curve = (x1, y1, x2, y2) => {
    const dx = x2 - x1, dy = y2 - y1, len = Math.hypot(dx, dy);
    // Bow each line to the left of its direction so opposite flows do not overlap.
    const cx = (x1 + x2) / 2 + dy * 0.2, cy = (y1 + y2) / 2 - dx * 0.2 - len * 0.05;
    return "M" + f1(x1) + " " + f1(y1) + "Q" + f1(cx) + " " + f1(cy) + " " + f1(x2) + " " + f1(y2);
  };
  $("arcs").innerHTML = located.map((r) => {
    const e = edges.get(r.edgeId);
    const x1 = X(r.longitude), y1 = Y(r.latitude), x2 = X(e.longitude), y2 = Y(e.latitude);
    // The short way round: across the antimeridian when that is shorter, drawn from both
    // sides (the map clips what lies outside it).
    let d = curve(x1, y1, x2, y2);
    if (Math.abs(x2 - x1) > 180) {
      const shift = x2 < x1 ? 360 : -360;
      d = curve(x1, y1, x2 + shift, y2) + curve(x1 - shift, y1, x2, y2);
    }
    return "<path class=arc data-route='" + esc(r.region + ">" + r.edgeId) + "' stroke-width='" + f1(0.5 + r.share * 5) +
      "' d='" + d + "'><title>" + esc(r.region + " → " + r.edgeId + ": " + pct(r.share, 1)) + "</title></path>";
  }).join("");
  const regions = new Map();
  for (const r of located) {
    const g = regions.get(r.region) ?? { r, share: 0 };
    g.share += r.share;
    regions.set(r.region, g);
  }
  $("clients").innerHTML = [...regions.values()].map(({ r, share }) =>
    "<circle class=client data-region='" + esc(r.region) + "' cx=" + f1(X(r.longitude)) + " cy=" + f1(Y(r.latitude)) +
    " r=" + f1(1.2 + share * 3) + "><title>" + esc(r.region + ": " + pct(share, 1) + " of answers") + "</title></circle>" +
    "<text class=cc x=" + f1(X(r.longitude) + 2.2) + " y=" + f1(Y(r.latitude) + 3.8) + ">" + esc(r.region) + "</text>").join("");
  $("edge-markers").innerHTML = d.edges.map((e) =>
    "<circle class='edge " + e.state + "' data-edge='" + esc(e.id) + "' cx=" + f1(X(e.longitude)) + " cy=" + f1(Y(e.latitude)) +
    " r=2.6><title>" + esc(e.id + " (" + (e.region || "no region") + "): " + e.state + ", load " + pct(e.load)) + "</title></circle>" +
    "<text x=" + f1(X(e.longitude) + 3.2) + " y=" + f1(Y(e.latitude) - 2) + ">" + esc(e.id) + "</text>").join("");
  const w = d.routing.windowSeconds;
  $("map-summary").textContent = d.routing.queries + " routed answers in the last " + (w < 120 ? w + " s" : Math.round(w / 60) + " min");
}

function renderRoutes(d) {
  const rows = d.routing.routes.slice(0, 40);
  $("routes").innerHTML = rows.map((r) =>
    "<tr data-route='" + esc(r.region + ">" + r.edgeId) + "'><td>" + esc(r.region === "??" ? "unknown" : r.region) +
    (r.continent ? " <small>" + r.continent + "</small>" : "") + "</td><td>" + esc(r.edgeId) + "</td><td class=num>" + r.queries +
    "</td><td><span class=bar style='width:" + Math.round(r.share * 80) + "px'></span>" + pct(r.share, 1) + "</td></tr>").join("") ||
    "<tr><td colspan=4 class=empty>no steered answers in the window yet</td></tr>";
  const more = d.routing.routes.length - rows.length;
  $("routes-summary").textContent = more > 0 ? "(top 40 of " + d.routing.routes.length + ")" : "";
}

function renderCarriers(d) {
  const rows = d.routing.carriers;
  $("carriers").innerHTML = rows.map((c) =>
    "<tr data-carrier='" + esc(c.carrier) + "'><td>" + esc(c.carrier) + "</td><td class=num>" + c.queries +
    "</td><td class=num>" + c.onNet + "</td><td><span class=bar style='width:" + Math.round(c.onNetShare * 80) + "px'></span>" +
    pct(c.onNetShare, 1) + "</td></tr>").join("") ||
    "<tr><td colspan=4 class=empty>no answers placed by carrier (isp_match) in the window</td></tr>";
  $("carriers-summary").textContent = d.routing.carrierQueries
    ? pct(d.routing.onNetShare, 1) + " on-net of " + d.routing.carrierQueries
    : "";
}

function renderDns(d) {
  const s = d.dns;
  const h = s.rateHistory, max = Math.max(1, ...h), n = h.length;
  const pts = h.map((v, i) => f1(i / Math.max(1, n - 1) * 300) + "," + f1(48 - v / max * 44)).join(" ");
  $("spark").querySelector("polyline").setAttribute("points", pts);
  $("spark").querySelector("polygon").setAttribute("points", "0,50 " + pts + " 300,50");
  $("spark-max").textContent = "peak " + Math.max(0, ...h) + "/s";
  $("qps").textContent = s.queriesPerSecond + " queries/s";
  const kv = [["queries", s.total, "dns-total"], ["queries/s (10 s)", s.queriesPerSecond, "dns-qps"], ["ECS share", pct(s.ecsShare, 1), "dns-ecs"],
    ["UDP / TCP", s.transports.udp + " / " + s.transports.tcp, "dns-transports"], ["RRL dropped / slipped", s.rrl.dropped + " / " + s.rrl.slipped, "dns-rrl"],
    ["answer templates", d.cachedTemplates, "dns-templates"]];
  $("dns").innerHTML = kv.map(([k, v, id]) => "<b>" + esc(k) + "</b><span id=" + id + ">" + esc(v) + "</span>").join("");
  $("rcodes").innerHTML = Object.entries(s.rcodes).map(([k, v]) => "<span data-rcode=" + esc(k) + ">" + esc(k) + " " + v + "</span>").join("") ||
    "<span class=dim>no responses yet</span>";
  const scopes = Object.entries(s.scopeHistogram), smax = Math.max(1, ...scopes.map(([, v]) => v));
  $("scopes").innerHTML = scopes.map(([k, v]) => "<tr><th>" + esc(k) + "</th><td><span class=bar style='width:" + Math.round(v / smax * 160) +
    "px'></span>" + v + "</td></tr>").join("") || "<tr><td class=empty>no ECS queries yet</td></tr>";
}

async function tick() {
  try {
    const r = await fetch("/api/dashboard", { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    const d = await r.json();
    renderEdges(d); renderMap(d); renderRoutes(d); renderCarriers(d); renderDns(d);
    $("err").textContent = "";
    $("updated").textContent = "updated " + hhmmss(d.generatedAtMs);
    document.body.dataset.polls = String(++polls);
  } catch (e) { $("err").textContent = "poll failed: " + e.message; }
}
$("ex").onsubmit = async (ev) => {
  ev.preventDefault();
  const q = String(new FormData(ev.target).get("q")).trim();
  const key = q.includes("/") ? "subnet" : "ip";
  const j = await (await fetch("/api/explain?" + key + "=" + encodeURIComponent(q))).json();
  $("exout").textContent = j.steps ? j.steps.join("\\n") : JSON.stringify(j, null, 2);
};
tick(); setInterval(tick, ${DASHBOARD_POLL_MS});
</script></body></html>`;
