// The instructor's board: how many joined and answered, and for each question the room's
// answers (right, and each wrong one under the misconception it stands for), a Reveal button,
// and the gradebook. Polls GET /class/api/results every 2 s. The instructor token comes in the
// address as #token=... and is taken out of it at once (kept in sessionStorage), so that a
// projected address bar does not show it. Every text is put in the page as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const POLL_MS = 2000;
const KEY = "class-instructor-token";  // sessionStorage key

let token = "";
let polling = null;
const drawn = {};  // question id -> the JSON last drawn in its block

function el(tag, attributes = {}, text) {
  const node = document.createElement(tag);
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
    sessionStorage.setItem(KEY, given);
    history.replaceState(null, "", location.pathname + location.search);
  }
  token = given || sessionStorage.getItem(KEY) || "";
}

function askToken(reason) {
  clearTimeout(polling);
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

function draw(results) {
  $("joined").textContent = String(results.joined);
  $("answered").textContent = String(results.answered);
  $("empty").hidden = results.questions.length > 0;
  for (const question of results.questions) drawQuestion(question);
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

async function poll() {
  clearTimeout(polling);
  let going = true;
  try {
    going = await refresh();
  } catch {
    say("Cannot reach the class's server; trying again.");
  }
  if (going) polling = setTimeout(poll, POLL_MS);
}

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

$("gradebook").addEventListener("click", downloadGradebook);
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
