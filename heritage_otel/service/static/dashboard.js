/* heritage-otel Analyzer dashboard: plain DOM + uPlot, data from the JSON API.
 * Every value from telemetry is inserted as text (never as HTML). */
(function () {
  "use strict";

  const state = {
    page: "overview", config: null, timer: null, metric: null, chart: null, timeline: null,
    queries: [], sortKey: "time_s", sortDir: -1, token: sessionStorage.getItem("heritageAnalyzerToken") || "",
  };
  const $ = (id) => document.getElementById(id);
  const LEVEL_ORDER = { CRITICAL: 3, WARNING: 2, INFO: 1 };
  const METRIC_LABELS = {
    query_latency_p95: ["Latency p95", "ms"], query_latency_p99: ["Latency p99", "ms"],
    query_latency_p50: ["Latency p50", "ms"], query_latency_mean: ["Latency mean", "ms"],
    error_rate: ["Error rate", "%"], fallback_rate: ["Fallback rate", "%"], empty_result_rate: ["Empty results", "%"],
    throughput_qps: ["Throughput", "q/s"], ndcg_at_10: ["NDCG@10", ""], precision_at_5: ["Precision@5", ""],
    diversity: ["Diversity", ""], cache_hit_rate: ["Cache hit rate", "%"], results_per_query: ["Results / query", ""],
    component_latency_p95: ["Component p95", "ms"],
  };

  // --- helpers -------------------------------------------------------------
  async function api(path) {
    const headers = state.token ? { Authorization: "Bearer " + state.token } : {};
    const resp = await fetch(path, { headers, cache: "no-store" });
    if (resp.status === 401) { $("auth").hidden = false; throw new Error("authentication required"); }
    if (!resp.ok) { throw new Error(path + ": HTTP " + resp.status); }
    return resp.json();
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function fmtNum(v, digits) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    const a = Math.abs(v);
    if (a !== 0 && (a < 0.001 || a >= 1e6)) return v.toExponential(2);
    return Number(v).toLocaleString(undefined, { maximumFractionDigits: digits === undefined ? 3 : digits });
  }

  function fmtMetric(name, v) {
    if (v === null || v === undefined) return "–";
    const unit = (METRIC_LABELS[name] || [name, ""])[1];
    if (unit === "%") return fmtNum(v * 100, 2) + " %";
    if (unit === "ms") return fmtNum(v, 1) + " ms";
    if (unit === "q/s") return fmtNum(v, 2) + " q/s";
    return fmtNum(v, 3);
  }

  function fmtTime(t) {
    if (t === null || t === undefined) return "–";
    const d = typeof t === "number" ? new Date(t * 1000) : new Date(t);
    const time = d.toLocaleTimeString(undefined, { hour12: false });
    if (d.toDateString() === new Date().toDateString()) return time;
    return d.toLocaleDateString(undefined, { month: "short", day: "numeric" }) + " " + time;
  }

  function metricCell(a) {
    const span = el("span", a.metric);
    const attrs = Object.entries(a.attributes || {}).map(([k, v]) => k.replace(/^heritage\./, "") + "=" + v).join(" ");
    if (attrs) { span.appendChild(document.createElement("br")); span.appendChild(el("span", attrs, "muted small")); }
    return span;
  }

  function badge(text, cls) { return el("span", text, "badge " + (cls || text)); }

  function fillTable(table, rows, colspan, emptyText) {
    const body = $(table).tBodies[0];
    body.replaceChildren();
    if (!rows.length) {
      const tr = el("tr", null, "empty");
      const td = el("td", emptyText); td.colSpan = colspan; tr.appendChild(td); body.appendChild(tr);
      return;
    }
    rows.forEach((r) => body.appendChild(r));
  }

  function row(cells) {
    const tr = document.createElement("tr");
    cells.forEach((c) => {
      if (c instanceof Node) { const td = document.createElement("td"); td.appendChild(c); tr.appendChild(td); }
      else if (c && typeof c === "object" && "text" in c) { tr.appendChild(el("td", c.text, c.cls)); }
      else tr.appendChild(el("td", c));
    });
    return tr;
  }

  // A link to the dashboard's own trace page (it reads Jaeger's API or the in-process span store).
  function traceLink(id, chars) {
    const a = el("a", id.slice(0, chars || 8), "trace-link");
    a.href = "#trace/" + encodeURIComponent(id); a.title = id;
    return a;
  }

  // A trace tail sampling did not keep: no link (it would open nothing), the reason on hover and below.
  function droppedTrace(q) {
    const span = el("span", null, "trace-dropped");
    span.appendChild(badge("dropped", "dropped"));
    span.appendChild(el("code", " " + q.trace_id.slice(0, 16), "muted"));
    span.title = q.trace_note || "not kept by tail sampling";
    span.dataset.traceId = q.trace_id;
    span.appendChild(el("div", span.title, "small muted trace-note"));
    return span;
  }

  function traceLinks(alert) {
    const span = document.createElement("span");
    const ids = alert.exemplar_trace_ids || [];
    if (!ids.length) { span.textContent = "–"; return span; }
    ids.slice(0, 3).forEach((id) => { span.appendChild(traceLink(id)); span.appendChild(document.createTextNode(" ")); });
    return span;
  }

  function instanceOf(a) {
    if (!a.instance) return a.service ? a.service + " (fleet)" : "–";
    return a.instance + whereabouts(a.instance_details) + (a.alsoFleet ? " and the fleet" : "");
  }

  // " (host, pid N)" of an instance when the Analyzer knows them, else ""
  function whereabouts(d) {
    return d ? " (" + [d.host, d.pid !== null && d.pid !== undefined ? "pid " + d.pid : null].filter(Boolean).join(", ") + ")" : "";
  }

  // --- incidents: one line each, expandable to the probable cause, the members and the traces ------------
  function incidentScope(i) {
    const fleet = i.alsoFleet ? " (the fleet sees it too)" : "";
    if (i.scope === "replica") return (i.service || "") + " · replica " + i.instances.map((id) => instanceName(i, id)).join(", ") + fleet;
    return (i.service || "service") + (i.scope === "fleet" ? " · fleet" : "");
  }

  // service.instance.id, with the host and pid it runs as when the Analyzer knows them
  function instanceName(i, id) { return id + whereabouts((i.instance_details || {})[id]); }

  // One row per incident where a replica's and the fleet's say the same (same service and signals): the
  // replica's, which names the instance, marked as seen by the fleet too; the fleet's members and traces join it.
  function mergeScopes(incidents) {
    const replicaKeys = new Map();
    incidents.forEach((i) => { if (i.scope === "replica") replicaKeys.set(i.service + "|" + i.signals.join(","), i); });
    const out = [];
    incidents.forEach((i) => {
      const twin = i.scope === "fleet" && replicaKeys.get(i.service + "|" + i.signals.join(","));
      if (!twin) { out.push(i); return; }
      twin.alsoFleet = true;
      twin.members = twin.members.concat(i.members);
      twin.exemplar_trace_ids = Array.from(new Set((twin.exemplar_trace_ids || []).concat(i.exemplar_trace_ids || [])));
      if (!twin.cause && i.cause) twin.cause = i.cause;
    });
    return out;
  }

  // Alerts: one row where a replica's alert and the fleet's are on the same metric, attributes and level.
  function mergeAlertScopes(alerts, keyOf) {
    const byKey = new Map();
    alerts.forEach((a) => { if (a.instance) byKey.set(keyOf(a), a); });
    return alerts.filter((a) => {
      const twin = !a.instance && byKey.get(keyOf(a));
      if (twin) twin.alsoFleet = true;
      return !twin;
    });
  }

  window.heritageDashboard = Object.assign(window.heritageDashboard || {}, { mergeScopes, mergeAlertScopes });

  function alertKey(a) { return [a.service, a.metric, JSON.stringify(a.attributes || {}), a.level, a.event || ""].join("|"); }

  function renderIncidents(list, incidents, opts) {
    const o = opts || {};
    list.replaceChildren();
    if (!incidents.length) list.appendChild(el("li", o.empty || "No open incidents", "muted"));
    incidents.slice(0, o.max || 8).forEach((i) => {
      const li = document.createElement("li");
      li.dataset.incident = i.id; li.dataset.state = i.state;
      const details = document.createElement("details");
      details.open = !!o.open;
      const summary = document.createElement("summary");
      summary.appendChild(badge(i.level));
      summary.appendChild(document.createTextNode(" " + i.signals.join(", ") + " · " + incidentScope(i) +
        (i.state === "resolved" ? " · " + fmtTime(i.first_seen) + " to " + fmtTime(i.last_seen) : " · since " + fmtTime(i.first_seen))));
      details.appendChild(summary);
      if (i.cause) details.appendChild(el("div", "Probable cause: " + i.cause.summary, "cause"));
      const members = el("ul", null, "members");
      i.members.forEach((m) => {
        const attrs = Object.entries(m.attributes || {}).map(([k, v]) => k.replace(/^heritage\./, "") + "=" + v).join(" ");
        const item = document.createElement("li");
        item.appendChild(badge(m.state === "resolved" ? "resolved" : m.level, m.state === "resolved" ? "resolved" : m.level));
        item.appendChild(document.createTextNode(" " + m.metric + (attrs ? " {" + attrs + "}" : "") + " · " +
          instanceOf(m) + " · " + m.detector));
        members.appendChild(item);
      });
      details.appendChild(members);
      const traces = el("div", "Traces: ", "muted small");
      traces.appendChild(traceLinks({ exemplar_trace_ids: i.exemplar_trace_ids, jaeger_links: i.trace_urls }));
      if (i.exemplars_dropped) traces.appendChild(el("span", " (" + i.exemplars_dropped + " more not kept by tail sampling)", "muted"));
      details.appendChild(traces);
      li.appendChild(details);
      list.appendChild(li);
    });
  }

  // --- overview ----------------------------------------------------------------
  async function loadOverview() {
    const [health, open, resolved] = await Promise.all([api("/api/health"), api("/api/incidents?state=open"),
      api("/api/incidents?state=resolved&limit=20")]);
    open.incidents = mergeScopes(open.incidents);
    setStatus(health);
    const score = Math.round(health.score);
    $("health-score").textContent = String(score);
    const status = $("health-status");
    status.textContent = health.status; status.className = "status-label " + health.status;
    const arc = $("gauge-arc");
    const length = arc.getTotalLength();
    arc.style.strokeDasharray = String(length);
    arc.style.strokeDashoffset = String(length * (1 - Math.max(0, Math.min(100, health.score)) / 100));
    arc.style.stroke = health.status === "healthy" ? "var(--ok)" : health.status === "degraded" ? "var(--warn)" : "var(--crit)";
    ["CRITICAL", "WARNING", "INFO"].forEach((l) => {
      $("count-" + l).textContent = String(open.incidents.filter((i) => i.level === l).length);
    });
    renderIncidents($("overview-alerts"), open.incidents, { open: true });
    renderIncidents($("overview-resolved"), mergeScopes(resolved.incidents), { max: 10, empty: "No incident resolved recently" });
    // the worst open incident level per member metric: a card on such a metric takes its colour
    const incidentLevel = {};
    const rank = { INFO: 1, WARNING: 2, CRITICAL: 3 };
    open.incidents.forEach((i) => i.members.filter((m) => m.state !== "resolved").forEach((m) => {
      if (!incidentLevel[m.metric] || rank[m.level] > rank[incidentLevel[m.metric]]) incidentLevel[m.metric] = m.level;
    }));
    renderSloRisk(await api("/api/slos"));
    const issues = $("health-issues"); issues.replaceChildren();
    if (!health.issues.length) issues.appendChild(el("li", health.receiving ? "Nothing over budget" : "No data received yet", "muted"));
    // one line per "LEVEL alert on metric" (a replica's alert and the fleet's say the same)
    const seen = new Map();
    health.issues.forEach((t) => {
      const key = t.includes(" alert on ") ? t.split(":")[0] : t;
      if (seen.has(key)) seen.get(key).more += 1; else seen.set(key, { text: t, more: 0 });
    });
    [...seen.values()].slice(0, 12).forEach((i) => issues.appendChild(el("li", i.text + (i.more ? " (+" + i.more + " more: replicas, fleet)" : ""))));

    const tiles = $("key-metrics"); tiles.replaceChildren();
    const rules = (state.config && state.config.thresholds) || {};
    Object.keys(METRIC_LABELS).filter((k) => k in health.key_metrics).forEach((name) => {
      const v = health.key_metrics[name];
      const worst = (health.worst_replica || {})[name];
      const outlier = worst && worst.value !== null && worst.value !== undefined;
      const byIncident = { CRITICAL: "crit", WARNING: "warn" }[incidentLevel[name]] || "";
      const cls = [tileClass(rules[name], v), outlier ? tileClass(rules[name], worst.value) : "", byIncident];
      const tile = el("div", null, "tile " + (cls.includes("crit") ? "crit" : cls.includes("warn") ? "warn" : cls[0]));
      if (incidentLevel[name]) tile.dataset.incidentLevel = incidentLevel[name];
      tile.appendChild(el("div", METRIC_LABELS[name][0], "name"));
      tile.appendChild(el("div", fmtMetric(name, v), "value"));
      if (outlier) tile.appendChild(el("div", "worst replica: " + worst.instance + " " + fmtMetric(name, worst.value), "worst"));
      tile.dataset.metric = name;
      tiles.appendChild(tile);
    });
    if (!tiles.children.length) tiles.appendChild(el("div", "No indicator yet: waiting for the replicas' first metric export.", "muted"));
  }

  function tileClass(rule, v) {
    if (v === null || v === undefined || !rule) return "none";
    const upper = "max" in rule;
    const warn = rule.warning !== undefined ? rule.warning : (upper ? rule.max : rule.min);
    const crit = rule.critical;
    if (upper) return crit !== undefined && v >= crit ? "crit" : v >= Math.min(warn, rule.max) ? "warn" : "";
    return crit !== undefined && v <= crit ? "crit" : v <= Math.max(warn, rule.min) ? "warn" : "";
  }

  function setStatus(health) {
    const pill = $("status-pill");
    pill.textContent = health.status + " · " + Math.round(health.score);
    pill.className = "pill " + health.status;
  }

  // --- metrics -----------------------------------------------------------------
  async function loadMetrics() {
    const names = await api("/api/metrics");
    const select = $("metric-select");
    const current = state.metric || select.value;
    select.replaceChildren();
    names.metrics.forEach((m) => {
      const label = (METRIC_LABELS[m.metric] ? METRIC_LABELS[m.metric][0] + " — " : "") + m.metric + " (" + m.series + ")";
      const opt = el("option", label); opt.value = m.metric; select.appendChild(opt);
    });
    const fallback = names.metrics.find((m) => m.metric === "query_latency_p95") || names.metrics[0];
    state.metric = names.metrics.some((m) => m.metric === current) ? current : fallback && fallback.metric;
    if (!state.metric) { fillTable("metric-stats", [], 7, "No metrics received yet"); return; }
    select.value = state.metric;
    const minutes = $("range-select").value;
    const data = await api("/api/points?metric=" + encodeURIComponent(state.metric) + "&minutes=" + minutes);
    drawChart(data);
  }

  function seriesLabel(s) {
    const attrs = Object.entries(s.attributes || {}).map(([k, v]) => k.replace(/^heritage\./, "") + "=" + v).join(" ");
    const who = s.instance ? s.instance : (s.service ? s.service + " (fleet)" : "all");
    return attrs ? who + " " + attrs : who;
  }

  const PALETTE = ["#16202c", "#d63c3c", "#3b7dd8", "#1f9d55", "#d98b00", "#8e44ad", "#16a5a5", "#b5651d"];

  function drawChart(data) {
    const times = Array.from(new Set(data.series.flatMap((s) => s.times))).sort((a, b) => a - b);
    const index = new Map(times.map((t, i) => [t, i]));
    const columns = [times];
    const series = [{}];
    const stats = [];
    data.series.forEach((s, i) => {
      const col = new Array(times.length).fill(null);
      s.times.forEach((t, j) => { col[index.get(t)] = s.values[j]; });
      columns.push(col);
      series.push({ label: seriesLabel(s), stroke: PALETTE[i % PALETTE.length], width: s.instance ? 1.5 : 2.5, spanGaps: true,
                    value: (u, v) => fmtNum(v) });
      const v = s.values.slice().sort((a, b) => a - b);
      const mean = v.reduce((a, b) => a + b, 0) / (v.length || 1);
      stats.push(row([seriesLabel(s), { text: fmtNum(s.values[s.values.length - 1]), cls: "num" }, { text: fmtNum(mean), cls: "num" },
        { text: fmtNum(v[0]), cls: "num" }, { text: fmtNum(v[v.length - 1]), cls: "num" },
        { text: fmtNum(v[Math.min(v.length - 1, Math.floor(0.95 * v.length))]), cls: "num" }, { text: String(v.length), cls: "num" }]));
    });
    fillTable("metric-stats", stats, 7, "No points in this time range");
    const box = $("chart");
    if (state.chart) { state.chart.destroy(); state.chart = null; }
    box.replaceChildren();
    if (!times.length) { box.appendChild(el("p", "No points for " + data.metric + " in this time range.", "muted")); return; }
    const unit = (METRIC_LABELS[data.metric] || ["", ""])[1];
    state.chart = new uPlot({
      width: Math.max(400, box.clientWidth - 10), height: 320, series,
      scales: { x: { time: true } },
      axes: [{}, { label: data.metric + (unit && unit !== "%" ? " (" + unit + ")" : ""), size: 70 }],
    }, columns, box);
  }

  // --- alerts ------------------------------------------------------------------
  async function loadAlerts() {
    const level = $("alert-level").value;
    const q = level ? "?level=" + level : "";
    const [active, stats] = await Promise.all([api("/api/alerts/active" + q), api("/api/stats")]);
    const a = stats.alerts;
    $("dedup").textContent = "Deduplication: " + a.suppressed + " suppressed within the cooldown, " + a.repeated +
      " repeated, " + a.escalated + " escalated, " + a.resolved + " resolved since start.";
    active.alerts = mergeAlertScopes(active.alerts, alertKey);
    const rows = active.alerts.map((a) => {
      const tr = row([badge(a.level), metricCell(a), instanceOf(a), a.detector, { text: fmtNum(a.current_value), cls: "num" },
        { text: fmtNum(a.threshold), cls: "num" }, { text: a.message, cls: "msg" }, fmtTime(a.first_seen), fmtTime(a.last_seen), traceLinks(a)]);
      tr.dataset.level = a.level; tr.dataset.instance = a.instance || "";
      return tr;
    });
    fillTable("alerts-active", rows, 10, "No active alerts");
    const groups = new Map();
    active.alerts.forEach((a) => {
      const g = groups.get(instanceOf(a)) || { CRITICAL: 0, WARNING: 0, INFO: 0 };
      g[a.level] += 1; groups.set(instanceOf(a), g);
    });
    const chips = $("alerts-by-instance"); chips.replaceChildren();
    [...groups.entries()].sort((x, y) => (y[1].CRITICAL - x[1].CRITICAL) || (y[1].WARNING - x[1].WARNING)).forEach(([who, g]) => {
      const chip = el("span", null, "chip"); chip.appendChild(el("b", who));
      ["CRITICAL", "WARNING", "INFO"].filter((l) => g[l]).forEach((l) => chip.appendChild(badge(g[l] + " " + l.toLowerCase(), l)));
      chips.appendChild(chip);
    });
  }

  // --- alert history (the seed's page 6) ---------------------------------------------
  async function loadHistory() {
    const level = $("history-level").value;
    const history = await api("/api/alerts/history?hours=24" + (level ? "&level=" + level : ""));
    // a fleet's event follows its replica's by an interval or so: the same minute is the same event
    history.alerts = mergeAlertScopes(history.alerts, (a) => alertKey(a) + "|" + Math.round((typeof a.time === "number" ? a.time * 1000 : Date.parse(a.time)) / 60000));
    const hrows = history.alerts.slice(0, 200).map((a) => row([fmtTime(a.time), badge(a.event, a.event === "resolved" ? "resolved" : a.level),
      badge(a.level), metricCell(a), instanceOf(a), a.detector, { text: fmtNum(a.current_value), cls: "num" }, { text: a.message, cls: "msg" },
      traceLinks(a)]));
    fillTable("alerts-history", hrows, 9, "No alert in the last 24 hours");
    const fired = history.alerts.filter((a) => a.event !== "resolved");
    const box = $("history-by-level"); box.replaceChildren();
    ["CRITICAL", "WARNING", "INFO"].forEach((l) => {
      const c = el("div", null, "count " + l.toLowerCase());
      c.appendChild(el("b", fired.filter((a) => a.level === l).length)); c.appendChild(el("span", l.toLowerCase() + " events"));
      box.appendChild(c);
    });
    drawTimeline(history.alerts);
  }

  function drawTimeline(events) {
    const now = Date.now() / 1000;
    const start = Math.floor((now - 24 * 3600) / 3600) * 3600;
    const xs = []; for (let t = start; t <= now; t += 3600) xs.push(t);
    const per = { CRITICAL: xs.map(() => 0), WARNING: xs.map(() => 0), INFO: xs.map(() => 0) };
    events.filter((a) => a.event !== "resolved").forEach((a) => {
      const t = Date.parse(a.last_seen) / 1000; const i = Math.floor((t - start) / 3600);
      if (i >= 0 && i < xs.length && per[a.level]) per[a.level][i] += 1;
    });
    const box = $("alert-timeline");
    if (state.timeline) { state.timeline.destroy(); state.timeline = null; }
    box.replaceChildren();
    // Stacked bars: each level's bar is the running total up to it (info, + warning, + critical), drawn
    // tallest first so every shorter total paints over it: only the critical share of a bar stays red.
    // The legend shows each level's own count.
    const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined;
    const levels = stackLevels(per);
    const stacked = levels.map(([, , , total]) => total);
    const mk = ([label, color, counts]) => ({ label, stroke: color, fill: color + "cc", paths: bars, points: { show: false },
      value: (u, v, si, idx) => (idx === null || idx === undefined ? "–" : String(counts[idx])) });
    state.timeline = new uPlot({
      width: Math.max(400, box.clientWidth - 10), height: 200,
      series: [{}, ...levels.map(mk)],
      scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, Math.max(1, hi)] } },
      axes: [{}, { label: "alert events", size: 60 }],
    }, [xs, ...stacked], box);
  }

  // [label, color, own counts, stacked total] per level, the most severe (the tallest total) first.
  function stackLevels(per) {
    const order = [["info", "#3b7dd8", per.INFO], ["warning", "#d98b00", per.WARNING], ["critical", "#d63c3c", per.CRITICAL]];
    let running = per.INFO.map(() => 0);
    const withTotals = order.map(([label, color, counts]) => {
      running = running.map((v, i) => v + counts[i]);
      return [label, color, counts, running];
    });
    return withTotals.reverse();
  }
  window.heritageDashboard = Object.assign(window.heritageDashboard || {}, { stackLevels });

  // --- components ----------------------------------------------------------------
  // A latency cell: "not measured" when calls were counted without a duration (not 0 ms), "–" with no call.
  function latencyCell(ms, c) {
    if (ms !== null) return { text: fmtNum(ms, 1) + " ms", cls: "num" };
    return { text: c.calls > 0 ? "not measured" : "–", cls: "num muted" };
  }

  async function loadComponents() {
    const data = await api("/api/components");
    const rows = data.components.map((c) => {
      const tr = row([badge(c.status), c.component, { text: fmtNum(c.calls, 0), cls: "num" }, { text: fmtNum(c.failures, 0), cls: "num" },
        { text: c.success_rate === null ? "–" : fmtNum(c.success_rate * 100, 2) + " %", cls: "num" },
        latencyCell(c.latency_mean_ms, c), latencyCell(c.latency_p95_ms, c)]);
      tr.dataset.component = c.component;
      if (c.timed_calls < c.calls) {
        tr.title = fmtNum(c.timed_calls, 0) + " of " + fmtNum(c.calls, 0) + " calls measured; the latencies are theirs";
      }
      return tr;
    });
    fillTable("components-table", rows, 7, "No component calls received yet");
  }

  // --- service level objectives ---------------------------------------------------------
  const BURN_WINDOWS = ["5m", "30m", "1h", "6h", "3d"];

  function fmtDuration(s) {
    if (s === null || s === undefined) return "–";
    if (s >= 86400) return fmtNum(s / 86400, 1) + " d";
    if (s >= 3600) return fmtNum(s / 3600, 1) + " h";
    if (s >= 60) return fmtNum(s / 60, 0) + " min";
    return fmtNum(s, 0) + " s";
  }

  function budgetCell(remaining) {
    const wrap = el("div", null, "budget");
    if (remaining === null) { wrap.textContent = "–"; return wrap; }
    const bar = el("div", null, "budget-bar");
    const fill = el("div", null, "budget-fill" + (remaining < 0.25 ? " low" : ""));
    fill.style.width = (Math.max(0, Math.min(1, remaining)) * 100).toFixed(1) + "%";
    bar.appendChild(fill);
    wrap.appendChild(bar);
    wrap.appendChild(el("span", fmtNum(remaining * 100, 1) + " %", "budget-text"));
    return wrap;
  }

  // A burn rate cell: red at or above the lowest page factor, amber at or above the lowest ticket factor.
  function burnCell(v, s) {
    const factor = (sev) => Math.min(...s.rules.filter((r) => r.severity === sev).map((r) => r.factor));
    const cls = v === null ? "num muted" : v >= factor("page") ? "num bad" : v >= factor("ticket") ? "num warn" : "num";
    return { text: v === null ? "–" : fmtNum(v, 2) + "x", cls };
  }

  // The Overview's objectives at risk (a burn-rate alert holding, or under a quarter of the budget left).
  function renderSloRisk(data) {
    const list = $("slo-risk-list"); list.replaceChildren();
    $("slo-risk").hidden = !data.count;
    const risky = data.slos.filter((s) => s.at_risk);
    if (!risky.length) list.appendChild(el("li", "All " + data.count + " objectives within budget", "muted"));
    risky.forEach((s) => {
      const li = el("li");
      if (s.alert) li.appendChild(badge(s.alert.severity + " · " + s.alert.burn_window, s.alert.severity === "page" ? "CRITICAL" : "WARNING"));
      li.appendChild(document.createTextNode(" " + s.display_name + " (" + s.service + "): " +
        (s.budget_remaining === null ? "no events" : fmtNum(s.budget_remaining * 100, 1) + " % of the budget left") +
        (s.burn_rates["1h"] === null ? "" : ", burning " + fmtNum(s.burn_rates["1h"], 2) + "x over 1h")));
      li.dataset.slo = s.name;
      list.appendChild(li);
    });
  }

  async function loadSlos() {
    const data = await api("/api/slos");
    const rows = data.slos.map((s) => {
      const status = s.alert ? badge(s.alert.severity + " · " + s.alert.burn_window, s.alert.severity === "page" ? "CRITICAL" : "WARNING")
        : badge(s.at_risk ? "at risk" : "ok", s.at_risk ? "WARNING" : "ok");
      const name = el("span", s.display_name);
      name.appendChild(document.createElement("br"));
      name.appendChild(el("span", s.name + " · " + s.service + " · " + s.budgeting + " over " + fmtDuration(s.window_s), "muted small"));
      const incidents = el("span", s.incidents.length ? "" : "–");
      s.incidents.slice(0, 3).forEach((i) => {
        const b = badge(i.state === "firing" ? i.level : "resolved", i.state === "firing" ? i.level : "resolved");
        b.title = "incident " + i.id + " since " + fmtTime(i.first_seen);
        incidents.appendChild(b); incidents.appendChild(document.createTextNode(" "));
      });
      const tr = row([status, name, { text: fmtNum(s.target * 100, 3) + " %", cls: "num" },
        { text: s.sli === null ? "–" : fmtNum(s.sli * 100, 3) + " %", cls: "num" }, budgetCell(s.budget_remaining),
        ...BURN_WINDOWS.map((w) => burnCell(s.burn_rates[w], s)), { text: s.budget_remaining !== null && s.budget_remaining <= 0 ? "spent" : fmtDuration(s.time_to_exhaustion_s), cls: "num" }, incidents]);
      tr.dataset.slo = s.name;
      return tr;
    });
    fillTable("slos-table", rows, 12, "No objectives: start the Analyzer with --slo FILE (docs/slo.md)");
  }

  // --- query log -------------------------------------------------------------------
  async function loadQueries() {
    const data = await api("/api/queries?limit=50");
    state.queries = data.queries;
    renderQueries();
  }

  function latencyClass(ms) {
    const rule = ((state.config && state.config.thresholds) || {}).query_latency_p95;
    if (!rule || ms === null || ms === undefined) return "";
    if (rule.critical !== undefined && ms >= rule.critical) return "bad";
    return ms >= Math.min(rule.warning !== undefined ? rule.warning : rule.max, rule.max) ? "warn" : "";
  }

  function renderQueries() {
    const needle = $("query-filter").value.trim().toLowerCase();
    let items = state.queries.filter((q) => !needle || [q.query_id, q.instance, q.service, (q.components || []).join(","), q.trace_id]
      .some((v) => v && String(v).toLowerCase().includes(needle)));
    const key = state.sortKey; const dir = state.sortDir;
    items = items.slice().sort((a, b) => {
      let x = a[key], y = b[key];
      if (Array.isArray(x)) x = x.join(","); if (Array.isArray(y)) y = y.join(",");
      if (x === y) return 0; if (x === null || x === undefined) return 1; if (y === null || y === undefined) return -1;
      return (x > y ? 1 : -1) * dir;
    });
    const rows = items.map((q) => {
      const trace = !q.trace_id ? el("code", "–") : q.trace_kept === false ? droppedTrace(q) : traceLink(q.trace_id, 16);
      const tr = row([fmtTime(q.time_s), q.query_id, q.instance || q.service || "–", { text: fmtNum(q.results, 0), cls: "num" },
        { text: q.latency_ms === null ? "–" : fmtNum(q.latency_ms, 1) + " ms", cls: "num " + latencyClass(q.latency_ms) },
        (q.components || []).join(", "),
        q.success === false ? badge("error", "failing") : q.success === true ? "✓" : "–", trace]);
      tr.dataset.queryId = q.query_id;
      return tr;
    });
    fillTable("queries-table", rows, 8, needle ? "No query matches the filter" : "No query logged yet");
    document.querySelectorAll("#queries-table th").forEach((th) => {
      th.classList.toggle("asc", th.dataset.key === key && dir === 1);
      th.classList.toggle("desc", th.dataset.key === key && dir === -1);
    });
  }

  // --- trends: a metric over time against its baseline band and threshold lines -----------
  // The band is the window's mean ± sensitivity × standard deviation: the baseline the z-score
  // detector judges each point against. The lines are the threshold rule's levels.
  function trendBand(values, sensitivity) {
    const v = values.filter((x) => x !== null && Number.isFinite(x));
    if (v.length < 2) return null;
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (v.length - 1));
    return { mean, lo: mean - sensitivity * sd, hi: mean + sensitivity * sd };
  }

  function ruleLines(rule) {
    if (!rule) return [];
    const upper = "max" in rule;
    const lines = [[upper ? "max" : "min", upper ? rule.max : rule.min, "#d98b00"]];
    if (rule.warning !== undefined && rule.warning !== (upper ? rule.max : rule.min)) lines.push(["warning", rule.warning, "#e6b400"]);
    if (rule.critical !== undefined) lines.push(["critical", rule.critical, "#d63c3c"]);
    return lines;
  }
  window.heritageDashboard = Object.assign(window.heritageDashboard || {}, { trendBand, ruleLines });

  async function loadTrends() {
    const names = await api("/api/metrics");
    const select = $("trend-select");
    const current = state.trend || select.value;
    select.replaceChildren();
    names.metrics.forEach((m) => { const o = el("option", (METRIC_LABELS[m.metric] || [m.metric])[0]); o.value = m.metric; select.appendChild(o); });
    const first = names.metrics.find((m) => m.metric === "query_latency_p95") || names.metrics[0];
    state.trend = names.metrics.some((m) => m.metric === current) ? current : first && first.metric;
    const box = $("trend-chart");
    if (state.trendChart) { state.trendChart.destroy(); state.trendChart = null; }
    box.replaceChildren();
    if (!state.trend) { box.appendChild(el("p", "No metrics received yet.", "muted")); return; }
    select.value = state.trend;
    const data = await api("/api/points?metric=" + encodeURIComponent(state.trend) + "&minutes=" + $("trend-range").value + "&limit=200");
    // the fleet (or only) series without attributes: the one a threshold rule judges
    const series = data.series.find((s) => !s.instance && !Object.keys(s.attributes || {}).length) || data.series[0];
    if (!series || !series.times.length) { box.appendChild(el("p", "No points for " + state.trend + " in this time range.", "muted")); return; }
    const sensitivity = (state.config && state.config.sensitivity) || 3;
    const band = trendBand(series.values, sensitivity);
    const line = { show: false };
    const rule = ((state.config && state.config.thresholds) || {})[state.trend];
    const pairs = series.times.map((t, i) => [t, series.values[i]]).sort((a, b) => a[0] - b[0]);  // uPlot needs sorted x
    const xs = pairs.map((p) => p[0]);
    const columns = [xs, pairs.map((p) => p[1])];
    const defs = [{}, { label: seriesLabel(series), stroke: "#16202c", width: 2, value: (u, v) => fmtNum(v) }];
    if (band) {
      columns.push(xs.map(() => band.hi), xs.map(() => band.mean), xs.map(() => band.lo));
      defs.push({ label: "baseline +" + sensitivity + "σ", stroke: "#3b7dd888", dash: [4, 4], points: line },
                { label: "baseline mean", stroke: "#3b7dd8", points: line },
                { label: "baseline −" + sensitivity + "σ", stroke: "#3b7dd888", dash: [4, 4], points: line });
    }
    ruleLines(rule).forEach(([label, value, color]) => { columns.push(xs.map(() => value)); defs.push({ label, stroke: color, width: 1.5, dash: [8, 4], points: line }); });
    $("trend-note").textContent = (band ? "Band: the window's mean ± " + sensitivity + " standard deviations (the z-score baseline). " : "") +
      (rule ? "Dashed: the threshold rule's levels." : "No threshold rule for this metric.");
    const unit = (METRIC_LABELS[state.trend] || ["", ""])[1];
    state.trendChart = new uPlot({
      width: Math.max(400, box.clientWidth - 10), height: 340, series: defs, scales: { x: { time: true } },
      axes: [{}, { label: state.trend + (unit && unit !== "%" ? " (" + unit + ")" : ""), size: 70 }],
    }, columns, box);
    box.dataset.series = String(defs.length - 1);
  }

  // --- trace page: a waterfall of one trace ----------------------------------------------
  function depthOf(spans) {
    const byId = new Map(spans.map((s) => [s.span_id, s]));
    const depth = new Map();
    const walk = (s) => {
      if (depth.has(s.span_id)) return depth.get(s.span_id);
      const parent = s.parent_span_id && byId.get(s.parent_span_id);
      const d = parent && parent !== s ? walk(parent) + 1 : 0;
      depth.set(s.span_id, d); return d;
    };
    spans.forEach(walk);
    return depth;
  }

  // Spans in tree order (parent, then its children by start time).
  function treeOrder(spans) {
    const ids = new Set(spans.map((s) => s.span_id));
    const kids = new Map();
    spans.forEach((s) => { const p = s.parent_span_id && ids.has(s.parent_span_id) ? s.parent_span_id : ""; (kids.get(p) || kids.set(p, []).get(p)).push(s); });
    kids.forEach((list) => list.sort((a, b) => a.start_unix_nano - b.start_unix_nano));
    const out = [];
    const visit = (s) => { out.push(s); (kids.get(s.span_id) || []).forEach(visit); };
    (kids.get("") || []).forEach(visit);
    return out;
  }

  function kvTable(obj) {
    const table = document.createElement("table");
    Object.keys(obj).sort().forEach((k) => {
      const tr = document.createElement("tr"); tr.appendChild(el("td", k));
      const v = obj[k]; tr.appendChild(el("td", typeof v === "string" ? v : JSON.stringify(v))); table.appendChild(tr);
    });
    return table;
  }

  function renderTrace(trace) {
    const box = $("trace-waterfall"); box.replaceChildren();
    const start = Math.min(...trace.spans.map((s) => s.start_unix_nano));
    const total = Math.max(1, Math.max(...trace.spans.map((s) => s.end_unix_nano)) - start);
    const depth = depthOf(trace.spans);
    const head = el("div", null, "wf-head");
    head.append(el("div", "span"), el("div", "timeline (" + fmtNum(total / 1e6, 2) + " ms)"), el("div", "duration"));
    box.appendChild(head);
    treeOrder(trace.spans).forEach((s) => {
      const error = s.status && s.status.code === "ERROR";
      const row = el("details", null, "wf-row" + (error ? " error" : ""));
      row.dataset.span = s.name;
      const sum = document.createElement("summary");
      const name = el("div", null, "wf-name"); name.style.paddingLeft = (depth.get(s.span_id) * 16) + "px";
      name.textContent = s.name + (error ? "  ✖" : "");
      const track = el("div", null, "wf-track"); const bar = el("div", null, "wf-bar");
      bar.style.left = (100 * (s.start_unix_nano - start) / total) + "%";
      bar.style.width = (100 * Math.max(0, s.end_unix_nano - s.start_unix_nano) / total) + "%";
      track.appendChild(bar);
      sum.append(name, track, el("div", fmtNum(s.duration_ms, 2) + " ms", "wf-dur"));
      row.appendChild(sum);
      const detail = el("div", null, "wf-detail");
      detail.appendChild(kvTable(Object.assign({ "span.kind": s.kind, "service.name": s.service_name, status: s.status.code +
        (s.status.message ? ": " + s.status.message : "") }, s.attributes || {})));
      (s.events || []).forEach((e) => {
        const ev = el("div", null, "wf-event" + (e.name === "exception" ? " exception" : ""));
        ev.appendChild(el("b", e.name + " +" + fmtNum((e.time_unix_nano - s.start_unix_nano) / 1e6, 2) + " ms"));
        const attrs = Object.assign({}, e.attributes || {});
        const stack = attrs["exception.stacktrace"]; delete attrs["exception.stacktrace"];
        ev.appendChild(kvTable(attrs));
        if (stack) ev.appendChild(el("pre", stack));
        detail.appendChild(ev);
      });
      row.appendChild(detail);
      if (error) row.open = true;
      box.appendChild(row);
    });
  }

  async function loadTrace() {
    const id = state.arg || $("trace-input").value.trim();
    $("trace-input").value = id;
    const link = $("trace-jaeger"); link.hidden = true;
    const summary = $("trace-summary");
    $("trace-waterfall").replaceChildren();
    if (!id) { summary.textContent = "Follow a trace link from an alert or the query log, or paste a trace id."; return; }
    const headers = state.token ? { Authorization: "Bearer " + state.token } : {};
    const resp = await fetch("/api/traces/" + encodeURIComponent(id), { headers, cache: "no-store" });
    const data = await resp.json();
    if (!data.trace) {
      summary.textContent = data.error || (data.why ? "Trace " + id + " is not in Jaeger: " + data.why + "." :
        "Trace " + id + " was not found" + (data.errors && data.errors.length ? ": " + data.errors.join("; ") : " (not in Jaeger, nor in this process's span store)."));
      return;
    }
    const t = data.trace;
    summary.textContent = t.root + " · " + t.spans.length + " spans · " + fmtNum(t.duration_ms, 2) + " ms · " + t.services.join(", ") +
      (t.error ? " · ERROR" : " · ok") + " · from " + (data.source === "jaeger" ? "Jaeger" : "the in-process span store");
    if (data.jaeger_ui) { link.href = data.jaeger_ui; link.hidden = false; }
    renderTrace(t);
  }

  // --- navigation and refresh ------------------------------------------------------
  const LOADERS = { overview: loadOverview, metrics: loadMetrics, trends: loadTrends, alerts: loadAlerts, history: loadHistory,
    components: loadComponents, queries: loadQueries, trace: loadTrace, slos: loadSlos };

  async function refresh() {
    try {
      if (!state.config) state.config = await api("/api/config");
      if (state.page !== "overview") setStatus(await api("/api/health"));
      await LOADERS[state.page]();
      $("error").hidden = true;
      $("updated").textContent = "updated " + new Date().toLocaleTimeString(undefined, { hour12: false });
      document.body.dataset.loaded = state.page;
    } catch (err) {
      if (String(err.message).includes("authentication")) return;
      $("error").textContent = "Could not load data: " + err.message; $("error").hidden = false;
    }
  }

  function show(hash) {
    const [page, arg] = hash.split("/", 2);
    state.arg = arg ? decodeURIComponent(arg) : "";
    state.page = LOADERS[page] ? page : "overview";
    document.body.dataset.loaded = "";
    document.querySelectorAll(".page").forEach((p) => { p.hidden = p.id !== "page-" + state.page; });
    document.querySelectorAll("#tabs a").forEach((a) => a.classList.toggle("active", a.dataset.page === state.page));
    refresh();
  }

  function schedule(seconds) {
    if (state.timer) clearInterval(state.timer);
    state.timer = seconds > 0 ? setInterval(refresh, seconds * 1000) : null;
  }

  window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  $("refresh-now").addEventListener("click", refresh);
  $("refresh-every").addEventListener("change", (e) => schedule(Number(e.target.value)));
  $("metric-select").addEventListener("change", (e) => { state.metric = e.target.value; refresh(); });
  $("range-select").addEventListener("change", refresh);
  $("alert-level").addEventListener("change", refresh);
  $("history-level").addEventListener("change", refresh);
  $("trend-select").addEventListener("change", (e) => { state.trend = e.target.value; refresh(); });
  $("trend-range").addEventListener("change", refresh);
  $("trace-form").addEventListener("submit", (e) => { e.preventDefault(); location.hash = "#trace/" + encodeURIComponent($("trace-input").value.trim()); });
  $("query-filter").addEventListener("input", renderQueries);
  document.querySelectorAll("#queries-table th").forEach((th) => th.addEventListener("click", () => {
    state.sortDir = state.sortKey === th.dataset.key ? -state.sortDir : 1; state.sortKey = th.dataset.key; renderQueries();
  }));
  $("token-save").addEventListener("click", () => {
    state.token = $("token-input").value.trim(); sessionStorage.setItem("heritageAnalyzerToken", state.token);
    $("auth").hidden = true; state.config = null; refresh();
  });

  (async function start() {
    if (typeof uPlot === "undefined") {  // installed without network: see static/vendor/README.md
      const note = el("div", "Charts unavailable: uPlot was not installed (heritage_otel/service/static/vendor/README.md " +
        "says how: install again with network, or with HERITAGE_OTEL_UPLOT_TARBALL).", "banner error");
      note.id = "no-charts";
      document.body.insertBefore(note, document.querySelector("main"));
    }
    try { state.config = await api("/api/config"); } catch (e) { /* shown by refresh */ }
    const every = state.config ? state.config.refresh_seconds : 30;
    const select = $("refresh-every");
    if (![...select.options].some((o) => Number(o.value) === every)) { const o = el("option", every + " s"); o.value = String(every); select.appendChild(o); }
    select.value = String(every);
    schedule(every);
    show(location.hash.slice(1) || "overview");
  })();
})();
