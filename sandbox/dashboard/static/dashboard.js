// The dashboard: draws the world's land once (Natural Earth 1:110m, served by the gateway), then
// polls /dashboard/state once a second and draws it. Controls send the admin token (typed in,
// or given in the address as #token=..., which is taken out of the address once read).
"use strict";

const FAULTS = {  // the parameters each fault button sends
  outage: {},
  latency: { latency_ms: 300, jitter_ms: 50 },
  error_rate: { error_rate: 0.5 },
  timeout: { timeout_ms: 3000 },
  bad_model: {},
  deploy_failures: {},
  crash: {},
};
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const MAP = $("map");
const [WEST, SOUTH, EAST, NORTH] = MAP.dataset.bounds.split(" ").map(Number);
const [, , WIDTH, HEIGHT] = MAP.getAttribute("viewBox").split(" ").map(Number);
const x = (lon) => ((lon - WEST) / (EAST - WEST)) * WIDTH;  // equirectangular
const y = (lat) => ((NORTH - lat) / (NORTH - SOUTH)) * HEIGHT;
const LEGEND = { x: 8, y: HEIGHT - 112, width: 0, height: 104 };  // in the South Pacific
let filled = false;
let latest = null;

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function say(text) {
  $("message").textContent = text;
}

function takeToken() {
  const given = new URLSearchParams(location.hash.slice(1)).get("token");
  if (given) {  // out of the address bar (and the history) of a projected page
    sessionStorage.setItem("token", given);
    history.replaceState(null, "", location.pathname + location.search);
  }
  $("token").value = given || sessionStorage.getItem("token") || "";
  $("token").addEventListener("change", () => sessionStorage.setItem("token", $("token").value));
}

async function control(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${$("token").value}` },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  say(response.ok ? "" : answer.error);
  return response.ok;
}

async function drawLand() {
  const response = await fetch("/dashboard/map/land.json");
  const land = await response.json();
  const group = $("land");
  for (const feature of land.features) {
    const shape = feature.geometry;
    const polygons = shape.type === "Polygon" ? [shape.coordinates] : shape.coordinates;
    for (const rings of polygons) {
      const d = rings.map((ring) => "M" + ring.map(([lon, lat]) =>
        `${x(lon).toFixed(1)},${y(lat).toFixed(1)}`).join("L") + "Z").join("");
      group.append(svg("path", { class: "land", d, "fill-rule": "evenodd" }));
    }
  }
}

function drawLegend() {
  const { x: left, y: top, height } = LEGEND;
  const legend = $("legend");
  legend.setAttribute("class", "legend");
  const box = svg("rect", { class: "legend-box", x: left, y: top, width: 0, height, rx: 4 });
  legend.append(box);
  const rows = [
    [svg("circle", { class: "region healthy", r: 7 }), "healthy region"],
    [svg("circle", { class: "region unhealthy", r: 7 }), "unhealthy region (down)"],
    [svg("circle", { class: "client", r: 8 }), "users near a region"],
    [svg("line", { class: "flow", x1: -10, y1: 0, x2: 10, y2: 0 }), "their traffic → serving region"],
  ];
  let right = left;
  rows.forEach(([mark, text], i) => {
    const row = top + 16 + i * 24;
    mark.setAttribute("transform", `translate(${left + 20},${row})`);
    const label = svg("text", { x: left + 38, y: row, "dominant-baseline": "central" }, text);
    legend.append(mark, label);
    const { x: at, width } = label.getBBox();
    right = Math.max(right, at + width);
  });
  LEGEND.width = right - left + 10;
  box.setAttribute("width", LEGEND.width);
}

function overlaps(a, b, gap = 2) {
  return a.x - gap < b.x + b.width && b.x - gap < a.x + a.width &&
    a.y - gap < b.y + b.height && b.y - gap < a.y + a.height;
}

function inFrame(box) {
  return box.x >= 2 && box.y >= 2 && box.x + box.width <= WIDTH - 2 && box.y + box.height <= HEIGHT - 2;
}

// Each label goes to the first place around its marker, nearest first, that stays in the frame and
// clears every marker, the legend and the labels placed before it; farther places get a leader line.
function placeLabels(labels, obstacles) {
  const placed = [];
  for (const { node, cx, cy, r } of labels) {
    const { x: dx, y: dy, width, height } = node.getBBox();  // drawn at 0,0 so far
    let best = null;
    for (let ring = 0; ring < 8 && !(best && best.clear); ring++) {
      const d = r + 4 + ring * 15;
      const s = d * 0.7;
      const spots = [
        [cx + d, cy - height / 2], [cx - d - width, cy - height / 2],
        [cx + s, cy - s - height], [cx + s, cy + s], [cx - s - width, cy - s - height],
        [cx - s - width, cy + s], [cx - width / 2, cy - d - height], [cx - width / 2, cy + d],
      ];
      for (const [left, top] of spots) {
        const box = { x: left, y: top, width, height };
        if (!inFrame(box)) continue;
        const hit = [...obstacles, ...placed].filter((other) => overlaps(box, other)).length;
        if (!best || hit < best.hit) best = { box, hit, ring, clear: hit === 0 };
        if (hit === 0) break;
      }
    }
    const box = best ? best.box : { x: cx + r + 4, y: cy - height / 2, width, height };
    node.setAttribute("x", box.x - dx);
    node.setAttribute("y", box.y - dy);
    placed.push(box);
    if (best && best.ring > 0) {
      const nx = Math.max(box.x, Math.min(cx, box.x + width));
      const ny = Math.max(box.y, Math.min(cy, box.y + height));
      node.before(svg("line", { class: "leader", x1: cx, y1: cy, x2: nx, y2: ny }));
    }
  }
}

function drawOverlay(state) {
  const overlay = $("overlay");
  overlay.replaceChildren();
  const where = Object.fromEntries(state.regions.map((r) => [r.name, r]));
  const obstacles = [{ ...LEGEND }];
  for (const flow of state.flows) {
    const to = where[flow.region];
    if (to) {
      overlay.append(svg("line", { class: "flow", "data-client": flow.client,
        "data-region": flow.region, x1: x(flow.lon), y1: y(flow.lat), x2: x(to.lon), y2: y(to.lat) }));
    }
  }
  for (const flow of state.flows) {  // a ring, so that a region in the same city shows through
    const ring = svg("circle", { class: "client", "data-client": flow.client, cx: x(flow.lon), cy: y(flow.lat), r: 11 });
    ring.append(svg("title", {}, `users near ${flow.client}`));
    overlay.append(ring);
    obstacles.push({ x: x(flow.lon) - 12, y: y(flow.lat) - 12, width: 24, height: 24 });
  }
  const labels = [];
  for (const region of state.regions) {
    const [cx, cy] = [x(region.lon), y(region.lat)];
    const health = region.healthy ? "healthy" : "unhealthy";
    const dot = svg("circle", { class: `region ${health}`, "data-region": region.name, cx, cy, r: 7 });
    dot.append(svg("title", {}, `${region.name} (${region.location}): ${health}`));
    overlay.append(dot);
    obstacles.push({ x: cx - 8, y: cy - 8, width: 16, height: 16 });
  }
  for (const region of state.regions) {
    const text = region.healthy ? region.name : `${region.name} (down)`;
    const node = svg("text", { class: region.healthy ? "label" : "label down",
      "data-region": region.name }, text);
    overlay.append(node);
    labels.push({ node, cx: x(region.lon), cy: y(region.lat), r: 7 });
  }
  placeLabels(labels, obstacles);
}

function faultButton(region, kind) {
  const button = document.createElement("button");
  button.textContent = kind;
  button.dataset.fault = kind;
  button.addEventListener("click", () => control("POST", "/dashboard/api/faults", {
    region,
    fault: { kind, ...(FAULTS[kind] || {}), duration_s: Number($("duration").value) },
  }));
  return button;
}

function drawRegions(state) {
  const body = $("regions").querySelector("tbody");
  for (const region of state.regions) {
    let row = body.querySelector(`tr[data-region="${region.name}"]`);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.region = region.name;
      row.innerHTML = "<td class=name></td><td class=health></td><td class=model></td>" +
        "<td class=rate></td><td class=errors></td><td class=p95></td><td class=faults></td>";
      row.querySelector(".name").textContent = `${region.name} (${region.location})`;
      const faults = row.querySelector(".faults");
      for (const kind of state.faults) faults.append(faultButton(region.name, kind));
      const clear = document.createElement("button");
      clear.textContent = "clear";
      clear.dataset.fault = "clear";
      clear.addEventListener("click", () => control("DELETE", "/dashboard/api/faults", { region: region.name }));
      faults.append(clear);
      body.append(row);
    }
    const health = row.querySelector(".health");
    health.textContent = region.healthy ? "healthy" : "unhealthy";
    health.className = `health ${region.healthy ? "healthy" : "unhealthy"}`;
    const shares = Object.entries(region.split || {});
    const served = shares.length > 1
      ? shares.map(([version, share]) => `${version} ${share}%`).join(" / ")
      : region.version;
    row.querySelector(".model").textContent = region.model ? `${region.model} ${served}` : "none";
    row.querySelector(".rate").textContent = region.rate_per_s.toFixed(1);
    const errors = region.error_rate === null ? "-" : `${(100 * region.error_rate).toFixed(1)}%`;
    const refused = region.refused_per_s ? `; ${region.refused_per_s}/s bad requests refused` : "";
    row.querySelector(".errors").textContent = errors + refused;
    row.querySelector(".p95").textContent = region.p95_ms === null ? "-" : region.p95_ms.toFixed(0);
  }
  $("unrouted").textContent = state.unrouted.length
    ? "Answered by the gateway, routed to no region: " + state.unrouted.map((u) =>
      `${u.status} at ${u.rate_per_s}/s (last: ${u.last})`).join("; ")
    : "";
}

function drawRouting(routing) {
  $("policy").textContent = routing.policy || "-";
  if (!routing.policy) return;
  const parts = [`retries ${routing.retries}`, `DNS TTL ${routing.dns_ttl_s} s`];
  if (routing.policy === "failover") parts.push(`order ${routing.order.join(", ")}`);
  if (routing.policy === "weighted") {
    parts.push("weights " + Object.entries(routing.weights).map(([r, w]) => `${r} ${w}`).join(", "));
  }
  $("routing-settings").textContent = `(${parts.join("; ")})`;
}

function fillPolicySettings() {
  const routing = latest ? latest.routing : {};
  const box = $("policy-settings");
  box.replaceChildren();
  const chosen = $("policy-choice").value;
  if (chosen === "weighted") {
    box.append("Weights (0-255): ");
    for (const region of routing.regions || []) {
      const label = document.createElement("label");
      const input = Object.assign(document.createElement("input"),
        { type: "number", min: 0, max: 255, step: 1, value: (routing.weights || {})[region] ?? 0 });
      input.dataset.region = region;
      label.append(`${region} `, input);
      box.append(label);
    }
  } else if (chosen === "failover") {
    const label = document.createElement("label");
    const input = Object.assign(document.createElement("input"),
      { id: "order", size: 40, value: (routing.order || []).join(", ") });
    label.append("Order (first healthy region first): ", input);
    box.append(label);
  }
}

function switchPolicy() {
  const policy = $("policy-choice").value;
  const body = { policy };
  if (policy === "weighted") {
    const inputs = Array.from($("policy-settings").querySelectorAll("input[data-region]"));
    body.weights = Object.fromEntries(inputs.map((input) => [input.dataset.region, Number(input.value)]));
  }
  if (policy === "failover") {
    body.order = $("order").value.split(",").map((name) => name.trim()).filter(Boolean);
  }
  control("PUT", "/dashboard/api/policy", body);
}

function fillChoices(state) {
  if (filled) return;
  filled = true;
  for (const [id, names] of [["policy-choice", state.policies], ["clients", state.clients],
    ["rollout-model", state.models]]) {
    for (const name of names) $(id).append(new Option(name, name));
  }
  $("policy-choice").value = state.policy;
  fillPolicySettings();
}

function draw(state) {
  latest = state;
  fillChoices(state);
  drawRouting(state.routing);
  drawOverlay(state);
  drawRegions(state);
  $("flows").replaceChildren(...state.flows.map((flow) => {
    const item = document.createElement("li");
    item.dataset.client = flow.client;
    item.dataset.region = flow.region || "";
    item.textContent = `users near ${flow.client} (${flow.rate_per_s} requests/s) → ${flow.region || "waiting"}`;
    return item;
  }));
  $("events").replaceChildren(...state.events.slice().reverse().map((event) => {
    const item = document.createElement("li");
    item.className = event.kind;
    item.textContent = `t=${event.t} s  ${event.kind}: ${event.text}`;
    return item;
  }));
}

async function poll() {
  try {
    const response = await fetch("/dashboard/state");
    draw(await response.json());
  } catch (error) {
    say(`the gateway does not answer: ${error}`);
  }
  setTimeout(poll, 1000);
}

takeToken();
$("policy-choice").addEventListener("change", fillPolicySettings);
$("policy-apply").addEventListener("click", switchPolicy);
$("load-start").addEventListener("click", () => control("POST", "/dashboard/api/load", {
  clients: Array.from($("clients").selectedOptions, (option) => option.value),
  rate_per_s: Number($("rate").value),
}));
$("load-stop").addEventListener("click", () => control("DELETE", "/dashboard/api/load", {}));
$("rollout-start").addEventListener("click", () => control("POST", "/dashboard/api/rollout", { model: $("rollout-model").value }));
drawLegend();
drawLand().catch((error) => say(`the map's land did not load: ${error}`)).finally(poll);
