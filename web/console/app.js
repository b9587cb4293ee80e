// The control console (视频管理系统): sign-in, then panels for the overview, live streams, the
// library, access, edges and routing, and the config. It uses only the control port's API
// (`/console/*` for the session, `/admin/*` for everything else: the same API scripts use with
// the bearer token), sends its CSRF token with every change, builds the page from DOM nodes
// (values are text, never markup) and takes every string it shows from the catalogue.
"use strict";
(async function () {
  const $ = (id) => document.getElementById(id);
  const body = document.body;
  /** Between two polls of the open panel (ms). */
  const POLL_MS = 2000;
  /** Points kept per chart (5 minutes at one poll every 2 s). */
  const HISTORY = 150;
  /** Bytes per upload request: the control port reads at most 1 MiB of a body. */
  const UPLOAD_CHUNK = 1024 * 1024;
  /** Tries of one chunk before an upload stops (the next try resumes it). */
  const UPLOAD_TRIES = 6;
  /** A token minted for copied URLs lasts a day. */
  const URL_TOKEN_SECONDS = 86400;

  let i18n = await MeridianI18n.load(
    "/console/i18n",
    MeridianI18n.pickLanguage(),
  );
  const t = (k, p) => i18n.t(k, p);
  let me = null;
  let tab = "overview";
  let timer = 0;

  // --- DOM ---------------------------------------------------------------------------------
  /** An element: attrs (`class`, `text`, `data`, `raw`, `on*`, others as attributes), children. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = String(v);
      else if (k === "data") Object.assign(el.dataset, v);
      else if (k === "raw") el.setAttribute("translate", "no");
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  /** Data shown as it is (names, URLs, codecs): never translated. */
  const raw = (v, cls) => h("span", { raw: true, class: cls, text: v });
  const cell = (...c) => h("td", {}, ...c);
  const rawCell = (v) => h("td", { raw: true, text: v });
  function table(el, heads, rows, emptyKey) {
    el.replaceChildren(
      h("thead", {}, h("tr", {}, heads.map((k) => h("th", { text: t(k) })))),
      h(
        "tbody",
        {},
        rows.length ? rows : h(
          "tr",
          {},
          h("td", {
            class: "empty",
            colspan: heads.length,
            text: t(emptyKey),
          }),
        ),
      ),
    );
  }
  /** Messages shown in elements, kept so a language switch shows them again in the new one. */
  const said = new Map();
  function say(el, key, params) {
    if (key === null) {
      said.delete(el);
      el.replaceChildren();
      return;
    }
    said.set(el, [key, params]);
    el.replaceChildren(i18n.fragment(key, params));
  }
  function toast(key, params) {
    const el = $("toast");
    el.replaceChildren(i18n.fragment(key, params));
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => (el.hidden = true), 4000);
  }
  const isAdmin = () => me && me.role === "admin";
  const act = (key, onclick, cls) =>
    h("button", {
      class: `small act ${cls || ""}`,
      text: t(key),
      disabled: !isAdmin(),
      onclick,
    });
  function copyButton(text) {
    return h("button", {
      class: "small",
      text: t("common.copy"),
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(text());
          toast("common.copied");
        } catch (_) {
          toast("common.copyFailed");
        }
      },
    });
  }
  const codecName = (c) =>
    ({ avc: "H.264", hevc: "H.265", av1: "AV1", aac: "AAC", mp3: "MP3" })[c] ||
    c || "";
  const lines = (text) =>
    text.split(/\r?\n/).map((s) => s.trim()).filter(Boolean);

  // --- the API -------------------------------------------------------------------------------
  async function api(method, path, payload, extra) {
    const headers = Object.assign({}, extra && extra.headers);
    if (method !== "GET" && me) headers["X-CSRF-Token"] = me.csrf;
    let bodyOut;
    if (payload instanceof Blob || payload instanceof Uint8Array) {
      bodyOut = payload;
    } else if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      bodyOut = JSON.stringify(payload);
    }
    const res = await fetch(path, {
      method,
      headers,
      body: bodyOut,
      credentials: "same-origin",
      cache: "no-store",
    });
    if (res.status === 401 && me) signedOut();
    const type = res.headers.get("Content-Type") || "";
    const data = res.status === 204
      ? null
      : type.includes("json")
      ? await res.json().catch(() => null)
      : type.startsWith("text/")
      ? await res.text()
      : null;
    return { status: res.status, ok: res.ok, data };
  }
  const errorText = (r) =>
    typeof r.data === "string"
      ? r.data
      : r.data && r.data.error
      ? r.data.error
      : String(r.status);

  // --- sign-in -------------------------------------------------------------------------------
  for (const r of document.querySelectorAll('input[name="mode"]')) {
    r.addEventListener("change", () => {
      const op = r.value === "operator" && r.checked;
      $("login-account-box").hidden = !op;
      $("login-token-box").hidden = op;
    });
  }
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const op = document.querySelector('input[name="mode"]:checked').value ===
      "operator";
    const payload = op
      ? { name: $("login-name").value, password: $("login-password").value }
      : { token: $("login-token").value.trim() };
    const r = await api("POST", "/console/login", payload);
    if (!r.ok) {
      say($("login-error"), r.status === 429 ? "login.locked" : "login.wrong");
      return;
    }
    $("login-token").value = "";
    $("login-password").value = "";
    say($("login-error"), null);
    signedIn(r.data);
  });
  $("logout").addEventListener("click", async () => {
    await api("POST", "/console/logout");
    signedOut();
  });
  function signedIn(session) {
    me = session;
    body.dataset.role = me.role;
    $("login").hidden = true;
    $("app").hidden = false;
    $("tabs").hidden = false;
    $("who").hidden = false;
    $("logout").hidden = false;
    $("who-name").textContent = me.name;
    $("who-role").textContent = t(`role.${me.role}`);
    show(location.hash.slice(1) || tab);
  }
  function signedOut() {
    me = null;
    clearInterval(timer);
    delete body.dataset.role;
    $("login").hidden = false;
    $("app").hidden = true;
    $("tabs").hidden = true;
    $("who").hidden = true;
    $("logout").hidden = true;
  }

  // --- panels --------------------------------------------------------------------------------
  const PANELS = ["overview", "live", "library", "access", "edges", "config"];
  for (const b of document.querySelectorAll("#tabs button")) {
    b.addEventListener("click", () => show(b.dataset.tab));
  }
  function show(name) {
    if (!PANELS.includes(name)) name = "overview";
    tab = name;
    if (location.hash !== `#${name}`) {
      history.replaceState(null, "", `#${name}`);
    }
    for (const p of PANELS) $(`panel-${p}`).hidden = p !== name;
    for (const b of document.querySelectorAll("#tabs button")) {
      b.classList.toggle("on", b.dataset.tab === name);
    }
    clearInterval(timer);
    poll(true);
    timer = setInterval(() => poll(false), POLL_MS);
  }
  let polling = false;
  async function poll(first) {
    if (!me || polling) return;
    polling = true;
    try {
      await loadOverview(); // always: the charts keep their history
      if (tab === "live") await loadLive();
      if (tab === "library" && (first || Date.now() - libraryAt > 10000)) {
        await loadLibrary();
      }
      if (tab === "access") await loadAccess(first);
      if (tab === "edges") await loadEdges();
      if (tab === "config" && first) await loadConfig();
      body.dataset.loaded = tab;
    } catch (e) {
      body.dataset.pollError = String(e);
    } finally {
      polling = false;
    }
  }

  // --- charts (uPlot) ----------------------------------------------------------------------
  const COLORS = [
    "#4cc2ff",
    "#5fd38d",
    "#f5c04a",
    "#ff6b6b",
    "#c792ea",
    "#ff9e64",
  ];
  const charts = new Map();
  /** A chart of `labels` series; `dataLabels`: the labels are data (stream names), not words. */
  function chartFor(el, labels, format, dataLabels) {
    const key = el.id;
    const old = charts.get(key);
    if (
      old && old.labels.join("\0") === labels.join("\0") &&
      old.lang === i18n.lang
    ) {
      return old;
    }
    if (old) old.plot.destroy();
    const axis = {
      stroke: "#8b98a5",
      grid: { stroke: "#26313c" },
      ticks: { stroke: "#26313c" },
    };
    const plot = new uPlot(
      {
        width: Math.max(200, el.clientWidth || 300),
        height: 160,
        series: [
          {
            label: t("chart.time"),
            value: (_, v) => (v ? i18n.time(v * 1000) : ""),
          },
          ...labels.map((l, i) => ({
            label: l,
            stroke: COLORS[i % COLORS.length],
            width: 2,
            value: (_, v) => (v === null || v === undefined ? "" : format(v)),
          })),
        ],
        axes: [
          {
            ...axis,
            values: (_, ticks) => ticks.map((v) => i18n.time(v * 1000)),
          },
          {
            ...axis,
            size: 70,
            values: (_, ticks) => ticks.map((v) => format(v)),
          },
        ],
        scales: { x: { time: true } },
        legend: { live: true },
      },
      [[], ...labels.map(() => [])],
      el,
    );
    if (dataLabels) {
      const rows = plot.root.querySelectorAll(".u-legend .u-series");
      rows.forEach((r, i) => {
        if (i > 0) r.setAttribute("translate", "no");
      });
    }
    const c = {
      plot,
      labels,
      lang: i18n.lang,
      data: [[], ...labels.map(() => [])],
    };
    charts.set(key, c);
    return c;
  }
  function pushPoint(c, values) {
    c.data[0].push(Date.now() / 1000);
    values.forEach((v, i) => c.data[i + 1].push(v));
    if (c.data[0].length > HISTORY) { for (const s of c.data) s.shift(); }
    c.plot.setData(c.data);
  }
  addEventListener("resize", () => {
    for (const c of charts.values()) {
      const w = c.plot.root.parentElement.clientWidth;
      if (w > 0) c.plot.setSize({ width: w, height: 160 });
    }
  });

  // --- overview --------------------------------------------------------------------------------
  let overview = null;
  async function loadOverview() {
    const r = await api("GET", "/admin/overview");
    if (!r.ok) return;
    overview = r.data;
    const v = overview.totals.viewers;
    pushPoint(
      chartFor($("chart-viewers"), [
        t("overview.viewersOriginFlv"),
        t("overview.viewersOriginRtmp"),
        t("overview.viewersEdge"),
      ], (n) => i18n.number(n)),
      [v.originFlv, v.originRtmp, v.edge],
    );
    pushPoint(
      chartFor(
        $("chart-egress"),
        [t("overview.egress")],
        (n) => i18n.bitrate(n),
      ),
      [overview.totals.egressBps],
    );
    pushPoint(
      chartFor(
        $("chart-dns"),
        [t("overview.dnsQps")],
        (n) => i18n.number(n, { maximumFractionDigits: 1 }),
      ),
      [overview.totals.dnsQps],
    );
    renderOverview();
  }
  function renderOverview() {
    if (!overview) return;
    const o = overview.totals;
    const kpi = (key, value, sub) =>
      h(
        "div",
        { class: "kpi", data: { kpi: key } },
        h("b", { raw: true, text: value }),
        h("span", { text: t(key) }),
        sub ? h("span", {}, " · ", sub) : null,
      );
    $("kpis").replaceChildren(
      kpi("overview.streams", i18n.number(o.streams)),
      kpi(
        "overview.viewers",
        i18n.number(
          o.viewers.originFlv + o.viewers.originRtmp + o.viewers.edge,
        ),
      ),
      kpi("overview.egress", i18n.bitrate(o.egressBps)),
      kpi(
        "overview.hitRatio",
        o.hitRatio === null ? "—" : i18n.percent(o.hitRatio),
      ),
      kpi(
        "overview.dnsQps",
        i18n.number(o.dnsQps, { maximumFractionDigits: 1 }),
      ),
      kpi("overview.nodesCount", i18n.number(o.nodes)),
    );
    table(
      $("nodes"),
      [
        "node.id",
        "node.roles",
        "node.version",
        "node.uptime",
        "node.ports",
        "node.state",
        "node.cpu",
        "node.rss",
      ],
      overview.nodes.map((n) =>
        h(
          "tr",
          { data: { node: n.id } },
          rawCell(n.id),
          cell(n.roles.map((r) => t(`role.${r}`)).join(" · ")),
          rawCell(n.version),
          cell(i18n.duration(n.uptimeSeconds)),
          h(
            "td",
            { class: "wrap" },
            Object.entries(n.endpoints).map(([k, u]) =>
              h("div", {}, raw(`${k} ${u}`))
            ),
          ),
          cell(
            h("span", {
              class: n.state === "up" ? "good" : "warn",
              text: t(`state.${n.state}`),
            }),
          ),
          rawCell(i18n.percent(n.cpu)),
          rawCell(i18n.bytes(n.rssBytes)),
        )
      ),
      "overview.noNodes",
    );
  }

  // --- live streams --------------------------------------------------------------------------
  let streams = [];
  let selected = null;
  const urlTokens = new Map(); // app → token minted for copied URLs
  async function loadLive() {
    const r = await api("GET", "/admin/streams");
    if (!r.ok) return;
    streams = r.data.streams;
    const keys = [...new Set(streams.map((s) => s.key))].slice(
      0,
      COLORS.length,
    );
    const c = chartFor($("chart-bitrate"), keys, (n) => i18n.bitrate(n), true);
    pushPoint(
      c,
      keys.map((k) => {
        const s = streams.find((x) => x.key === k);
        return s && s.bitrateBps !== null ? s.bitrateBps : null;
      }),
    );
    const first = c.data[1] || [];
    body.dataset.bitratePoints = String(first.filter((v) => v > 0).length);
    body.dataset.bitrateLast = String(first[first.length - 1] ?? "");
    renderLive();
    const rec = await api("GET", "/admin/recordings");
    renderRecordings(rec);
  }
  function renderLive() {
    table(
      $("streams"),
      [
        "live.stream",
        "live.origin",
        "live.publisher",
        "live.codecs",
        "live.resolution",
        "live.fps",
        "live.bitrate",
        "live.uptime",
        "live.viewers",
        "live.access",
        "live.actions",
      ],
      streams.map((s) => {
        const key = s.key;
        const vb = s.viewersByProtocol || {};
        return h(
          "tr",
          { data: { key }, class: selected === key ? "selected" : "" },
          rawCell(key),
          rawCell(s.originId),
          h(
            "td",
            { class: "wrap" },
            raw(s.publisher.address || "—"),
            h("br"),
            raw(s.publisher.software || "", "dim"),
          ),
          rawCell(
            [codecName(s.codecs.video), codecName(s.codecs.audio)].filter(
              Boolean,
            ).join(" + "),
          ),
          rawCell(s.video.width ? `${s.video.width}×${s.video.height}` : "—"),
          rawCell(s.video.fps ? i18n.number(s.video.fps) : "—"),
          h("td", {
            raw: true,
            data: { bitrate: String(s.bitrateBps ?? "") },
            text: s.bitrateBps === null ? "—" : i18n.bitrate(s.bitrateBps),
          }),
          cell(i18n.duration((Date.now() - Date.parse(s.startedAt)) / 1000)),
          h(
            "td",
            {
              class: "wrap",
              data: {
                edgeViewers: String(
                  Object.values(s.edgeViewers || {}).reduce((a, b) => a + b, 0),
                ),
              },
            },
            i18n.fragment("live.viewersBy", {
              total: s.viewers,
              flv: vb.flv || 0,
              rtmp: vb.rtmp || 0,
            }),
            ...Object.entries(s.edgeViewers || {}).map(([edge, n]) =>
              h("div", {}, i18n.fragment("live.edgeViewers", { edge, n }))
            ),
          ),
          cell(t(`access.${s.access}`)),
          h(
            "td",
            {},
            h("button", {
              class: "small details",
              text: t("live.details"),
              onclick: () => selectStream(key),
            }),
            " ",
            act("live.recordStart", () => record(s, "start"), "record-start"),
            " ",
            act("live.recordStop", () => record(s, "stop"), "record-stop"),
            " ",
            act("live.kick", () => kick(s), "danger kick"),
          ),
        );
      }),
      "live.none",
    );
    $("tiles").replaceChildren(...streams.map((s) => {
      const img = h("img", {
        alt: "",
        loading: "lazy",
        src: `/admin/snapshot/${encodeURI(s.key)}?t=${
          Math.floor(Date.now() / 10000)
        }`,
      });
      const tile = h(
        "div",
        { class: "tile", data: { key: s.key } },
        img,
        h("p", {}, raw(s.key)),
      );
      img.addEventListener(
        "error",
        () =>
          img.replaceWith(
            h("div", { class: "noimg", text: t("live.noSnapshot") }),
          ),
      );
      return tile;
    }));
    if (selected) renderDetail();
  }
  function renderRecordings(r) {
    if (r.status === 404) {
      say($("recordings-note"), "common.notAvailable");
      table(
        $("recordings"),
        ["live.stream", "live.recordingState", "live.recordingStart"],
        [],
        "live.noRecordings",
      );
      return;
    }
    say($("recordings-note"), null);
    const list = (r.data && r.data.recordings) || [];
    table(
      $("recordings"),
      ["live.stream", "live.recordingState", "live.recordingStart"],
      list.map((x) =>
        h(
          "tr",
          {},
          rawCell(x.key || `${x.app}/${x.stream}`),
          cell(
            x.recording || x.state === "recording"
              ? t("live.recording")
              : t("live.stopped"),
          ),
          cell(x.startedAt ? i18n.date(x.startedAt) : "—"),
        )
      ),
      "live.noRecordings",
    );
  }
  async function record(s, action) {
    const r = await api("POST", "/admin/recordings", {
      app: s.app,
      stream: s.name,
      action,
    });
    if (r.status === 404) toast("common.notAvailable");
    else if (!r.ok) toast("common.failed", { error: errorText(r) });
    else {toast(
        action === "start" ? "live.recordStarted" : "live.recordStopped",
        { stream: s.key },
      );}
  }
  async function kick(s) {
    if (!confirm(t("live.kickConfirm", { stream: s.key }))) return;
    const r = await api("POST", `/admin/streams/${encodeURI(s.key)}/kick`);
    if (r.status === 204) toast("live.kicked", { stream: s.key });
    else toast("common.failed", { error: errorText(r) });
    await loadLive();
  }
  async function urlToken(s) {
    if (!$("url-token").checked) return "";
    if (!urlTokens.has(s.app)) {
      const r = await api("POST", "/admin/tokens", {
        app: s.app,
        duration: URL_TOKEN_SECONDS,
      });
      if (!r.ok) return "";
      urlTokens.set(s.app, r.data.token.token);
    }
    return urlTokens.get(s.app);
  }
  function selectStream(key) {
    selected = key;
    const s = streams.find((x) => x.key === key);
    $("url-token").checked = !!s && s.access === "token";
    $("url-token").disabled = !isAdmin();
    renderLive();
    $("stream-detail").scrollIntoView({ block: "nearest" });
  }
  $("url-token").addEventListener("change", () => renderDetail());
  async function renderDetail() {
    const s = streams.find((x) => x.key === selected);
    $("stream-detail").hidden = !s;
    if (!s) return;
    $("detail-title").textContent = s.key;
    const tok = await urlToken(s);
    const q = (u, sep) => (tok ? `${u}${sep || "?"}token=${tok}` : u);
    const rows = [
      ["live.urlRtmp", q(s.urls.rtmp)],
      ["live.urlFlv", q(s.urls.flv)],
      ["live.urlHls", q(s.urls.hls)],
      ["live.urlPlay", q(s.urls.play)],
    ];
    if (s.urls.edge) {
      rows.push(["live.urlEdgeFlv", q(s.urls.edge.flv)], [
        "live.urlEdgeHls",
        q(s.urls.edge.hls),
      ], ["live.urlEdgePlay", q(s.urls.edge.play)]);
    }
    if (s.urls.dns) {
      rows.push(
        ["live.urlDnsFlv", q(s.urls.dns.flv)],
        ["live.urlDnsHls", q(s.urls.dns.hls)],
        ["live.urlDnsPlay", q(s.urls.dns.play)],
      );
    }
    if (s.urls.scheduler) {
      rows.push(["live.urlSchedulerFlv", q(s.urls.scheduler.flv)], [
        "live.urlSchedulerHls",
        q(s.urls.scheduler.hls),
      ]);
    }
    $("urls").replaceChildren(
      ...rows.map(([k, u]) =>
        h(
          "tr",
          { data: { url: k } },
          cell(t(k)),
          h("td", {}, h("code", { raw: true, text: u })),
          cell(copyButton(() => u)),
        )
      ),
    );
    const page = q(s.urls.edge ? s.urls.edge.play : s.urls.play);
    $("embed").value =
      `<iframe src="${page}" width="960" height="540" allow="autoplay; fullscreen" allowfullscreen></iframe>`;
    const iframe = $("preview");
    const src = q(s.urls.edge ? s.urls.edge.play : s.urls.play);
    if (iframe.getAttribute("src") !== src) iframe.src = src;
    iframe.hidden = false;
  }
  $("copy-embed").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("embed").value);
      toast("common.copied");
    } catch (_) {
      $("embed").select();
      toast("common.copyFailed");
    }
  });

  // --- the library -----------------------------------------------------------------------------
  let files = [];
  let libraryOrigin = null;
  let cwd = [];
  let libraryAt = 0;
  let openFile = null;
  const libQuery =
    () => (libraryOrigin
      ? `?origin=${encodeURIComponent(libraryOrigin.id)}`
      : "");
  const encPath = (p) => p.split("/").map(encodeURIComponent).join("/");
  async function loadLibrary() {
    libraryAt = Date.now();
    const o = await api("GET", "/admin/origins");
    const list = o.ok ? o.data.origins : [];
    $("origin-box").hidden = list.length < 2;
    const select = $("origin");
    select.replaceChildren(
      ...list.map((x) => h("option", { value: x.id, raw: true, text: x.id })),
    );
    if (!libraryOrigin || !list.some((x) => x.id === libraryOrigin.id)) {
      libraryOrigin = list[0] || null;
    }
    if (libraryOrigin) select.value = libraryOrigin.id;
    const r = await api("GET", `/admin/vod${libQuery()}`);
    files = r.ok ? r.data.files : [];
    body.dataset.libraryFiles = String(files.length);
    renderLibrary();
    await loadProgrammes();
  }
  $("origin").addEventListener("change", (e) => {
    api("GET", "/admin/origins").then((o) => {
      libraryOrigin = (o.data.origins || []).find((x) =>
        x.id === e.target.value
      ) || null;
      loadLibrary();
    });
  });
  function renderLibrary() {
    const prefix = cwd.length ? `${cwd.join("/")}/` : "";
    const folders = new Set();
    const here = [];
    for (const f of files) {
      if (!f.path.startsWith(prefix)) continue;
      const rest = f.path.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (slash >= 0) folders.add(rest.slice(0, slash));
      else here.push(f);
    }
    $("crumbs").replaceChildren(
      h("button", {
        text: t("library.root"),
        onclick: () => {
          cwd = [];
          renderLibrary();
        },
      }),
      ...cwd.map((
        seg,
        i,
      ) => [
        " / ",
        h("button", {
          raw: true,
          text: seg,
          onclick: () => {
            cwd = cwd.slice(0, i + 1);
            renderLibrary();
          },
        }),
      ]).flat(),
    );
    if (!$("upload-folder").matches(":focus")) {
      $("upload-folder").value = cwd.join("/");
    }
    table(
      $("files"),
      [
        "library.thumb",
        "library.name",
        "library.duration",
        "library.size",
        "library.media",
        "library.modified",
        "live.actions",
      ],
      [
        ...[...folders].sort().map((name) =>
          h(
            "tr",
            { data: { folder: name } },
            cell(""),
            h(
              "td",
              {},
              h(
                "button",
                {
                  class: "small",
                  onclick: () => {
                    cwd = [...cwd, name];
                    renderLibrary();
                  },
                },
                "📁 ",
                raw(name),
              ),
            ),
            cell(t("library.folderRow")),
            cell(""),
            cell(""),
            cell(""),
            cell(""),
          )
        ),
        ...here.map((f) => {
          const name = f.path.slice(prefix.length);
          const thumbAt = f.durationSeconds
            ? Math.min(10, f.durationSeconds / 3).toFixed(1)
            : "0";
          return h(
            "tr",
            {
              data: { path: f.path },
              class: openFile && openFile.path === f.path ? "selected" : "",
            },
            h(
              "td",
              {},
              f.error ? "" : h("img", {
                class: "thumb",
                alt: "",
                loading: "lazy",
                src: `/admin/vod/${encPath(f.path)}?thumb=${thumbAt}${
                  libQuery().replace("?", "&")
                }`,
              }),
            ),
            rawCell(name),
            cell(
              f.error
                ? h("span", { class: "bad", text: t("library.unreadable") })
                : i18n.clock(f.durationSeconds),
            ),
            rawCell(i18n.bytes(f.size)),
            rawCell(
              f.error ? "" : [
                f.video &&
                `${codecName(f.video.codec)} ${f.video.width || ""}×${
                  f.video.height || ""
                }`,
                f.audio && codecName(f.audio.codec),
              ].filter(Boolean).join(" + "),
            ),
            cell(i18n.date(f.mtime)),
            h(
              "td",
              {},
              h("button", {
                class: "small open",
                text: t("library.open"),
                disabled: !!f.error,
                onclick: () => openLibraryFile(f),
              }),
              " ",
              act("library.rename", () => renameFile(f), "rename"),
              " ",
              act("library.delete", () => deleteFile(f), "danger delete"),
            ),
          );
        }),
      ],
      "library.empty",
    );
  }
  async function renameFile(f) {
    const to = prompt(t("library.renamePrompt"), f.path);
    if (!to || to === f.path) return;
    const r = await api("POST", `/admin/vod/${encPath(f.path)}${libQuery()}`, {
      action: "move",
      to,
    });
    if (r.ok) toast("library.renamed", { from: f.path, to });
    else toast("common.failed", { error: errorText(r) });
    await loadLibrary();
  }
  async function deleteFile(f) {
    if (!confirm(t("library.deleteConfirm", { path: f.path }))) return;
    const r = await api("DELETE", `/admin/vod/${encPath(f.path)}${libQuery()}`);
    if (r.status === 204) toast("library.deleted", { path: f.path });
    else toast("common.failed", { error: errorText(r) });
    if (openFile && openFile.path === f.path) {
      openFile = null;
      $("file-detail").hidden = true;
    }
    await loadLibrary();
  }
  function openLibraryFile(f) {
    openFile = f;
    $("file-detail").hidden = false;
    $("file-title").textContent = f.path;
    const iframe = $("file-preview");
    const src = libraryOrigin ? `${libraryOrigin.httpUrl}/play${f.url}` : "";
    if (iframe.getAttribute("src") !== src) iframe.src = src;
    iframe.hidden = !src;
    const d = Math.max(0.1, f.durationSeconds || 0);
    for (const id of ["clip-start", "clip-end"]) $(id).max = String(d);
    $("clip-start").value = "0";
    $("clip-end").value = String(Math.min(d, 10));
    $("clip-name").value = `${f.path.replace(/\.[^./]+$/, "")}-clip`;
    $("clip-progress").hidden = true;
    say($("clip-status"), null);
    clipChanged();
    renderLibrary();
    $("file-detail").scrollIntoView({ block: "nearest" });
  }
  let clipThumbTimer = 0;
  function clipChanged() {
    if (!openFile) return;
    const a = Number($("clip-start").value);
    let b = Number($("clip-end").value);
    if (b <= a) {
      b = Math.min(Number($("clip-end").max), a + 1);
      $("clip-end").value = String(b);
    }
    $("clip-range").textContent = `${i18n.clock(a)} – ${i18n.clock(b)} (${
      i18n.duration(b - a)
    })`;
    clearTimeout(clipThumbTimer);
    clipThumbTimer = setTimeout(() => {
      const base = `/admin/vod/${encPath(openFile.path)}?${
        libQuery().slice(1)
      }${libQuery() ? "&" : ""}thumb=`;
      $("clip-thumb-start").src = `${base}${a.toFixed(1)}`;
      $("clip-thumb-end").src = `${base}${Math.max(0, b - 0.1).toFixed(1)}`;
    }, 250);
  }
  $("clip-start").addEventListener("input", clipChanged);
  $("clip-end").addEventListener("input", clipChanged);
  $("clip-go").addEventListener("click", async () => {
    if (!openFile) return;
    const r = await api("POST", `/admin/clips${libQuery()}`, {
      path: openFile.path,
      start: Number($("clip-start").value),
      end: Number($("clip-end").value),
      format: $("clip-format").value,
      name: $("clip-name").value || undefined,
    });
    if (r.status === 404) {
      say($("clip-status"), "library.clipNotAvailable");
      body.dataset.clip = "unavailable";
      return;
    }
    if (!r.ok) {
      say($("clip-status"), "common.failed", {
        error: errorText(r),
      });
      return;
    }
    const id = r.data.id;
    $("clip-progress").hidden = false;
    for (let i = 0; i < 1800; i++) {
      const s = await api("GET", `/admin/clips/${encodeURIComponent(id)}`);
      if (!s.ok) break;
      $("clip-progress").value = Number(s.data.percent) || 0;
      say($("clip-status"), `clip.${s.data.state}`, {
        percent: Math.round(s.data.percent || 0),
      });
      body.dataset.clip = s.data.state;
      if (s.data.state === "done" || s.data.state === "failed") break;
      await new Promise((res) => setTimeout(res, 1000));
    }
    await loadLibrary();
  });

  // Uploads: resumable, one chunk at a time, the server's count first.
  $("upload-files").addEventListener("change", () => {
    const names = [...$("upload-files").files].map((f) => f.name).join(", ");
    if (names) say($("upload-chosen"), "library.chosen", { names });
    else say($("upload-chosen"), null);
  });
  $("upload-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const folder = $("upload-folder").value.trim().replace(/^\/+|\/+$/g, "");
    for (const file of $("upload-files").files) {
      upload(file, folder ? `${folder}/${file.name}` : file.name);
    }
    $("upload-files").value = "";
    say($("upload-chosen"), null);
  });
  async function upload(file, path) {
    const bar = h("progress", { max: String(file.size), value: "0" });
    const state = h("span");
    say(state, "library.uploadWaiting");
    const li = h(
      "li",
      { data: { upload: path, state: "uploading" } },
      raw(path),
      bar,
      state,
    );
    $("uploads").append(li);
    const url = `/admin/vod/${encPath(path)}${libQuery()}`;
    const total = file.size;
    const show = (received) => {
      bar.value = received;
      say(state, "library.uploadProgress", {
        percent: Math.floor((received / Math.max(1, total)) * 100),
        done: i18n.bytes(received),
        total: i18n.bytes(total),
      });
    };
    const finish = (ok, key, params) => {
      li.dataset.state = ok ? "done" : "error";
      say(state, key, params);
    };
    if (total === 0) return finish(false, "library.uploadEmpty");
    let received = 0;
    let tries = 0;
    const ask = async () => {
      const r = await api("PUT", url, new Uint8Array(0), {
        headers: { "Content-Range": `bytes */${total}` },
      });
      if (!r.ok) throw r;
      return r.data.received;
    };
    try {
      received = await ask();
      show(received);
      while (received < total) {
        const end = Math.min(total, received + UPLOAD_CHUNK);
        let r;
        try {
          r = await api("PUT", url, file.slice(received, end), {
            headers: {
              "Content-Range": `bytes ${received}-${end - 1}/${total}`,
            },
          });
        } catch (_) {
          r = { status: 0, ok: false };
        }
        if (r.ok) {
          received = r.data.received;
          tries = 0;
          show(received);
          if (r.data.complete) break;
          continue;
        }
        if (
          (r.status === 0 || r.status === 409 || r.status >= 500) &&
          ++tries < UPLOAD_TRIES
        ) {
          await new Promise((res) => setTimeout(res, 500 * tries));
          received = await ask(); // what the server has decides where to go on
          show(received);
          continue;
        }
        throw r;
      }
      finish(true, "library.uploadDone");
      await loadLibrary();
    } catch (r) {
      finish(false, "common.failed", {
        error: r && r.status !== undefined ? errorText(r) : String(r),
      });
    }
  }
  async function loadProgrammes() {
    const live = await api("GET", "/admin/streams");
    const out = [];
    for (const s of (live.ok ? live.data.streams : []).slice(0, 20)) {
      const r = await api("GET", `/admin/programs/${encodeURI(s.key)}`);
      if (!r.ok || !r.data) continue;
      const p = r.data;
      const items = [];
      const name = (f) => String(f || "").split("/").pop();
      if (Array.isArray(p.programs)) {
        for (const x of p.programs) {
          items.push(
            i18n.fragment("library.programmeAt", {
              title: x.title || name(x.file),
              start: i18n.date(x.start),
              end: x.end ? i18n.date(x.end) : "",
            }),
          );
        }
      } else {
        if (p.now) {
          items.push(
            i18n.fragment("library.programmeNow", {
              title: name(p.now.file),
              start: i18n.time(p.now.startedAt),
              end: i18n.time(p.now.endsAt),
            }),
          );
        }
        if (p.next) {
          items.push(
            i18n.fragment("library.programmeNext", {
              title: name(p.next.file),
              start: i18n.time(p.next.startsAt),
            }),
          );
        }
        for (const x of p.schedule || []) {
          items.push(
            i18n.fragment("library.programmeSlot", {
              title: name(x.file),
              start: i18n.time(x.startsAt),
            }),
          );
        }
      }
      out.push(
        h(
          "div",
          { data: { programmes: s.key } },
          h("h3", {}, raw(s.key)),
          h("ul", {}, items.map((i) => h("li", {}, i))),
        ),
      );
    }
    $("programmes").replaceChildren(
      ...(out.length
        ? out
        : [h("p", { class: "dim", text: t("library.noProgrammes") })]),
    );
  }

  // --- access ----------------------------------------------------------------------------------
  let tokens = [];
  let appsConfig = null;
  async function loadAccess(first) {
    const r = await api("GET", "/admin/tokens");
    if (r.ok) tokens = r.data.tokens;
    if (first || !appsConfig) {
      const c = await api("GET", "/admin/config");
      appsConfig = c.ok ? c.data.config : null;
    }
    renderAccess();
  }
  function renderAccess() {
    const q = $("token-search").value.trim().toLowerCase();
    const shown = tokens.filter((x) =>
      !q || x.token.toLowerCase().includes(q) ||
      (x.app || "").toLowerCase().includes(q) ||
      t(`token.${x.state}`).toLowerCase().includes(q)
    );
    table(
      $("tokens"),
      [
        "token.value",
        "token.app",
        "token.state",
        "token.uses",
        "token.created",
        "token.expires",
        "live.actions",
      ],
      shown.map((x) =>
        h(
          "tr",
          { data: { token: x.token } },
          h(
            "td",
            {},
            h("code", { raw: true, text: x.token }),
            " ",
            isAdmin() ? copyButton(() => x.token) : null,
          ),
          cell(x.app === null ? t("access.appAny") : raw(x.app)),
          cell(
            h("span", {
              class: x.state === "active" ? "good" : "dim",
              text: t(`token.${x.state}`),
            }),
          ),
          rawCell(
            `${i18n.number(x.usesSpent)} / ${
              x.maxUses === 0 ? "∞" : i18n.number(x.maxUses)
            }`,
          ),
          cell(i18n.date(x.createdAt)),
          cell(i18n.date(x.expiresAt)),
          h(
            "td",
            {},
            act("access.revoke", () => revoke(x.token), "danger revoke"),
          ),
        )
      ),
      "access.noTokens",
    );
    const apps = [];
    if (appsConfig) {
      const o = appsConfig.origin;
      for (const a of o.apps) {
        apps.push({
          name: a.name,
          access: a.access,
          keys: a.publishKeys,
          streams: a.streams.length,
        });
      }
      apps.push({
        name: null,
        access: o.defaultApp.access,
        keys: o.defaultApp.publishKeys,
        streams: 0,
      });
    }
    const keysText = (
      k,
    ) => (Array.isArray(k) && k.length === 0
      ? t("access.keysNone")
      : t("access.keysSet"));
    table(
      $("apps"),
      ["token.app", "access.rule", "access.publishKeys", "access.streamKeys"],
      apps.map((a) =>
        h(
          "tr",
          { data: { app: a.name || "*" } },
          cell(a.name === null ? t("access.defaultApp") : raw(a.name)),
          cell(t(`access.${a.access}`)),
          cell(keysText(a.keys)),
          rawCell(i18n.number(a.streams)),
        )
      ),
      "access.noApps",
    );
    for (
      const el of [
        $("keys-app"),
        $("keys-list"),
        ...$("keys-form").querySelectorAll("button"),
        ...$("mint-form").querySelectorAll("button"),
      ]
    ) el.disabled = !isAdmin();
  }
  $("token-search").addEventListener("input", renderAccess);
  async function revoke(token) {
    if (!confirm(t("access.revokeConfirm"))) return;
    const r = await api("DELETE", `/admin/tokens/${encodeURIComponent(token)}`);
    if (r.status === 204) toast("access.revoked");
    else toast("common.failed", { error: errorText(r) });
    await loadAccess(false);
  }
  $("mint-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const payload = {
      duration: Number($("mint-duration").value),
      limit: Number($("mint-limit").value),
    };
    const app = $("mint-app").value.trim();
    if (app) payload.app = app;
    const r = await api("POST", "/admin/tokens", payload);
    if (!r.ok) {
      say($("mint-error"), "common.failed", { error: errorText(r) });
      $("mint-result").textContent = "";
      return;
    }
    say($("mint-error"), null);
    $("mint-result").textContent = r.data.token.token;
    await loadAccess(false);
  });
  $("keys-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const app = $("keys-app").value.trim();
    const r = await api(
      "PUT",
      `/admin/apps/${encodeURIComponent(app)}/publish-keys`,
      { keys: lines($("keys-list").value) },
    );
    if (r.ok) {
      say($("keys-result"), "access.keysSaved", {
        app,
        roles: (r.data.restarted || []).map((x) => t(`role.${x}`)).join(", ") ||
          "—",
      });
      $("keys-list").value = "";
      appsConfig = null;
      await loadAccess(true);
    } else {
      say($("keys-result"), "common.failed", {
        error: r.data && r.data.errors
          ? r.data.errors.map((e) => e.message).join("; ")
          : errorText(r),
      });
    }
  });

  // --- edges and routing -------------------------------------------------------------------
  let edges = { edges: [], drainedOffline: [] };
  let scheduler = null;
  async function loadEdges() {
    const r = await api("GET", "/admin/edges");
    if (r.ok) edges = r.data;
    scheduler = await api("GET", "/admin/scheduler");
    renderEdges();
  }
  function renderEdges() {
    table(
      $("edges"),
      [
        "edge.id",
        "edge.region",
        "edge.address",
        "edge.health",
        "edge.viewers",
        "edge.egress",
        "edge.hitRatio",
        "edge.drain",
        "live.actions",
      ],
      edges.edges.map((e) =>
        h(
          "tr",
          { data: { edge: e.id } },
          rawCell(e.id),
          rawCell(e.region || "—"),
          rawCell(e.baseUrl),
          cell(h("span", {
            class: e.health === "up"
              ? "good"
              : e.health === "down"
              ? "bad"
              : "dim",
            text: t(`health.${e.health}`),
          })),
          rawCell(i18n.number(e.load.viewers)),
          rawCell(i18n.bitrate(e.load.egressBitsPerSecond)),
          rawCell(i18n.percent(e.load.hitRatio)),
          cell(t(e.draining ? "edge.draining" : "edge.serving")),
          h(
            "td",
            {},
            act(
              e.draining ? "edge.undrainAction" : "edge.drainAction",
              () => drain(e),
              "drain",
            ),
          ),
        )
      ),
      "edges.none",
    );
    const s = scheduler;
    if (s && s.ok) {
      const f = s.data;
      const kpi = (key, value) =>
        h(
          "div",
          { class: "kpi" },
          h("b", { raw: true, text: value }),
          h("span", { text: t(key) }),
        );
      $("scheduler").replaceChildren(
        kpi(
          "scheduler.edgesUp",
          `${i18n.number(f.edgesUp)} / ${i18n.number(f.edges)}`,
        ),
        kpi(
          "scheduler.routed",
          i18n.number(f.routedPerSecond, { maximumFractionDigits: 1 }),
        ),
        kpi(
          "scheduler.dnsQps",
          f.dnsQps === null
            ? "—"
            : i18n.number(f.dnsQps, { maximumFractionDigits: 1 }),
        ),
        ...f.routes.map((r) =>
          h(
            "div",
            { class: "kpi" },
            h("b", { raw: true, text: i18n.percent(r.share) }),
            raw(r.label),
          )
        ),
      );
      $("scheduler-link").href = f.dashboardUrl;
      $("scheduler-link").hidden = false;
      say($("scheduler-note"), null);
    } else {
      $("scheduler").replaceChildren();
      $("scheduler-link").hidden = true;
      say(
        $("scheduler-note"),
        s && s.status === 404
          ? "common.notAvailable"
          : "edges.schedulerUnreachable",
      );
    }
    for (
      const b of document.querySelectorAll(
        "#purge-form button, #prefetch-form button",
      )
    ) b.disabled = !isAdmin();
  }
  async function drain(e) {
    const r = await api(
      e.draining ? "DELETE" : "POST",
      `/admin/edges/${encodeURIComponent(e.id)}/drain`,
    );
    if (!r.ok) toast("common.failed", { error: errorText(r) });
    await loadEdges();
  }
  $("purge-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await api("POST", "/admin/purge", {
      urls: lines($("purge-urls").value),
      prefixes: lines($("purge-prefixes").value),
      streams: lines($("purge-streams").value),
      all: $("purge-all").checked,
    });
    if (r.ok) {
      say($("purge-result"), "edges.purgeDone", {
        urls: r.data.urls,
        prefixes: r.data.prefixes,
        streams: r.data.streams,
      });
    } else say($("purge-result"), "common.failed", { error: errorText(r) });
    body.dataset.purge = r.ok ? "published" : "failed";
  });
  $("prefetch-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await api("POST", "/admin/prefetch", {
      urls: lines($("prefetch-urls").value),
    });
    if (r.ok) {
      say($("prefetch-result"), "edges.prefetchDone", { n: r.data.accepted });
    } else say($("prefetch-result"), "common.failed", { error: errorText(r) });
  });

  // --- config ----------------------------------------------------------------------------------
  let config = null;
  let editable = false;
  let section = "origin";
  const REDACTED = "[redacted]";
  const isPlain = (v) =>
    v !== null && typeof v === "object" && !Array.isArray(v);
  async function loadConfig() {
    const r = await api("GET", "/admin/config");
    if (!r.ok) {
      say($("config-mode"), "common.notAvailable");
      return;
    }
    config = r.data.config;
    editable = r.data.editable && isAdmin();
    renderConfig();
  }
  function renderConfig() {
    if (!config) return;
    say($("config-mode"), editable ? "config.editable" : "config.readOnly");
    const names = Object.keys(config).filter((k) => isPlain(config[k]));
    if (!names.includes(section)) section = names[0];
    $("sections").replaceChildren(
      ...names.map((n) =>
        h("button", {
          class: n === section ? "on" : "",
          data: { section: n },
          raw: true,
          text: n,
          onclick: () => {
            section = n;
            renderConfig();
          },
        })
      ),
    );
    const fields = [];
    const walk = (v, path) => {
      if (isPlain(v)) {
        for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
        return;
      }
      const key = path.join(".");
      let input;
      if (typeof v === "boolean") {
        input = h(
          "select",
          { data: { type: "boolean" } },
          h("option", { value: "true", text: t("config.true") }),
          h("option", { value: "false", text: t("config.false") }),
        );
        input.value = String(v);
      } else if (v === REDACTED) {
        input = h("input", {
          type: "password",
          autocomplete: "off",
          data: { type: "secret" },
          placeholder: t("config.secretUnchanged"),
        });
      } else if (typeof v === "number") {
        input = h("input", {
          inputmode: "decimal",
          data: { type: "number" },
          value: String(v),
          raw: true,
        });
      } else if (typeof v === "string") {
        input = h("input", { data: { type: "string" }, value: v, raw: true });
      } else {
        input = h("textarea", { data: { type: "json" }, rows: "3", raw: true });
        input.value = JSON.stringify(v, null, 1);
      }
      input.disabled = !editable;
      input.name = key;
      fields.push(
        h(
          "div",
          { class: "field", data: { key } },
          h("label", { class: "key", raw: true, text: key, for: `f-${key}` }),
          input,
          h("div", { class: "err", role: "alert" }),
        ),
      );
      input.id = `f-${key}`;
    };
    walk(config[section], [section]);
    $("config-form").replaceChildren(...fields);
    $("config-apply").disabled = !editable;
    $("config-reset").disabled = !editable;
  }
  function readSection() {
    const out = {};
    const problems = [];
    for (const f of $("config-form").querySelectorAll(".field")) {
      const key = f.dataset.key;
      const input = f.querySelector("input, select, textarea");
      let v;
      switch (input.dataset.type) {
        case "boolean":
          v = input.value === "true";
          break;
        case "secret":
          v = input.value === "" ? REDACTED : input.value;
          break;
        case "number":
          v = input.value.trim() !== "" && Number.isFinite(Number(input.value))
            ? Number(input.value)
            : input.value;
          break;
        case "json":
          try {
            v = JSON.parse(input.value);
          } catch (_) {
            problems.push({ key, message: t("config.notJson") });
            continue;
          }
          break;
        default:
          v = input.value;
      }
      const path = key.split(".").slice(1);
      let node = out;
      for (const seg of path.slice(0, -1)) node = node[seg] = node[seg] || {};
      node[path[path.length - 1]] = v;
    }
    return { value: out, problems };
  }
  function showErrors(errors) {
    const fields = [...$("config-form").querySelectorAll(".field")];
    for (const f of fields) {
      f.classList.remove("bad");
      f.querySelector(".err").textContent = "";
    }
    const rest = [];
    for (const e of errors) {
      // `origin.apps[0].name` belongs to the field `origin.apps`: the longest key it starts with.
      const normal = e.key.replace(/\[\d+\]/g, (m) => `.${m.slice(1, -1)}`);
      const f = fields.filter((x) =>
        normal === x.dataset.key || normal.startsWith(`${x.dataset.key}.`)
      ).sort((a, b) =>
        b.dataset.key.length - a.dataset.key.length
      )[0];
      if (f) {
        f.classList.add("bad");
        const err = f.querySelector(".err");
        err.replaceChildren(
          ...(err.childNodes.length ? [...err.childNodes, h("br")] : []),
          i18n.fragment("config.keyError", { message: e.message }),
        );
      } else rest.push(e.message);
    }
    return rest;
  }
  $("config-apply").addEventListener("click", async (ev) => {
    ev.preventDefault();
    const { value, problems } = readSection();
    if (problems.length) {
      showErrors(problems);
      say($("config-result"), "config.fixErrors");
      body.dataset.configResult = "invalid";
      return;
    }
    say($("config-result"), "config.applying");
    const r = await api(
      "PUT",
      `/admin/config/${encodeURIComponent(section)}`,
      value,
    );
    if (r.status === 400 && r.data && r.data.errors) {
      const rest = showErrors(r.data.errors);
      say($("config-result"), "config.rejected", {
        n: r.data.errors.length,
        rest: rest.join("; "),
      });
      body.dataset.configResult = "invalid";
      return;
    }
    if (!r.ok) {
      say($("config-result"), "common.failed", { error: errorText(r) });
      body.dataset.configResult = "failed";
      return;
    }
    showErrors([]);
    const roles = [...r.data.restarted, ...r.data.deferred].map((x) =>
      t(`role.${x}`)
    ).join(", ");
    say(
      $("config-result"),
      `${roles ? "config.applied" : "config.appliedNothing"}${
        r.data.persisted ? "Kept" : ""
      }`,
      { roles, flag: "--config" },
    );
    body.dataset.configResult = "applied";
    await loadConfig();
  });
  $("config-reset").addEventListener("click", (ev) => {
    ev.preventDefault();
    renderConfig();
    say($("config-result"), null);
  });

  // --- language ----------------------------------------------------------------------------
  function applyTexts() {
    i18n.apply(document);
    for (const [el, [key, params]] of said) {
      if (el.isConnected) el.replaceChildren(i18n.fragment(key, params));
      else said.delete(el);
    }
    document.title = t("console.pageTitle");
    body.dataset.lang = i18n.lang;
    if (me) {
      $("who-role").textContent = t(`role.${me.role}`);
      renderOverview();
      renderLive();
      renderLibrary();
      renderAccess();
      renderEdges();
      renderConfig();
    }
  }
  $("lang").addEventListener("click", async () => {
    const next = i18n.lang === "zh" ? "en" : "zh";
    MeridianI18n.remember(next);
    i18n = await MeridianI18n.load("/console/i18n", next);
    for (const c of charts.values()) c.plot.destroy();
    charts.clear();
    applyTexts();
    if (me) poll(false);
  });

  // --- start -------------------------------------------------------------------------------
  applyTexts();
  const s = await api("GET", "/console/session");
  if (s.ok) signedIn(s.data);
  else signedOut();
  body.dataset.ready = "1";
})();
