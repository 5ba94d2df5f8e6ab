// The apps page: request, approve, reject, collect a secret. A file, not an inline script or
// on* attributes, so the console's CSP allows scripts from the gateway only; the buttons say
// what they do with data-act / data-app, the request form its department with data-department.
(function () {
  // Answers are shown as sentences, never as raw JSON: an error names what to do next.
  function show(ok, text, hint) {
    const box = document.getElementById("result");
    box.className = "flash " + (ok ? "ok" : "err");
    box.textContent = text + (hint ? " — " + hint : "");
  }
  async function call(url, body) {
    let r;
    try {
      r = await fetch(url, {method: "POST", headers: {"content-type": "application/json", accept: "application/json"},
                            body: JSON.stringify(body || {})});
    } catch (e) { show(false, "无法连接网关 The gateway did not answer", "check your network and try again"); return false; }
    let data = {};
    try { data = await r.json(); } catch (e) { /* not JSON: say so below */ }
    if (!r.ok) {
      show(false, "操作失败 Failed (HTTP " + r.status + "): " + (data.detail || data.message || data.title || r.statusText),
           data.hint || (r.status >= 500 ? "try again in a minute; if it persists tell an operations engineer" : ""));
      return false;
    }
    if (data.client_secret) show(true, "客户端密钥（只显示这一次，请立即保存）Secret of " + data.client_id + " — shown once, store it now: " + data.client_secret);
    else show(true, "已完成 Done" + (data.status ? ": " + data.status : ""));
    return true;
  }
  async function act(id, what, note) {
    if (what === "reject" && !note) return;
    const ok = await call(`/api/v1/identity/apps/${id}/${what}`, what === "secret" ? {} : {note: note || ""});
    if (ok && what !== "secret") location.reload();
  }
  async function requestApp(ev) {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const department = ev.target.dataset.department;
    const roles = (f.get("roles") || "").split(",").map(s => s.trim()).filter(Boolean).map(name => ({name}));
    const ok = await call("/api/v1/identity/apps", {name: f.get("name"), department,
      home_url: f.get("home_url"), roles,
      redirect_uris: f.get("redirect_uris").split("\n").map(s => s.trim()).filter(Boolean)});
    if (ok) location.reload();
    return false;
  }

  document.addEventListener("click", function (ev) {
    const button = ev.target.closest("button[data-act]");
    if (!button) return;
    const what = button.dataset.act;
    act(button.dataset.app, what, what === "reject" ? prompt("驳回理由 reason?") : undefined);
  });
  const form = document.getElementById("request");
  if (form) form.addEventListener("submit", requestApp);
})();
