// The progress dashboard: signs the official in, fetches /api/v1/progress with their token and
// draws it. Tokens live in this tab's sessionStorage only. Every value goes in as text (never as
// HTML), and the charts are SVG built element by element, so the strict CSP holds.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("dashboard-data").textContent);
  const words = data.words;
  const SVG = "http://www.w3.org/2000/svg";
  const STORE = { access: "bimtek.access_token", refresh: "bimtek.refresh_token" };
  const number = new Intl.NumberFormat(data.language === "en" ? "en-GB" : "id-ID");
  const $ = (id) => document.getElementById(id);
  let timer = null;

  function element(tag, text, attributes) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    Object.entries(attributes || {}).forEach(([key, value]) => node.setAttribute(key, value));
    return node;
  }

  function svg(tag, attributes) {
    const node = document.createElementNS(SVG, tag);
    Object.entries(attributes || {}).forEach(([key, value]) => node.setAttribute(key, String(value)));
    return node;
  }

  function shown(value) {
    return value === null || value === undefined ? "—" : number.format(value);
  }

  function keep(pair) {
    sessionStorage.setItem(STORE.access, pair.access_token);
    sessionStorage.setItem(STORE.refresh, pair.refresh_token);
  }

  function forget() {
    sessionStorage.removeItem(STORE.access);
    sessionStorage.removeItem(STORE.refresh);
  }

  async function post(path, body) {
    return fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json", "Accept-Language": data.language },
      body: JSON.stringify(body), credentials: "omit",
    });
  }

  async function refreshed() {
    const token = sessionStorage.getItem(STORE.refresh);
    if (!token) return false;
    const answer = await post("/api/v1/auth/refresh", { refresh_token: token });
    if (!answer.ok) return false;
    keep(await answer.json());
    return true;
  }

  async function progress() {
    const query = data.regency ? "?regency=" + encodeURIComponent(data.regency) : "";
    const ask = () => fetch("/api/v1/progress" + query, {
      headers: { Authorization: "Bearer " + sessionStorage.getItem(STORE.access), "Accept-Language": data.language },
      credentials: "omit",
    });
    let answer = await ask();
    if (answer.status === 401 && (await refreshed())) answer = await ask();
    return answer;
  }

  function showSignIn(message) {
    forget();
    clearInterval(timer);
    $("progress").hidden = true;
    $("sign-out").hidden = true;
    $("status").textContent = "";
    $("sign-in").hidden = false;
    $("sign-in-error").textContent = message || "";
  }

  async function load() {
    $("status").textContent = words.loading;
    let answer;
    try {
      answer = await progress();
    } catch (error) {
      $("status").textContent = words.failed;
      return;
    }
    if (answer.status === 401) return showSignIn("");
    if (!answer.ok) {
      let detail = words.failed;
      try { detail = (await answer.json()).detail || detail; } catch (error) { /* not a problem document */ }
      $("status").textContent = detail;
      return;
    }
    draw(await answer.json());
  }

  function draw(progress) {
    $("sign-in").hidden = true;
    $("sign-out").hidden = false;
    $("status").textContent = "";
    $("progress").hidden = false;
    $("progress").dataset.regency = progress.regency || "";
    $("scope").textContent = progress.regency ? (progress.name || progress.regency) + " (" + progress.regency + ")"
      : words.province;
    $("area-heading").textContent = progress.area_level === "district" ? words.district : words.regency;

    const problems = $("problems");
    problems.replaceChildren(...progress.problems.map((note) => element("li", note.detail, { "data-service": note.service })));

    $("totals").replaceChildren(...[
      ["cooperatives", "cooperatives_registered"], ["registered", "participants_registered"],
      ["scheduled", "participants_scheduled"], ["checked_in", "participants_checked_in"],
      ["completed", "participants_completed"], ["certified", "certificates_issued"],
      ["awaiting", "certificates_awaiting_issue"], ["reissued", "certificates_reissued"],
      ["revoked", "certificates_revoked"],
    ].map(([word, figure]) => {
      const card = element("div", null, { class: "card", "data-figure": figure });
      card.append(element("strong", shown(progress.totals[figure])), element("span", words[word]));
      return card;
    }));

    const cells = (area) => data.columns.map((figure) => element("td", shown(area[figure]), {
      "data-column": figure, "data-value": area[figure] === null ? "" : String(area[figure]),
    }));
    $("areas").tBodies[0].replaceChildren(...progress.areas.map((area) => {
      const row = element("tr", null, { "data-code": area.code });
      const heading = element("th", null, { scope: "row", title: area.code });
      if (progress.area_level === "regency") {  // the province: each regency opens its own page
        heading.append(element("a", area.name || area.code, {
          href: "/dashboard/" + encodeURIComponent(area.code) + "?lang=" + data.language }));
      } else {
        heading.textContent = area.name || area.code;
      }
      row.append(heading, ...cells(area));
      return row;
    }));
    const total = element("tr", null, { "data-code": "total" });
    total.append(element("th", words.total, { scope: "row" }), ...cells(progress.totals));
    $("areas").tFoot.replaceChildren(total);

    $("chart").replaceChildren(bars(progress.areas, [
      ["participants_registered", "registered"], ["participants_checked_in", "checked_in"],
      ["certificates_issued", "certified"],
    ]));
    $("coverage").replaceChildren(bars(progress.areas, [["villages", "villages"], ["cooperatives_registered", "cooperatives"]]));

    const sessions = progress.upcoming_sessions;
    const body = $("sessions").tBodies[0];
    if (sessions === null) {
      body.replaceChildren(element("tr"));
      body.firstChild.append(element("td", words.not_counted, { colspan: "5" }));
    } else if (sessions.length === 0) {
      body.replaceChildren(element("tr"));
      body.firstChild.append(element("td", words.no_sessions, { colspan: "5" }));
    } else {
      body.replaceChildren(...sessions.map((session) => {
        const row = element("tr", null, { "data-session": session.id });
        row.append(
          element("td", (progress.regency ? "" : session.regency + " · ") + "#" + session.number),
          element("td", session.days.join(", ")),
          element("td", session.districts.map((d) => d.name || d.code).join(", ")),
          element("td", session.venue),
          element("td", shown(session.seats_taken) + " / " + shown(session.capacity), { "data-value": String(session.seats_taken) }),
        );
        return row;
      }));
    }
    $("updated").textContent = words.updated + ": " + new Date(progress.generated_at).toLocaleString(
      data.language === "en" ? "en-GB" : "id-ID");
    $("progress").dataset.loaded = "true";
  }

  // A horizontal bar chart: a group of bars per area, one per figure, scaled to the largest value.
  function bars(areas, series) {
    const rowHeight = 8 + series.length * 10, labelWidth = 150, width = 640, barsWidth = width - labelWidth - 60;
    const height = areas.length * rowHeight + 30;
    const largest = Math.max(1, ...areas.flatMap((area) => series.map(([figure]) => area[figure] || 0)));
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart" });
    areas.forEach((area, index) => {
      const top = index * rowHeight;
      const label = svg("text", { x: labelWidth - 6, y: top + rowHeight / 2 + 4, "text-anchor": "end", class: "label" });
      label.textContent = area.name || area.code;
      chart.append(label);
      series.forEach(([figure, word], position) => {
        const value = area[figure];
        const bar = svg("rect", {
          x: labelWidth, y: top + 4 + position * 10, height: 8,
          width: value ? Math.max(1, (value / largest) * barsWidth) : 0, class: "series-" + position,
        });
        const title = svg("title");
        title.textContent = `${area.name || area.code}: ${words[word]} ${shown(value)}`;
        bar.append(title);
        chart.append(bar);
      });
    });
    series.forEach(([, word], position) => {
      const x = labelWidth + position * 150, y = height - 10;
      chart.append(svg("rect", { x, y: y - 8, width: 10, height: 8, class: "series-" + position }));
      const legend = svg("text", { x: x + 14, y, class: "legend" });
      legend.textContent = words[word];
      chart.append(legend);
    });
    return chart;
  }

  $("sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    $("sign-in-error").textContent = "";
    const answer = await post("/api/v1/auth/token", { username: form.username.value, password: form.password.value });
    if (!answer.ok) {
      $("sign-in-error").textContent = answer.status === 401 ? words.bad_sign_in : words.failed;
      return;
    }
    keep(await answer.json());
    form.reset();
    start();
  });

  $("sign-out").addEventListener("click", async () => {
    const token = sessionStorage.getItem(STORE.refresh);
    if (token) await post("/api/v1/auth/logout", { refresh_token: token }).catch(() => null);
    showSignIn("");
  });

  function start() {
    load();
    clearInterval(timer);
    timer = setInterval(load, 60000);  // the figures move during a training day
  }

  if (sessionStorage.getItem(STORE.access)) start(); else showSignIn("");
})();
