/**
 * The routing dashboard page: static HTML that polls `/api/dashboard` every 2 s.
 *
 * @module
 */

import { DBIP_ATTRIBUTION_HTML } from "../../geo/mod.ts";

/** The page (no external assets; DB-IP attribution as CC BY 4.0 requires). */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Meridian routing</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#1b1f24;background:#fafafa}
h1{font-size:1.3rem}h2{font-size:1.05rem;margin-top:1.5rem}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:left}
.up{color:#137333;font-weight:600}.down{color:#b3261e;font-weight:600}.draining{color:#b06000;font-weight:600}
.bar{display:inline-block;height:.8rem;background:#4a78c2;vertical-align:middle}
footer{margin-top:2rem;color:#555;font-size:12px}#err{color:#b3261e}
</style></head><body>
<h1>Meridian scheduler: routing health</h1>
<div id="err"></div>
<h2>Edges</h2>
<table><thead><tr><th>edge</th><th>region</th><th>address</th><th>state</th><th>load</th><th>capacity</th><th>last check</th></tr></thead>
<tbody id="edges"></tbody></table>
<h2>DNS</h2>
<table><tbody id="dns"></tbody></table>
<h2>ECS scope histogram</h2>
<table><tbody id="scopes"></tbody></table>
<h2>Explain</h2>
<form id="ex"><input name="q" placeholder="IP or subnet, e.g. 81.2.69.0/24" size="30"> <button>explain</button></form>
<pre id="exout"></pre>
<footer>${DBIP_ATTRIBUTION_HTML}. Data refreshes every 2 s from <a href="/api/dashboard">/api/dashboard</a>.</footer>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
async function tick() {
  try {
    const d = await (await fetch("/api/dashboard")).json();
    document.getElementById("err").textContent = "";
    document.getElementById("edges").innerHTML = d.edges.map((e) =>
      "<tr><td>" + esc(e.id) + "</td><td>" + esc(e.region) + "</td><td>" + esc([e.address, e.address6].filter(Boolean).join(" ")) +
      "</td><td class=" + e.state + ">" + e.state + "</td><td><span class=bar style='width:" + Math.round(Math.min(1, e.load) * 80) +
      "px'></span> " + (e.load * 100).toFixed(0) + "%</td><td>" + e.capacity + "</td><td>" + esc(e.lastError || e.lastCheck || "") + "</td></tr>").join("");
    const s = d.dns;
    document.getElementById("dns").innerHTML = [["queries", s.total], ["queries/s", s.queriesPerSecond], ["ECS share", (s.ecsShare * 100).toFixed(1) + "%"],
      ["UDP / TCP", s.transports.udp + " / " + s.transports.tcp], ["RRL dropped / slipped", s.rrl.dropped + " / " + s.rrl.slipped],
      ...Object.entries(s.rcodes)].map(([k, v]) => "<tr><th>" + esc(k) + "</th><td>" + esc(v) + "</td></tr>").join("");
    const max = Math.max(1, ...Object.values(s.scopeHistogram));
    document.getElementById("scopes").innerHTML = Object.entries(s.scopeHistogram).map(([k, v]) =>
      "<tr><th>" + esc(k) + "</th><td><span class=bar style='width:" + Math.round(v / max * 200) + "px'></span> " + v + "</td></tr>").join("") || "<tr><td>no ECS queries yet</td></tr>";
  } catch (e) { document.getElementById("err").textContent = "poll failed: " + e; }
}
document.getElementById("ex").onsubmit = async (ev) => {
  ev.preventDefault();
  const q = new FormData(ev.target).get("q");
  const key = String(q).includes("/") ? "subnet" : "ip";
  const r = await fetch("/api/explain?" + key + "=" + encodeURIComponent(q));
  const j = await r.json();
  document.getElementById("exout").textContent = j.steps ? j.steps.join("\\n") : JSON.stringify(j, null, 2);
};
tick(); setInterval(tick, 2000);
</script></body></html>`;
