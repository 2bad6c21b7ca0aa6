// SPDX-License-Identifier: Apache-2.0
// The console's stylesheet and its one small script (live updates over server-sent events), served
// from the binary. Hand-written: no npm toolchain, nothing to build.
enum WebAssets {
    static let css = """
        :root { --fg: #1b1f24; --muted: #5b6570; --line: #d8dde3; --bg: #f6f7f9; --accent: #1f5fbf; --warn: #a15c00; --bad: #b3261e; --ok: #1e7a3a; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
        header { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.5rem; background: #11161c; color: #e9eef3; }
        header a { color: #cfd8e3; text-decoration: none; }
        header a[aria-current] { color: #fff; border-bottom: 2px solid #6ea8ff; }
        .brand { font-weight: 700; font-size: 1.15rem; color: #fff; letter-spacing: .02em; }
        nav { display: flex; gap: 1rem; flex: 1; }
        .who { display: flex; gap: .5rem; align-items: center; }
        .role { font-size: .8rem; padding: 0 .4rem; border: 1px solid #49525c; border-radius: 3px; }
        main { max-width: 1200px; margin: 0 auto; padding: 1.2rem 1.5rem 3rem; }
        h1 { font-size: 1.5rem; margin: .4rem 0 1rem; } h2 { font-size: 1.1rem; margin: 1.8rem 0 .6rem; }
        table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
        th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: #eef1f4; font-weight: 600; font-size: .85rem; color: var(--muted); }
        table.compact { width: auto; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
        tr.revoked td { color: var(--muted); text-decoration: line-through; } tr.deny td { color: var(--bad); } tr.changed td { background: #fff8e6; }
        .posture { font-family: ui-monospace, monospace; font-size: .8rem; }
        code, pre { font-family: ui-monospace, "SFMono-Regular", monospace; font-size: .85rem; }
        pre { background: #fff; border: 1px solid var(--line); padding: .8rem; overflow-x: auto; }
        pre.diff .add { color: var(--ok); } pre.diff .del { color: var(--bad); } pre.diff .hunk { color: var(--accent); }
        .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: .8rem; }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; color: var(--muted); }
        .card .n { display: block; font-size: 1.7rem; font-weight: 650; color: var(--fg); }
        .card.warn { border-color: var(--warn); } .card.warn .n { color: var(--warn); }
        .tag { display: inline-block; font-size: .78rem; padding: .05rem .45rem; border-radius: 3px; background: #e6ebf1; }
        .tag.stopped-reporting, .tag.hooks-missing, .tag.agents-outside-vigil { background: #fde7e4; color: var(--bad); }
        .tag.policy-stale, .tag.never-reported { background: #fff1d6; color: var(--warn); }
        form.stack { display: grid; gap: .7rem; max-width: 720px; } form.inline { display: inline-flex; flex-wrap: wrap; gap: .6rem; align-items: end; margin: .4rem 0 1rem; }
        label { display: grid; gap: .2rem; font-size: .88rem; color: var(--muted); } label.check { display: inline-flex; align-items: center; gap: .3rem; }
        input, select, textarea { font: inherit; padding: .35rem .5rem; border: 1px solid #b9c1ca; border-radius: 4px; background: #fff; color: var(--fg); }
        textarea { font-family: ui-monospace, monospace; font-size: .85rem; width: 100%; }
        button { font: inherit; padding: .4rem .9rem; border: 0; border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; }
        button.link { background: none; color: var(--accent); padding: 0; text-decoration: underline; } header button.link { color: #cfd8e3; }
        button.danger { background: var(--bad); }
        header form.inline { margin: 0; align-items: center; }
        .narrow { max-width: 420px; } .hint { color: var(--muted); font-size: .85rem; }
        .flash { padding: .6rem .8rem; border-radius: 4px; background: #e7f0ff; border: 1px solid #b9d0f5; }
        .flash.error { background: #fde7e4; border-color: #f2b8b0; color: var(--bad); } .flash.ok { background: #e5f4ea; border-color: #b3dcc0; }
        .issued { background: #fff; border: 2px solid var(--ok); border-radius: 6px; padding: .4rem 1rem; margin-bottom: 1rem; }
        pre.token { white-space: pre-wrap; word-break: break-all; } p.ok { color: var(--ok); }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; background: #fff; border: 1px solid var(--line); padding: .8rem 1rem; }
        dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
        .secret { font-size: 1.1rem; letter-spacing: .08em; }
        """

    /// Pages that show live state (`<main data-live>`) refresh their content when the console says
    /// something changed; nothing else needs the script.
    static let javascript = """
        "use strict";
        (function () {
          const main = document.querySelector("main[data-live]");
          if (!main || !window.EventSource) return;
          let pending = null;
          const refresh = async () => {
            pending = null;
            if (main.contains(document.activeElement) && document.activeElement.matches("input, textarea, select")) return;
            const answer = await fetch(location.href, { headers: { "Accept": "text/html" }, credentials: "same-origin" });
            if (!answer.ok) return;
            const page = new DOMParser().parseFromString(await answer.text(), "text/html");
            const fresh = page.querySelector("main[data-live]");
            if (fresh) main.innerHTML = fresh.innerHTML;
          };
          const events = new EventSource("/events");
          events.addEventListener("change", () => { if (!pending) pending = setTimeout(refresh, 500); });
        })();
        """
}
