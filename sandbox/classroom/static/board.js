// The instructor's board: how many joined and answered, and for each question the room's
// answers (right, and each wrong one under the misconception it stands for), a Reveal button,
// and the gradebook; with a live fleet beside the class, "Predict, then observe": open a
// prediction, see how the room answered, run the outage on the fleet and set what it did beside
// the room's answers. Polls GET /class/api/results every 2 s. The instructor token comes in the
// address as #token=... and is taken out of it at once (kept in sessionStorage), so that a
// projected address bar does not show it. Every text is put in the page as text, never as HTML.
"use strict";

const KEY = "class-instructor-token";  // sessionStorage key

let token = "";
const drawn = {};  // question or prediction id -> the JSON last drawn in its block
const observing = new Set();  // prediction ids whose observation is running
const failed = {};  // prediction id -> why its last observation failed (kept past the polls)
let last = null;  // the results last drawn

function takeToken() {
  const given = new URLSearchParams(location.hash.slice(1)).get("token");
  if (given) {  // out of the address bar (and the history) of a projected page
    sessionStorage.setItem(KEY, given);
    history.replaceState(null, "", location.pathname + location.search);
  }
  token = given || sessionStorage.getItem(KEY) || "";
}

function askToken(reason) {
  polls.stop();
  $("token-form").hidden = false;
  say(reason);
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function errorOf(response) {
  try {
    return (await response.json()).error || `the server answered ${response.status}`;
  } catch {
    return `the server answered ${response.status}`;
  }
}

// -- drawing ----------------------------------------------------------------------------------

function bar(kind, label, count, answered, belief) {
  const share = answered ? Math.round((100 * count) / answered) : 0;
  const row = el("li", { class: `bar ${kind}` });
  const head = el("div", { class: "bar-label" });
  head.append(el("span", { class: "name" }, label), el("span", { class: "count" }, String(count)));
  const track = el("div", { class: "track" });
  const fill = el("div", { class: "fill" });
  fill.style.width = `${share}%`;
  track.append(fill);
  row.append(head, track);
  if (belief) row.append(el("p", { class: "belief" }, belief));
  return row;
}

function block(qid) {
  let section = document.querySelector(`section[data-question="${CSS.escape(qid)}"]`);
  if (section) return section;
  section = el("section", { class: "question", "data-question": qid });
  const title = el("h2", {}, `Question ${qid.slice(1)}`);
  const reveal = el("button", { type: "button", "data-reveal": qid }, "Reveal");
  reveal.addEventListener("click", () => revealQuestion(qid, reveal));
  const head = el("div", { class: "question-head" });
  head.append(title, reveal);
  section.append(head, el("p", { class: "tally" }), el("ul", { class: "bars" }));
  $("questions").append(section);
  return section;
}

function drawQuestion(question) {
  const section = block(question.id);
  const reveal = section.querySelector("[data-reveal]");
  reveal.disabled = question.revealed || reveal.classList.contains("sending");
  reveal.textContent = question.revealed ? "Revealed" : "Reveal";
  section.classList.toggle("revealed", question.revealed);
  const seen = JSON.stringify(question);
  if (drawn[question.id] === seen) return;  // unchanged: leave the block as it is
  drawn[question.id] = seen;
  const wrong = question.answered - question.correct;
  const tally = section.querySelector(".tally");
  tally.replaceChildren(
    el("span", { class: "answered" }, `${question.answered} answered`), " · ",
    el("span", { class: "correct" }, `${question.correct} right`), " · ",
    el("span", { class: "wrong" }, `${wrong} wrong`),
  );
  const bars = section.querySelector(".bars");
  bars.replaceChildren(bar("right", "right", question.correct, question.answered));
  for (const m of question.misconceptions) {
    const row = bar("misconception", m.name, m.count, question.answered, m.belief);
    row.dataset.misconception = m.name;
    bars.append(row);
  }
}

// -- predictions ------------------------------------------------------------------------------

// The choices of a select, set again only when the fleet's regions change (not at every poll,
// which would undo the instructor's choice).
function fill(select, regions) {
  const now = [...select.options].map((o) => o.value);
  if (JSON.stringify(now) === JSON.stringify(regions)) return;
  select.replaceChildren(...regions.map((region) => el("option", { value: region }, region)));
}

function median(sorted) {
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function seconds(value) {
  return `${Number(value.toFixed(1))} s`;
}

function predictionBlock(pid) {
  let section = document.querySelector(`section[data-prediction="${CSS.escape(pid)}"]`);
  if (section) return section;
  section = el("section", { class: "question prediction", "data-prediction": pid });
  const observe = el("button", { type: "button", "data-observe": pid }, "Observe");
  observe.addEventListener("click", () => observePrediction(pid));
  const head = el("div", { class: "question-head" });
  head.append(el("h2", {}, `Prediction ${pid.slice(1)}`), observe);
  section.append(
    head,
    el("p", { class: "prompt" }),
    el("p", { class: "tally where-tally" }),
    el("ul", { class: "bars where" }),
    el("p", { class: "tally when" }),
    el("p", { class: "observing", role: "status" }),
    el("div", { class: "fleet-answer", hidden: "" }),
  );
  $("predictions").prepend(section);  // the newest first, beside the panel's form
  return section;
}

// The Observe button and the waiting line: from the last results and the observations running.
function drawObserving(prediction) {
  const section = predictionBlock(prediction.id);
  const running = observing.has(prediction.id) && !prediction.observed;
  const button = section.querySelector("[data-observe]");
  button.disabled = prediction.observed || running;
  button.textContent = prediction.observed ? "Observed" : running ? "Observing…" : "Observe";
  const status = section.querySelector(".observing");
  const why = prediction.observed ? "" : failed[prediction.id] || "";
  status.textContent = running ? "The fleet is running the outage…" : why;
  status.classList.toggle("error", !running && why !== "");
  status.hidden = !running && why === "";
}

// `fleet`: the fleet's regions, in the order the students' options list them (A, B, ...).
function drawPrediction(p, fleet) {
  const section = predictionBlock(p.id);
  drawObserving(p);
  section.classList.toggle("revealed", p.observed);
  const seen = JSON.stringify(p);
  if (drawn[p.id] === seen) return;
  drawn[p.id] = seen;
  section.querySelector(".prompt").textContent =
    `${p.fail} fails: which region are users near ${p.near} sent to first, and after how many ` +
    "seconds?";
  const regions = [...fleet.filter((r) => r in p.where),
    ...Object.keys(p.where).filter((r) => !fleet.includes(r))];
  const chose = regions.reduce((sum, region) => sum + p.where[region], 0);
  section.querySelector(".where-tally").textContent =
    `Where: ${chose} answered` + (p.observed ? ` · ${p.correct[`${p.id}-where`]} right` : "");
  const bars = section.querySelector(".bars.where");
  bars.replaceChildren();
  for (const region of regions) {
    const kind = !p.observed ? "region" : region === p.served_by ? "right" : "misconception";
    const row = bar(kind, region, p.where[region], chose);
    row.dataset.region = region;
    if (p.observed && region === p.served_by) {
      row.append(el("p", { class: "belief" }, "where the fleet sent them"));
    }
    bars.append(row);
  }
  const when = section.querySelector(".tally.when");
  when.replaceChildren(el("span", { class: "answered" }, `When: ${p.when.length} answered`));
  if (p.when.length) {
    when.append(
      " · ",
      el("span", { class: "median" }, `median ${seconds(median(p.when))}`),
      " · ",
      el("span", { class: "range" },
        `from ${seconds(p.when[0])} to ${seconds(p.when[p.when.length - 1])}`),
    );
  }
  if (p.observed) {
    when.append(" · ", el("span", { class: "correct" }, `${p.correct[`${p.id}-when`]} right`));
  }
  const answer = section.querySelector(".fleet-answer");
  answer.hidden = !p.observed;
  if (p.observed) {
    const [low, high] = p.right_from_to;
    answer.replaceChildren(
      el("p", { class: "served-by" },
        `The fleet: users near ${p.near} were sent to ${p.served_by} first, ` +
        `${seconds(p.seconds)} after ${p.fail} failed.`),
      el("p", { class: "right-range" },
        `A time is judged right from ${seconds(low)} to ${seconds(high)}.`),
      el("p", { class: "right-count" },
        `Right: ${p.correct[`${p.id}-where`]} of ${chose} on where, ` +
        `${p.correct[`${p.id}-when`]} of ${p.when.length} on when.`),
    );
  }
}

function drawPredictions(results) {
  const fleet = results.fleet || [];
  $("predict").hidden = fleet.length === 0;
  if (!fleet.length) return;
  fill($("predict-near"), fleet);
  fill($("predict-fail"), fleet);
  for (const prediction of results.predictions || []) drawPrediction(prediction, fleet);
}

function draw(results) {
  last = results;
  $("joined").textContent = String(results.joined);
  $("answered").textContent = String(results.answered);
  $("empty").hidden = results.questions.length > 0;
  for (const question of results.questions) drawQuestion(question);
  drawPredictions(results);
}

// -- actions ------------------------------------------------------------------------------------

async function refresh() {
  const response = await api("GET", "/class/api/results");
  if (response.status === 401 || response.status === 403) {
    askToken("The board needs the instructor token that `mrsandbox class serve` printed.");
    return false;
  }
  if (!response.ok) {
    say(await errorOf(response));
    return true;
  }
  draw(await response.json());
  $("token-form").hidden = true;
  say("");
  return true;
}

const polls = poller(() => refresh());
const poll = () => polls.now();

async function revealQuestion(qid, button) {
  button.disabled = true;
  button.classList.add("sending");
  try {
    const response = await api("POST", "/class/api/reveal", { question: qid });
    if (!response.ok) {
      say(`Not revealed: ${await errorOf(response)}`);
      return;
    }
    await poll();
  } catch {
    say("Not revealed: cannot reach the class's server.");
  } finally {
    button.classList.remove("sending");
    button.disabled = button.textContent === "Revealed";
  }
}

async function openPrediction(event) {
  event.preventDefault();
  const button = $("predict-open");
  button.disabled = true;
  try {
    const body = { near: $("predict-near").value, fail: $("predict-fail").value };
    const response = await api("POST", "/class/api/predictions", body);
    if (!response.ok) {
      $("predict-message").textContent = `No prediction opened: ${await errorOf(response)}`;
      return;
    }
    $("predict-message").textContent = "";
    await poll();
  } catch {
    $("predict-message").textContent = "No prediction opened: cannot reach the class's server.";
  } finally {
    button.disabled = false;
  }
}

// Closes the room's answers, then injects the outage on the live fleet and measures where the
// users went: several seconds, during which the board goes on polling.
async function observePrediction(pid) {
  const shown = () => {
    const prediction = last && (last.predictions || []).find((p) => p.id === pid);
    if (prediction) drawObserving(prediction);
  };
  observing.add(pid);
  delete failed[pid];
  shown();
  try {
    const path = `/class/api/predictions/${encodeURIComponent(pid)}/observe`;
    const response = await api("POST", path);
    if (!response.ok) failed[pid] = `Not observed: ${await errorOf(response)}`;
    await poll();
  } catch {
    failed[pid] = "Not observed: cannot reach the class's server.";
  } finally {
    observing.delete(pid);
    shown();
  }
}

// The CSV needs the bearer header, which a plain link cannot send: fetch it, then hand the
// browser a download of what came back.
async function downloadGradebook(event) {
  event.preventDefault();
  try {
    const response = await api("GET", "/class/api/gradebook.csv");
    if (!response.ok) {
      say(`No gradebook: ${await errorOf(response)}`);
      return;
    }
    const address = URL.createObjectURL(await response.blob());
    const link = el("a", { href: address, download: "gradebook.csv" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(address), 10000);
  } catch {
    say("No gradebook: cannot reach the class's server.");
  }
}

// A student whose page was lost (a closed tab, another browser) joins again with a new token;
// their answers stay theirs.
async function letIn(event) {
  event.preventDefault();
  const student = $("release-id").value.trim();
  if (!student) return;
  try {
    const response = await api("POST", "/class/api/release", { student });
    say(response.ok ? `${student} can join again.` : `Not let in: ${await errorOf(response)}`);
    if (response.ok) $("release-id").value = "";
  } catch {
    say("Not let in: cannot reach the class's server.");
  }
}

$("gradebook").addEventListener("click", downloadGradebook);
$("release-form").addEventListener("submit", letIn);
$("predict-form").addEventListener("submit", openPrediction);
$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  token = $("token").value.trim();
  sessionStorage.setItem(KEY, token);
  $("token").value = "";
  poll();
});
$("student-address").textContent = `${location.origin}/class`;
takeToken();
if (token) {
  poll();
} else {
  askToken("Open the board at the address `mrsandbox class serve` printed (ending in #token=...), " +
    "or paste the instructor token here.");
}
