// The player page (`/play/{app}/{stream}`, `/play/vod/{path}`), served by the origin and passed
// through by the edge. It picks the protocol per device (native HLS on Safari and iOS,
// mpegts.js for live HTTP-FLV where Media Source Extensions exist, hls.js elsewhere), with a
// switch; low-latency settings for live; a quality menu from an HLS master playlist; a scrub
// bar over the VOD file or the live (DVR) window with trick-play thumbnails; the programme
// list; VOD resume (browser storage, and `/api/resume` when the embedding site passes
// `?viewer=`); the `?token=` of the page's URL on every media request; a TV remote's arrow
// keys; live streams also over WebRTC (`?protocol=webrtc`: the browser's own RTCPeerConnection
// and a WHEP offer to `/{app}/{stream}/whep`, H.264 video only). Every string shown comes from
// the catalogue (web/i18n/*.json).
"use strict";
(async function () {
  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const video = $("video");
  const params = new URLSearchParams(location.search);
  const token = params.get("token");
  const viewer = params.get("viewer");
  const live = body.dataset.kind === "live";
  const app = body.dataset.app || "";
  const stream = body.dataset.stream || "";
  const encodedPath = body.dataset.path || "";
  const prefix = body.dataset.prefix || "/vod/";

  /** Seconds before the end within which a video counts as finished (no resume offered). */
  const RESUME_END_SECONDS = 10;
  /** Shortest position worth offering to resume from. */
  const RESUME_MIN_SECONDS = 5;
  /** How often the position is written: the browser's storage, and the server. */
  const SAVE_LOCAL_MS = 2000;
  const SAVE_SERVER_MS = 10000;
  /** A step of the arrow keys and of the remote's rewind and fast-forward keys (seconds). */
  const STEP_SECONDS = 10;
  const REMOTE_STEP_SECONDS = 30;
  /** Attempts to fetch the trick-play track while the origin makes it. */
  const TRICKPLAY_ATTEMPTS = 90;

  let i18n = await MeridianI18n.load(
    "/assets/i18n",
    MeridianI18n.pickLanguage(),
  );

  const withToken = (u) =>
    token
      ? `${u}${u.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`
      : u;
  const base = live
    ? `/${encodeURIComponent(app)}/${encodeURIComponent(stream)}`
    : `${prefix}${encodedPath}`;
  const urls = {
    hls: withToken(`${base}.m3u8`),
    native: withToken(`${base}.m3u8`),
    flv: withToken(`${base}.flv`),
    // LL-HLS (origin.llhls.apps): fMP4 parts with blocking reload, through hls.js.
    llhls: withToken(`${base}/ll.m3u8`),
    webrtc: withToken(`${base}/whep`),
  };
  const decodedPath = (() => {
    try {
      return decodeURIComponent(encodedPath);
    } catch (_) {
      return encodedPath;
    }
  })();
  const videoKey = `${prefix.slice(1)}${decodedPath}`;
  const title = live ? `${app}/${stream}` : decodedPath;

  // --- what this device can do ------------------------------------------------------------
  const nativeHls = video.canPlayType("application/vnd.apple.mpegurl") !== "";
  const hlsJs = !!(globalThis.Hls && Hls.isSupported());
  const flvJs =
    !!(globalThis.mpegts && mpegts.getFeatureList().mseLivePlayback);
  const ua = navigator.userAgent;
  const safari = /Safari\//.test(ua) &&
    !/Chrome|Chromium|CriOS|Android/.test(ua);
  const webrtcOk = live && typeof globalThis.RTCPeerConnection === "function";
  const available = {
    native: nativeHls,
    hls: hlsJs,
    flv: flvJs,
    llhls: live && hlsJs,
    webrtc: webrtcOk,
  };
  function defaultProtocol() {
    const asked = params.get("protocol");
    if (asked && available[asked]) return asked;
    if (nativeHls && (safari || !hlsJs)) return "native";
    if (live && flvJs) return "flv";
    if (hlsJs) return "hls";
    if (flvJs) return "flv";
    return nativeHls ? "native" : "hls";
  }

  // --- state -------------------------------------------------------------------------------
  let protocol = defaultProtocol();
  let engine = null; // { destroy() }
  let hls = null;
  let offset = 0; // VOD over HTTP-FLV restarts at ?start=: the file time of currentTime 0
  let vodDuration = 0;
  let statusKey = "player.loading";
  let statusParams = {};
  let cues = [];
  let programmes = null;
  let resumeAt = 0;
  let retryTimer = 0;

  function setStatus(key, p, machine) {
    statusKey = key;
    statusParams = p || {};
    $("status").replaceChildren(i18n.fragment(key, statusParams));
    body.dataset.status = machine || key;
  }

  // --- the engines ---------------------------------------------------------------------------
  function stop() {
    clearTimeout(retryTimer);
    if (engine) {
      try {
        engine.destroy();
      } catch (_) {
        // already torn down
      }
    }
    engine = null;
    hls = null;
    video.srcObject = null;
    video.removeAttribute("src");
    video.load();
  }

  function retryLater() {
    clearTimeout(retryTimer);
    const again = protocol;
    retryTimer = setTimeout(() => {
      if (again === protocol) load(currentTime());
    }, 1500);
  }

  /** Starts playing with the chosen protocol, at `startAt` seconds when given (VOD). */
  function load(startAt) {
    stop();
    for (const b of document.querySelectorAll(".proto")) {
      b.classList.toggle("on", b.dataset.proto === protocol);
    }
    const url = urls[protocol];
    $("url").textContent = new URL(url, location.href).href;
    setStatus("player.loading", { protocol: i18n.t(`proto.${protocol}`) });
    offset = 0;
    if ((protocol === "hls" || protocol === "llhls") && hlsJs) {
      hls = new Hls(
        live
          ? {
            lowLatencyMode: true,
            liveSyncDurationCount: 2,
            liveMaxLatencyDurationCount: 6,
            maxLiveSyncPlaybackRate: 1.5,
            backBufferLength: 120,
          }
          : { startPosition: startAt > 0 ? startAt : -1 },
      );
      const h = hls;
      h.on(Hls.Events.MANIFEST_PARSED, () => buildQualityMenu(h));
      h.on(Hls.Events.LEVEL_SWITCHED, () => markQuality(h));
      h.on(Hls.Events.ERROR, (_, d) => {
        if (!d.fatal) return;
        setStatus("player.error", { detail: d.details }, `error ${d.details}`);
        retryLater();
      });
      h.loadSource(url);
      h.attachMedia(video);
      engine = h;
    } else if (protocol === "flv" && flvJs) {
      let src = url;
      if (!live && startAt > 0) {
        offset = Math.floor(startAt);
        src = `${url}${url.includes("?") ? "&" : "?"}start=${offset}`;
      }
      const p = mpegts.createPlayer({ type: "flv", isLive: live, url: src }, {
        enableStashBuffer: !live,
        liveBufferLatencyChasing: live,
        liveBufferLatencyMaxLatency: 2,
        liveBufferLatencyMinRemain: 0.5,
        lazyLoad: false,
      });
      p.attachMediaElement(video);
      p.load();
      p.on(mpegts.Events.ERROR, (t, d) => {
        setStatus("player.error", { detail: `${t} ${d}` }, `error ${t}`);
        retryLater();
      });
      engine = p;
      $("quality-box").hidden = true;
    } else if (protocol === "webrtc" && webrtcOk) {
      engine = playWhep(url);
      $("quality-box").hidden = true;
      return;
    } else if (protocol === "native" && nativeHls) {
      video.src = url;
      if (!live && startAt > 0) {
        video.addEventListener("loadedmetadata", () => {
          video.currentTime = startAt;
        }, { once: true });
      }
      $("quality-box").hidden = true;
    } else {
      setStatus("player.unsupported", {
        protocol: i18n.t(`proto.${protocol}`),
      });
      return;
    }
    video.play().catch(() => {});
  }

  // --- WebRTC (WHEP) -----------------------------------------------------------------------
  /** Milliseconds ICE gathering may take before the offer goes out with what it has. */
  const WHEP_GATHER_MS = 2000;

  /**
   * Plays `url` over WHEP: a receive-only video transceiver, every candidate in the offer (the
   * origin takes no trickle), the answer from `201 Created`, `DELETE` of its Location when
   * the player stops. Decoded frames are counted in `data-webrtc-frames`.
   */
  function playWhep(url) {
    const pc = new RTCPeerConnection();
    let session = null;
    let stopped = false;
    let frames = 0;
    pc.addTransceiver("video", { direction: "recvonly" });
    // Audio: AAC streams come as Opus when the origin transcodes (origin.webrtc.opusAudio).
    pc.addTransceiver("audio", { direction: "recvonly" });
    const media = new MediaStream();
    pc.addEventListener("track", (e) => {
      media.addTrack(e.track);
      video.srcObject = media;
      video.play().catch(() => {});
    });
    const statsTimer = setInterval(async () => {
      if (stopped) return clearInterval(statsTimer);
      const stats = await pc.getStats().catch(() => null);
      stats?.forEach((r) => {
        if (r.type === "inbound-rtp" && r.kind === "audio") {
          body.dataset.webrtcAudioPackets = String(r.packetsReceived || 0);
        }
      });
    }, 1000);
    const countFrames = () => {
      if (stopped) return;
      frames++;
      body.dataset.webrtcFrames = String(frames);
      video.requestVideoFrameCallback(countFrames);
    };
    if (video.requestVideoFrameCallback) {
      video.requestVideoFrameCallback(countFrames);
    }
    pc.addEventListener("connectionstatechange", () => {
      body.dataset.webrtcState = pc.connectionState;
      if (pc.connectionState === "failed" && !stopped) {
        setStatus("player.error", { detail: "WebRTC failed" }, "error webrtc");
        retryLater();
      }
    });
    const gathered = () =>
      new Promise((resolve) => {
        if (pc.iceGatheringState === "complete") return resolve();
        const t = setTimeout(resolve, WHEP_GATHER_MS);
        pc.addEventListener("icegatheringstatechange", () => {
          if (pc.iceGatheringState === "complete") {
            clearTimeout(t);
            resolve();
          }
        });
      });
    (async () => {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered();
      const res = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/sdp" },
        body: pc.localDescription.sdp,
      });
      const answer = await res.text();
      if (stopped) return;
      if (res.status !== 201) {
        setStatus(
          "player.error",
          { detail: `${res.status} ${answer.trim().slice(0, 200)}` },
          `error ${res.status}`,
        );
        pc.close();
        if (res.status === 404 || res.status === 503) retryLater();
        return;
      }
      session = res.headers.get("Location");
      const note = res.headers.get("X-Meridian-Note");
      if (note) body.dataset.webrtcNote = note;
      await pc.setRemoteDescription({ type: "answer", sdp: answer });
    })().catch((err) => {
      if (stopped) return;
      setStatus("player.error", { detail: String(err) }, "error webrtc");
      retryLater();
    });
    return {
      destroy() {
        stopped = true;
        pc.close();
        if (session) {
          fetch(session, { method: "DELETE", keepalive: true }).catch(() => {});
        }
      },
    };
  }

  // --- quality (ABR) ---------------------------------------------------------------------
  function buildQualityMenu(h) {
    const select = $("quality");
    select.textContent = "";
    if (!h.levels || h.levels.length < 2) {
      $("quality-box").hidden = true;
      return;
    }
    const auto = document.createElement("option");
    auto.value = "-1";
    auto.textContent = i18n.t("player.qualityAuto");
    select.append(auto);
    h.levels.forEach((l, i) => {
      const o = document.createElement("option");
      o.value = String(i);
      o.textContent = l.height
        ? i18n.t("player.qualityLevel", {
          height: l.height,
          rate: i18n.bitrate(l.bitrate),
        })
        : i18n.bitrate(l.bitrate);
      select.append(o);
    });
    select.value = String(h.autoLevelEnabled ? -1 : h.currentLevel);
    $("quality-box").hidden = false;
    body.dataset.levels = String(h.levels.length);
  }
  function markQuality(h) {
    body.dataset.level = String(h.currentLevel);
  }
  $("quality").addEventListener("change", (e) => {
    if (hls) hls.currentLevel = Number(e.target.value);
  });

  // --- the timeline ------------------------------------------------------------------------
  function currentTime() {
    return offset + (video.currentTime || 0);
  }
  /** The seekable stretch: the file (VOD) or the live window (DVR). */
  function timeline() {
    if (!live) {
      const end = vodDuration ||
        (Number.isFinite(video.duration) ? video.duration : 0);
      return { start: 0, end, now: currentTime() };
    }
    const s = video.seekable;
    if (s && s.length) {
      return {
        start: s.start(0),
        end: s.end(s.length - 1),
        now: currentTime(),
      };
    }
    return { start: 0, end: 0, now: currentTime() };
  }
  function render() {
    const t = timeline();
    const span = Math.max(0.001, t.end - t.start);
    const at = Math.min(1, Math.max(0, (t.now - t.start) / span));
    $("scrub-fill").style.width = `${at * 100}%`;
    $("scrub-knob").style.left = `${at * 100}%`;
    const scrub = $("scrub");
    scrub.setAttribute("aria-valuemin", String(Math.floor(t.start)));
    scrub.setAttribute("aria-valuemax", String(Math.floor(t.end)));
    scrub.setAttribute("aria-valuenow", String(Math.floor(t.now)));
    if (live) {
      const behind = Math.max(0, t.end - t.now);
      $("time").textContent = behind > 4
        ? `-${i18n.clock(behind)}`
        : i18n.t("player.live");
      $("duration").textContent = "";
      $("golive").hidden = behind <= 4;
    } else {
      $("time").textContent = i18n.clock(t.now);
      $("duration").textContent = i18n.clock(t.end);
    }
    body.dataset.window = `${t.start.toFixed(1)}-${t.end.toFixed(1)}`;
    $("play").textContent = i18n.t(
      video.paused ? "player.play" : "player.pause",
    );
    $("mute").textContent = i18n.t(
      video.muted ? "player.unmute" : "player.mute",
    );
  }
  setInterval(render, 250);

  function seek(seconds) {
    const t = timeline();
    const to = Math.min(
      Math.max(t.start, seconds),
      Math.max(t.start, t.end - 0.5),
    );
    if (!live && protocol === "flv") return load(to); // the origin starts the file there
    video.currentTime = to - offset;
    body.dataset.seeked = to.toFixed(1);
  }
  function timeAtPointer(ev) {
    const r = $("scrub").getBoundingClientRect();
    const t = timeline();
    const at = Math.min(
      1,
      Math.max(0, (ev.clientX - r.left) / Math.max(1, r.width)),
    );
    return { time: t.start + at * (t.end - t.start), x: ev.clientX - r.left };
  }
  let dragging = false;
  const scrub = $("scrub");
  scrub.addEventListener("pointerdown", (ev) => {
    dragging = true;
    scrub.setPointerCapture(ev.pointerId);
    showThumb(timeAtPointer(ev));
  });
  scrub.addEventListener("pointermove", (ev) => showThumb(timeAtPointer(ev)));
  scrub.addEventListener("pointerup", (ev) => {
    if (!dragging) return;
    dragging = false;
    seek(timeAtPointer(ev).time);
    hideThumb();
  });
  scrub.addEventListener("pointerleave", () => {
    if (!dragging) hideThumb();
  });

  // --- trick-play thumbnails -------------------------------------------------------------
  function parseVtt(text, baseUrl) {
    const out = [];
    const re =
      /(\d+):(\d\d):(\d\d)\.(\d{3}) --> (\d+):(\d\d):(\d\d)\.(\d{3})\s*\n([^\n#]+)#xywh=(\d+),(\d+),(\d+),(\d+)/g;
    const sec = (h, m, s, ms) =>
      Number(h) * 3600 + Number(m) * 60 + Number(s) +
      Number(ms) / 1000;
    for (const m of text.matchAll(re)) {
      out.push({
        start: sec(m[1], m[2], m[3], m[4]),
        end: sec(m[5], m[6], m[7], m[8]),
        url: new URL(m[9].trim(), baseUrl).href,
        x: Number(m[10]),
        y: Number(m[11]),
        w: Number(m[12]),
        h: Number(m[13]),
      });
    }
    return out;
  }
  async function loadTrickPlay() {
    const url = withToken(`${base}.vtt`);
    for (let i = 0; i < TRICKPLAY_ATTEMPTS; i++) {
      let res;
      try {
        res = await fetch(url);
      } catch (_) {
        return;
      }
      if (res.status === 202 || res.status === 503) {
        const after = Number(res.headers.get("Retry-After")) || 2;
        await res.body?.cancel();
        await new Promise((r) => setTimeout(r, Math.min(5, after) * 1000));
        continue;
      }
      if (!res.ok) return;
      cues = parseVtt(await res.text(), res.url);
      body.dataset.trickplay = String(cues.length);
      return;
    }
  }
  function showThumb(p) {
    const cue = cues.find((c) => p.time >= c.start && p.time < c.end) ||
      (cues.length && p.time >= cues[cues.length - 1].start
        ? cues[cues.length - 1]
        : undefined);
    const thumb = $("thumb");
    $("thumb-time").textContent = i18n.clock(p.time);
    const img = $("thumb-img");
    if (cue) {
      img.style.width = `${cue.w}px`;
      img.style.height = `${cue.h}px`;
      img.style.backgroundImage = `url("${cue.url}")`;
      img.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
      img.hidden = false;
      body.dataset.thumb = `${cue.x},${cue.y}`;
    } else img.hidden = true;
    const stage = $("stage").getBoundingClientRect();
    const r = scrub.getBoundingClientRect();
    const x = Math.min(
      stage.width - 90,
      Math.max(90, r.left - stage.left + p.x),
    );
    thumb.style.left = `${x}px`;
    thumb.hidden = false;
  }
  function hideThumb() {
    $("thumb").hidden = true;
  }

  // --- resume position (收看进度记忆) ----------------------------------------------------
  const localKey = `meridian.resume.${videoKey}`;
  const resumeUrl = viewer
    ? `/api/resume?${new URLSearchParams({ viewer, video: videoKey })}`
    : undefined;
  function readLocal() {
    try {
      const v = JSON.parse(localStorage.getItem(localKey) || "null");
      return v && typeof v.p === "number" ? v : undefined;
    } catch (_) {
      return undefined;
    }
  }
  async function readServer() {
    if (!resumeUrl) return undefined;
    try {
      const res = await fetch(resumeUrl, { cache: "no-store" });
      if (!res.ok) return undefined;
      const j = await res.json();
      return {
        p: j.positionSeconds,
        d: j.durationSeconds,
        at: Date.parse(j.updatedAt),
      };
    } catch (_) {
      return undefined;
    }
  }
  async function offerResume() {
    const [a, b] = [readLocal(), await readServer()];
    const best = [a, b].filter(Boolean).sort((x, y) => y.at - x.at)[0];
    if (!best) return;
    const dur = best.d || vodDuration;
    if (
      best.p < RESUME_MIN_SECONDS || (dur && best.p > dur - RESUME_END_SECONDS)
    ) {
      return;
    }
    resumeAt = best.p;
    body.dataset.resumeOffered = best.p.toFixed(1);
    renderResume();
    $("resume").hidden = false;
    $("resume-yes").focus();
  }
  function renderResume() {
    $("resume-text").replaceChildren(i18n.fragment("player.resumeAsk", {
      time: i18n.clock(resumeAt),
    }));
  }
  $("resume-yes").addEventListener("click", () => {
    $("resume").hidden = true;
    seek(resumeAt);
    video.play().catch(() => {});
    $("play").focus();
  });
  $("resume-no").addEventListener("click", () => {
    $("resume").hidden = true;
    seek(0);
    $("play").focus();
  });
  let lastLocal = 0;
  let lastServer = 0;
  function savePosition(force) {
    if (live) return;
    const p = currentTime();
    if (p < 1) return;
    const now = Date.now();
    if (force || now - lastLocal >= SAVE_LOCAL_MS) {
      lastLocal = now;
      try {
        localStorage.setItem(
          localKey,
          JSON.stringify({ p, d: vodDuration, at: now }),
        );
      } catch (_) {
        // storage full or refused: the server copy still works
      }
    }
    if (resumeUrl && (force || now - lastServer >= SAVE_SERVER_MS)) {
      lastServer = now;
      fetch(resumeUrl, {
        method: "PUT",
        keepalive: true,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          positionSeconds: Math.round(p * 10) / 10,
          durationSeconds: Math.round(vodDuration * 10) / 10,
        }),
      }).catch(() => {});
    }
  }
  function forgetPosition() {
    try {
      localStorage.removeItem(localKey);
    } catch (_) {
      // nothing kept
    }
    if (resumeUrl) fetch(resumeUrl, { method: "DELETE" }).catch(() => {});
  }

  // --- programme list ----------------------------------------------------------------------
  async function loadProgrammes() {
    try {
      const res = await fetch(withToken(`${base}/programs`), {
        cache: "no-store",
      });
      if (!res.ok) return;
      programmes = await res.json();
    } catch (_) {
      return;
    }
    renderProgrammes();
  }
  function programmeItem(label, now, onPlay) {
    const li = document.createElement("li");
    if (now) li.className = "now";
    const span = document.createElement("span");
    span.append(label);
    li.append(span);
    if (onPlay) {
      const b = document.createElement("button");
      b.dataset.row = "programmes";
      b.textContent = i18n.t("player.watchFromStart");
      b.addEventListener("click", onPlay);
      li.append(" ", b);
    }
    return li;
  }
  function renderProgrammes() {
    const p = programmes;
    if (!p) return;
    const list = $("programme-list");
    list.textContent = "";
    const name = (f) => String(f || "").split("/").pop();
    // A virtual-live channel's guide (what plays now, next, and today's slots), then, when its
    // app keeps a DVR, the archive's programmes (the origin answers both, merged).
    if (p.now) {
      list.append(programmeItem(
        i18n.fragment("player.programmeNow", {
          title: name(p.now.file),
          start: i18n.time(p.now.startedAt),
          end: i18n.time(p.now.endsAt),
        }),
        true,
      ));
    }
    if (p.next) {
      list.append(programmeItem(i18n.fragment("player.programmeNext", {
        title: name(p.next.file),
        start: i18n.time(p.next.startsAt),
      })));
    }
    for (const s of p.schedule || []) {
      list.append(programmeItem(
        i18n.fragment("player.programmeSlot", {
          title: name(s.file),
          start: i18n.time(s.startsAt),
        }),
        s.state === "playing",
      ));
    }
    if (Array.isArray(p.programs)) {
      // An archive's list: programmes with their start and end, each playable from its start.
      for (const x of p.programs) {
        const label = i18n.fragment("player.programmeAt", {
          title: x.title || name(x.file) || "",
          start: i18n.time(x.start),
          end: x.end ? i18n.time(x.end) : "",
        });
        const startUnix = Math.floor(Date.parse(x.start) / 1000);
        const endUnix = x.end
          ? Math.floor(Date.parse(x.end) / 1000)
          : undefined;
        list.append(programmeItem(label, !!x.live, () => {
          const q = new URLSearchParams({ start: String(startUnix) });
          if (endUnix) q.set("end", String(endUnix));
          urls.hls = withToken(`${base}.m3u8?${q}`);
          urls.native = urls.hls;
          protocol = protocol === "flv" ? (hlsJs ? "hls" : "native") : protocol;
          load();
        }));
      }
    }
    $("programmes-note").textContent = i18n.t("player.programmesNote");
    $("programmes").hidden = list.children.length === 0;
    body.dataset.programmes = String(list.children.length);
  }

  // --- VOD metadata ------------------------------------------------------------------------
  async function loadVodInfo() {
    try {
      const res = await fetch(withToken(`/api/vod/${encodedPath}`));
      if (!res.ok) return;
      const info = await res.json();
      if (typeof info.durationSeconds === "number") {
        vodDuration = info.durationSeconds;
      }
    } catch (_) {
      // the player's own duration is used
    }
  }

  // --- controls ------------------------------------------------------------------------------
  $("play").addEventListener("click", () => {
    if (video.paused) video.play().catch(() => {});
    else video.pause();
  });
  $("mute").addEventListener("click", () => {
    video.muted = !video.muted;
  });
  $("fullscreen").addEventListener("click", () => {
    const stage = $("stage");
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else if (stage.requestFullscreen) stage.requestFullscreen().catch(() => {});
    else if (video.webkitEnterFullscreen) video.webkitEnterFullscreen();
  });
  $("golive").addEventListener("click", () => {
    const t = timeline();
    if (hls && hls.liveSyncPosition) video.currentTime = hls.liveSyncPosition;
    else video.currentTime = Math.max(t.start, t.end - 2);
  });
  // The LL-HLS switch is shown when the stream's app offers it (its playlist answers).
  if (live && hlsJs) {
    fetch(urls.llhls).then((res) => {
      res.body?.cancel();
      if (res.ok || protocol === "llhls") $("llhls").hidden = false;
    }, () => {});
  }
  for (const b of document.querySelectorAll(".proto")) {
    b.disabled = !available[b.dataset.proto];
    b.addEventListener("click", () => {
      protocol = b.dataset.proto;
      load(live ? undefined : currentTime());
    });
  }
  $("lang").addEventListener("click", async () => {
    const next = i18n.lang === "zh" ? "en" : "zh";
    MeridianI18n.remember(next);
    i18n = await MeridianI18n.load("/assets/i18n", next);
    applyTexts();
  });

  function applyTexts() {
    i18n.apply(document);
    document.title = i18n.t("player.pageTitle", { title });
    $("title").textContent = title;
    setStatus(statusKey, statusParams, body.dataset.status);
    if (resumeAt) renderResume();
    renderProgrammes();
    if (hls) buildQualityMenu(hls);
    render();
    body.dataset.lang = i18n.lang;
  }

  video.addEventListener("playing", () =>
    setStatus("player.playingWith", {
      protocol: i18n.t(`proto.${protocol}`),
    }, `playing ${protocol}`));
  video.addEventListener(
    "waiting",
    () => setStatus("player.buffering", {}, body.dataset.status),
  );
  video.addEventListener("timeupdate", () => {
    if (video.currentTime > 0 && !video.paused) {
      body.dataset.time = currentTime().toFixed(1);
      savePosition(false);
    }
  });
  video.addEventListener("pause", () => savePosition(true));
  video.addEventListener("ended", () => {
    if (!live) forgetPosition();
  });
  addEventListener("pagehide", () => savePosition(true));
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") savePosition(true);
  });

  // --- TV remote and keyboard --------------------------------------------------------------
  const ROWS = ["stage", "bar", "options", "programmes"];
  function focusables(row) {
    return [...document.querySelectorAll(`[data-row="${row}"]`)].filter((el) =>
      !el.disabled && el.offsetParent !== null
    );
  }
  function moveInRow(el, dir) {
    const row = focusables(el.dataset.row);
    const i = row.indexOf(el);
    const next = row[i + dir];
    if (next) next.focus();
  }
  function moveRow(el, dir) {
    const from = el && el.dataset && el.dataset.row
      ? ROWS.indexOf(el.dataset.row)
      : 0;
    for (let r = from + dir; r >= 0 && r < ROWS.length; r += dir) {
      const row = focusables(ROWS[r]);
      if (row.length) return row[0].focus();
    }
  }
  document.addEventListener("keydown", (ev) => {
    const el = document.activeElement;
    const onSeekable = el === scrub || el === document.body || el === video ||
      el === null;
    switch (ev.key) {
      case "ArrowLeft":
      case "ArrowRight": {
        const dir = ev.key === "ArrowLeft" ? -1 : 1;
        ev.preventDefault();
        if (onSeekable) {
          const to = currentTime() + dir * STEP_SECONDS;
          seek(to);
          const r = scrub.getBoundingClientRect();
          const t = timeline();
          const at = (to - t.start) / Math.max(0.001, t.end - t.start);
          showThumb({ time: to, x: at * r.width });
          setTimeout(hideThumb, 1200);
        } else if (el.dataset.row) moveInRow(el, dir);
        return;
      }
      case "ArrowUp":
      case "ArrowDown":
        if (el && el.tagName === "SELECT") return; // the list's own arrows
        ev.preventDefault();
        moveRow(el, ev.key === "ArrowUp" ? -1 : 1);
        return;
      case " ":
      case "Enter":
        if (onSeekable) {
          ev.preventDefault();
          $("play").click();
        }
        return;
      case "MediaPlayPause":
        $("play").click();
        return;
      case "MediaRewind":
      case "MediaFastForward":
        seek(
          currentTime() +
            (ev.key === "MediaRewind" ? -1 : 1) * REMOTE_STEP_SECONDS,
        );
        return;
    }
  });

  // --- start ---------------------------------------------------------------------------------
  applyTexts();
  if (live) {
    load();
    loadProgrammes();
  } else {
    await loadVodInfo();
    load(Number(params.get("start")) || undefined);
    offerResume();
    loadTrickPlay();
  }
  $("play").focus();
})();
