// The dashboard: polls /dashboard/state once a second and draws it; controls send the admin
// token (typed in, or given in the address as #token=...) as a bearer token.
"use strict";

const LAND = [
  [[-168, 65], [-140, 70], [-95, 72], [-80, 63], [-60, 55], [-65, 45], [-80, 30], [-81, 25],
   [-97, 18], [-88, 15], [-80, 8], [-105, 20], [-117, 32], [-124, 40], [-125, 49], [-135, 58],
   [-150, 60]],
  [[-80, 8], [-60, 10], [-50, 0], [-35, -5], [-40, -22], [-58, -38], [-68, -55], [-75, -50],
   [-72, -30], [-81, -5]],
  [[-10, 36], [-9, 43], [-2, 48], [-5, 58], [5, 62], [10, 71], [30, 70], [40, 65], [40, 45],
   [28, 41], [20, 40], [12, 44], [3, 43]],
  [[-17, 21], [-10, 35], [10, 37], [32, 31], [43, 12], [51, 12], [40, -5], [35, -25],
   [20, -35], [12, -17], [9, 4], [-8, 4], [-17, 14]],
  [[40, 45], [40, 65], [70, 73], [110, 77], [140, 72], [180, 68], [160, 58], [142, 46],
   [130, 42], [122, 40], [120, 30], [110, 20], [105, 10], [100, 2], [97, 16], [80, 8], [72, 20],
   [57, 25], [50, 30], [35, 35]],
  [[114, -22], [122, -18], [130, -12], [137, -12], [145, -15], [153, -27], [150, -37],
   [140, -38], [130, -32], [115, -34]],
];
const FAULTS = {
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
const x = (lon) => ((lon + 180) / 360) * 720;
const y = (lat) => ((90 - lat) / 180) * 360;
let filled = false;

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function say(text) {
  $("message").textContent = text;
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

function drawMap(state) {
  const map = $("map");
  map.replaceChildren();
  for (const shape of LAND) {
    map.append(svg("polygon", { class: "land", points: shape.map(([lo, la]) => `${x(lo)},${y(la)}`).join(" ") }));
  }
  const where = Object.fromEntries(state.regions.map((r) => [r.name, r]));
  for (const flow of state.flows) {
    const to = where[flow.region];
    if (to) {
      map.append(svg("line", { class: "flow", "data-client": flow.client, "data-region": flow.region,
        x1: x(flow.lon), y1: y(flow.lat), x2: x(to.lon), y2: y(to.lat) }));
    }
    map.append(svg("circle", { class: "client", cx: x(flow.lon), cy: y(flow.lat), r: 3 }));
  }
  for (const region of state.regions) {
    const health = region.healthy ? "healthy" : "unhealthy";
    map.append(svg("circle", { class: `region ${health}`, "data-region": region.name,
      cx: x(region.lon), cy: y(region.lat), r: 6 }));
    const east = x(region.lon) > 620;  // labels near the right edge go to the left of the dot
    map.append(svg("text", { x: x(region.lon) + (east ? -8 : 8), y: y(region.lat) + 3,
      "text-anchor": east ? "end" : "start" }, region.name));
  }
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
      for (const [kind, parameters] of Object.entries(FAULTS)) {
        const button = document.createElement("button");
        button.textContent = kind;
        button.dataset.fault = kind;
        button.addEventListener("click", () => control("POST", "/dashboard/api/faults", {
          region: region.name,
          fault: { kind, ...parameters, duration_s: Number($("duration").value) },
        }));
        faults.append(button);
      }
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
    row.querySelector(".errors").textContent = `${(100 * region.error_rate).toFixed(1)}%`;
    row.querySelector(".p95").textContent = region.p95_ms === null ? "-" : region.p95_ms.toFixed(0);
  }
}

function fillChoices(state) {
  if (filled) return;
  filled = true;
  for (const [id, names] of [["policy-choice", state.policies], ["clients", state.clients],
    ["rollout-model", state.models]]) {
    for (const name of names) $(id).append(new Option(name, name));
  }
  $("policy-choice").value = state.policy;
}

function draw(state) {
  fillChoices(state);
  $("policy").textContent = state.policy || "-";
  drawMap(state);
  drawRegions(state);
  $("flows").replaceChildren(...state.flows.map((flow) => {
    const item = document.createElement("li");
    item.dataset.client = flow.client;
    item.dataset.region = flow.region || "";
    item.textContent = `${flow.client} → ${flow.region || "waiting"}`;
    return item;
  }));
  $("events").replaceChildren(...state.events.slice().reverse().map((event) => {
    const item = document.createElement("li");
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

$("token").value = new URLSearchParams(location.hash.slice(1)).get("token") || "";
$("policy-apply").addEventListener("click", () => control("PUT", "/dashboard/api/policy", { policy: $("policy-choice").value }));
$("load-start").addEventListener("click", () => control("POST", "/dashboard/api/load", {
  clients: Array.from($("clients").selectedOptions, (option) => option.value),
  rate_per_s: Number($("rate").value),
}));
$("load-stop").addEventListener("click", () => control("DELETE", "/dashboard/api/load", {}));
$("rollout-start").addEventListener("click", () => control("POST", "/dashboard/api/rollout", { model: $("rollout-model").value }));
poll();
