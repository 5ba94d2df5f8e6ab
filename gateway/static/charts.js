// KPI trend charts (Apache ECharts from npm, served by the gateway). Each <div class="chart">
// names its series in data-* attributes; the data comes from /api/v1/kpi/history.
(function () {
  const LABELS = {online_rate: "在线率 online", intact_rate: "完好率 intact", networking_rate: "联网率 networked",
                  count: "数量 count", open: "未处理 open", cpu_used_ratio: "CPU", memory_used_ratio: "内存 memory",
                  pods_used_ratio: "Pods"};
  async function draw(el) {
    const q = new URLSearchParams({days: el.dataset.days || "30", scope: el.dataset.scope || "district"});
    (el.dataset.metrics || "").split(",").filter(Boolean).forEach(m => q.append("metric", m));
    if (el.dataset.key) q.set("key", el.dataset.key);
    const r = await fetch("/api/v1/kpi/history?" + q, {headers: {accept: "application/json"}});
    if (!r.ok) { el.textContent = "无法读取指标历史 cannot read the KPI history (HTTP " + r.status + ")"; return; }
    const data = await r.json();
    const percent = (el.dataset.percent || "true") === "true";
    const series = data.series.map(s => ({
      name: (data.scope === "district" ? "" : s.name + " · ") + (LABELS[s.metric] || s.metric),
      type: "line", showSymbol: s.points.length < 40, smooth: false,
      data: s.points.map(([t, v]) => [t, v === null ? null : (percent ? +(v * 100).toFixed(2) : v)]),
    }));
    el.dataset.points = String(series.reduce((n, s) => n + s.data.length, 0));
    if (!series.length) {
      el.innerHTML = '<p class="empty">尚无记录。No KPIs recorded in this window: run <code>govops video kpi --record</code> (daily).</p>';
      el.dataset.rendered = "empty";
      return;
    }
    const chart = echarts.init(el, null, {renderer: el.dataset.renderer || "canvas"});
    const big = el.classList.contains("big");
    const targets = (el.dataset.targets || "").split(",").filter(Boolean).map(Number);
    if (targets.length && series[0]) series[0].markLine = {symbol: "none", silent: true,
      data: targets.map(t => ({yAxis: t, label: {formatter: "目标 " + t + (percent ? "%" : "")}}))};
    chart.setOption({
      animation: false,
      textStyle: {fontSize: big ? 22 : 12},
      tooltip: {trigger: "axis"},
      legend: {top: 0, textStyle: {fontSize: big ? 22 : 12, color: big ? "#dbe6f3" : "#1d2733"}},
      grid: {left: big ? 80 : 50, right: 20, top: big ? 50 : 36, bottom: 30},
      xAxis: {type: "time", axisLabel: {fontSize: big ? 18 : 11}},
      yAxis: {type: "value", scale: true, max: targets.length ? (v => Math.max(v.max, ...targets)) : null, axisLabel: {fontSize: big ? 18 : 11, formatter: percent ? "{value}%" : "{value}"}},
      series,
    });
    window.addEventListener("resize", () => chart.resize());
    el.dataset.rendered = "chart";
  }
  window.govopsCharts = () => document.querySelectorAll(".chart[data-scope]").forEach(el => draw(el).catch(e => {
    el.textContent = "图表出错 chart failed: " + e; el.dataset.rendered = "error"; }));
  document.addEventListener("DOMContentLoaded", window.govopsCharts);
})();
