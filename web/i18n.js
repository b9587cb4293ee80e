// Meridian's message lookup for the console and the player pages: one JSON catalogue per
// language (web/i18n/en.json, web/i18n/zh.json), a key per string, `{name}` placeholders, and
// Intl for numbers, dates and durations. Why not i18next: two languages without plural forms
// (Chinese has none; the English strings are written to need none) need a lookup, a
// placeholder and the browser's Intl, about a hundred lines; i18next adds 40 KB of loaders,
// plural rules and namespaces we would not use. Every key that a page asks for and the
// catalogue lacks is recorded (`misses`), shown as the English text (or the key), and listed
// in `document.documentElement.dataset.i18nMisses`, which the end-to-end test reads.
"use strict";
(function (global) {
  const SUPPORTED = ["en", "zh"];
  const STORAGE_KEY = "meridian.lang";
  const LOCALES = { en: "en-US", zh: "zh-CN" };

  /** The language: `?lang=`, then the remembered switch, then the browser's languages. */
  function pickLanguage() {
    try {
      const q = new URLSearchParams(location.search).get("lang");
      if (q && SUPPORTED.includes(q)) return q;
      const kept = localStorage.getItem(STORAGE_KEY);
      if (kept && SUPPORTED.includes(kept)) return kept;
    } catch (_) {
      // storage refused (private mode): the browser's language decides
    }
    const langs = navigator.languages && navigator.languages.length
      ? navigator.languages
      : [navigator.language || "en"];
    for (const l of langs) {
      const base = String(l).toLowerCase().split("-")[0];
      if (SUPPORTED.includes(base)) return base;
    }
    return "en";
  }

  function remember(lang) {
    try {
      localStorage.setItem(STORAGE_KEY, lang);
    } catch (_) {
      // not kept: the next visit asks the browser again
    }
  }

  class Catalogue {
    constructor(lang, messages, fallback) {
      this.lang = lang;
      this.locale = LOCALES[lang] || "en-US";
      this.messages = messages;
      this.fallback = fallback || {};
      this.misses = new Set();
    }

    /** The message of `key` with `{name}` placeholders filled from `params`. */
    t(key, params) {
      let s = this.messages[key];
      if (typeof s !== "string") {
        this.misses.add(key);
        document.documentElement.dataset.i18nMisses = JSON.stringify([
          ...this.misses,
        ]);
        s = typeof this.fallback[key] === "string" ? this.fallback[key] : key;
      }
      if (!params) return s;
      return s.replace(
        /\{(\w+)\}/g,
        (_, k) => (params[k] === undefined ? "" : String(params[k])),
      );
    }

    /**
     * The message as DOM nodes: its own words as text, each placeholder's value in a
     * `<span translate="no">` (names, times, paths: data, never translated).
     */
    fragment(key, params) {
      const out = document.createDocumentFragment();
      const s = this.t(key);
      let at = 0;
      for (const m of s.matchAll(/\{(\w+)\}/g)) {
        if (m.index > at) out.append(s.slice(at, m.index));
        const span = document.createElement("span");
        span.setAttribute("translate", "no");
        const v = params ? params[m[1]] : undefined;
        span.textContent = v === undefined ? "" : String(v);
        out.append(span);
        at = m.index + m[0].length;
      }
      if (at < s.length) out.append(s.slice(at));
      return out;
    }

    /** True when the catalogue has `key` (for optional strings such as error codes). */
    has(key) {
      return typeof this.messages[key] === "string";
    }

    number(n, options) {
      return new Intl.NumberFormat(this.locale, options).format(n);
    }

    /** Bytes as KB/MB/GB (powers of 1000, as the labels say). */
    bytes(n) {
      const units = ["B", "KB", "MB", "GB", "TB"];
      let v = Number(n) || 0;
      let i = 0;
      while (v >= 1000 && i < units.length - 1) {
        v /= 1000;
        i++;
      }
      return `${this.number(v, { maximumFractionDigits: i ? 1 : 0 })} ${
        units[i]
      }`;
    }

    /** Bits per second as kbit/s, Mbit/s, Gbit/s. */
    bitrate(bps) {
      const units = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s"];
      let v = Number(bps) || 0;
      let i = 0;
      while (v >= 1000 && i < units.length - 1) {
        v /= 1000;
        i++;
      }
      return `${this.number(v, { maximumFractionDigits: 1 })} ${units[i]}`;
    }

    percent(ratio) {
      return this.number(ratio, { style: "percent", maximumFractionDigits: 1 });
    }

    /** A date and time in the page's language (`ms`: Unix ms or an ISO string). */
    date(ms, options) {
      const d = new Date(ms);
      if (Number.isNaN(d.getTime())) return "";
      return new Intl.DateTimeFormat(
        this.locale,
        options || { dateStyle: "medium", timeStyle: "medium" },
      ).format(d);
    }

    time(ms) {
      return this.date(ms, { timeStyle: "medium" });
    }

    /** Seconds as H:MM:SS or M:SS (a clock reading: the same in both languages). */
    clock(seconds) {
      const s = Math.max(0, Math.floor(Number(seconds) || 0));
      const h = Math.floor(s / 3600);
      const m = Math.floor(s / 60) % 60;
      const ss = String(s % 60).padStart(2, "0");
      return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
    }

    /** A duration in words (`2 h 5 min`, `2 小时 5 分`). */
    duration(seconds) {
      const s = Math.max(0, Math.round(Number(seconds) || 0));
      const d = Math.floor(s / 86400);
      const h = Math.floor(s / 3600) % 24;
      const m = Math.floor(s / 60) % 60;
      const parts = [];
      if (d) parts.push(this.t("unit.days", { n: d }));
      if (h) parts.push(this.t("unit.hours", { n: h }));
      if (m && !d) parts.push(this.t("unit.minutes", { n: m }));
      if (!d && !h) parts.push(this.t("unit.seconds", { n: s % 60 }));
      return parts.join(" ");
    }

    /**
     * Fills every `[data-i18n]` element's text and every `[data-i18n-attr]` attribute
     * (`placeholder:key;title:key`) under `root`.
     */
    apply(root) {
      for (const el of root.querySelectorAll("[data-i18n]")) {
        el.textContent = this.t(el.dataset.i18n);
      }
      for (const el of root.querySelectorAll("[data-i18n-attr]")) {
        for (const pair of el.dataset.i18nAttr.split(";")) {
          const [attr, key] = pair.split(":");
          if (attr && key) el.setAttribute(attr.trim(), this.t(key.trim()));
        }
      }
      document.documentElement.lang = this.lang === "zh" ? "zh-CN" : "en";
    }
  }

  async function fetchJson(url) {
    const res = await fetch(url, { cache: "no-cache" });
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    return await res.json();
  }

  /** Loads the catalogue of `lang` from `base` (`/console/i18n`), English as the fallback. */
  async function load(base, lang) {
    const en = await fetchJson(`${base}/en.json`);
    const messages = lang === "en"
      ? en
      : await fetchJson(`${base}/${lang}.json`);
    return new Catalogue(lang, messages, en);
  }

  global.MeridianI18n = { SUPPORTED, pickLanguage, remember, load, Catalogue };
})(globalThis);
