// The student's page: join with an id (the token kept in sessionStorage, so a reload goes on),
// then the quiz one question at a time. Each choice is saved at once; a question's feedback
// shows only once the instructor revealed it (GET /class/api/me, every 2 s). Questions the
// instructor adds later (a prediction about the live fleet) show up at the next poll, after the
// others, the student staying where they are. Every text from the server is put in the page as
// text (textContent), never as HTML.
"use strict";

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const KEYS = { token: "class-token", place: "class-place" };  // sessionStorage keys

let token = sessionStorage.getItem(KEYS.token) || "";
let sheet = null;  // GET /class/api/quiz
let mine = {};  // question id -> the row of GET /class/api/me
let place = Number(sessionStorage.getItem(KEYS.place)) || 0;
let extending = null;  // the GET /class/api/quiz running for questions added later
let saving = Promise.resolve();  // answers are sent one after another, in the order given

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { status: response.status, ok: response.ok, data };
}

function errorOf(answer) {
  return (answer.data && answer.data.error) || `the server answered ${answer.status}`;
}

// -- joining --------------------------------------------------------------------------------

function showJoin(reason) {
  token = "";
  sheet = null;
  mine = {};
  sessionStorage.removeItem(KEYS.token);
  polls.stop();
  $("quiz").hidden = true;
  $("join-form").hidden = false;
  $("who").textContent = "";
  $("title").textContent = "Class quiz";
  say(reason || "");
}

async function join(event) {
  event.preventDefault();
  const id = $("student-id").value.trim();
  if (!id) {
    say("Type your id first.");
    return;
  }
  $("join").disabled = true;
  try {
    const answer = await api("POST", "/class/api/join", { student: id });
    if (!answer.ok) {
      say(errorOf(answer));
      return;
    }
    token = answer.data.token;
    sessionStorage.setItem(KEYS.token, token);
    place = 0;
    sessionStorage.setItem(KEYS.place, "0");
    await start();
  } catch {
    say("Cannot reach the class's server: check the address and try again.");
  } finally {
    $("join").disabled = false;
  }
}

async function start() {
  let answer;
  try {
    answer = await api("GET", "/class/api/quiz");
  } catch {
    say("Cannot reach the class's server; trying again.");
    setTimeout(start, POLL_MS);
    return;
  }
  if (answer.status === 401 || answer.status === 403) {
    showJoin("This class does not know your session any more: join again with your id.");
    return;
  }
  if (!answer.ok) {
    say(errorOf(answer));
    return;
  }
  if (!answer.data.questions.length) {
    say("This class's quiz has no questions.");
    return;
  }
  sheet = answer.data;
  place = Math.min(Math.max(place, 0), sheet.questions.length - 1);
  $("join-form").hidden = true;
  $("quiz").hidden = false;
  $("title").textContent = sheet.title;
  $("who").textContent = `Signed in as ${sheet.student}`;
  say("");
  drawPlaces();
  try {
    await refresh();  // the answers given before a reload, before the first question shows
  } catch {
    say("Cannot reach the class's server; trying again.");
  }
  if (!sheet) return;
  show();
  polls.later();
}

// -- the quiz ---------------------------------------------------------------------------------

function current() {
  return sheet.questions[place];
}

function drawPlaces() {
  const places = $("places");
  places.replaceChildren();
  sheet.questions.forEach((question, n) => {
    const button = el("button", { type: "button", "data-goto": String(n) }, String(n + 1));
    button.setAttribute("aria-label", `Question ${n + 1}`);
    button.addEventListener("click", () => go(n));
    places.append(button);
  });
}

function go(n) {
  place = Math.min(Math.max(n, 0), sheet.questions.length - 1);
  sessionStorage.setItem(KEYS.place, String(place));
  $("saved").textContent = "";
  $("news").textContent = "";
  show();
}

// Where the student is: "Question n of N" and the steps (N grows when questions are added).
function steps() {
  const count = sheet.questions.length;
  $("progress").textContent = `Question ${place + 1} of ${count}`;
  $("prev").disabled = place === 0;
  $("next").disabled = place === count - 1;
}

// The questions of GET /class/api/quiz the page does not have yet, added after the others;
// the question shown, the number being typed and the choices stay as they are.
async function extend() {
  const answer = await api("GET", "/class/api/quiz");
  if (!answer.ok || !sheet) return;  // the next poll asks again
  const have = new Set(sheet.questions.map((q) => q.id));
  const added = answer.data.questions.filter((q) => !have.has(q.id));
  if (!added.length) return;
  const first = sheet.questions.length + 1;
  sheet.questions.push(...added);
  drawPlaces();
  steps();
  const last = sheet.questions.length;
  $("news").textContent = added.length === 1
    ? `New question from your instructor: question ${first}.`
    : `New questions from your instructor: questions ${first} to ${last}.`;
}

function show() {
  const question = current();
  steps();
  $("question-text").textContent = question.text;
  $("question-code").textContent = question.code || "";
  $("question-code").hidden = !question.code;
  const options = $("options");
  options.replaceChildren();
  question.options.forEach((text, index) => {
    const button = el("button", { type: "button", "data-index": String(index) });
    button.append(el("span", { class: "letter" }, LETTERS[index]), el("span", {}, text));
    button.addEventListener("click", () => save(question.id, index));
    options.append(button);
  });
  const numeric = question.type === "numeric";
  options.hidden = numeric;
  $("number-form").hidden = !numeric;
  $("unit").textContent = question.unit || "";
  const given = mine[question.id] ? mine[question.id].answer : null;
  $("number-answer").value = numeric && given !== null ? String(given) : "";
  update();
}

// What the last GET /class/api/me says: the choice marked, the feedback of a revealed question,
// the score. Leaves the number field alone (the student may be typing in it).
function update() {
  const question = current();
  const row = mine[question.id] || { answer: null, revealed: false };
  for (const button of $("options").children) {
    const index = Number(button.dataset.index);
    const chosen = row.answer === index;
    button.classList.toggle("chosen", chosen);
    button.setAttribute("aria-pressed", String(chosen));
    button.classList.toggle("final", row.revealed);
    button.classList.toggle("key", row.revealed && row.key === question.options[index]);
  }
  $("number-form").classList.toggle("final", row.revealed);
  const feedback = $("feedback");
  feedback.replaceChildren();
  feedback.hidden = !row.revealed;
  feedback.className = "";
  if (row.revealed) {
    const verdict = row.answer === null ? "No answer" : row.correct ? "Right" : "Wrong";
    feedback.className = row.correct ? "right" : "wrong";
    feedback.append(
      el("p", { class: "verdict" }, verdict),
      el("p", { class: "explanation" }, row.feedback),
      el("p", { class: "answer-key" }, `The answer: ${keyText(question, row.key)}`),
    );
  }
  for (const button of $("places").children) {
    const other = mine[sheet.questions[Number(button.dataset.goto)].id] || {};
    button.classList.toggle("here", Number(button.dataset.goto) === place);
    button.classList.toggle("answered", other.answer !== null && other.answer !== undefined);
    button.classList.toggle("revealed", Boolean(other.revealed));
  }
  const rows = Object.values(mine);
  const revealed = rows.filter((r) => r.revealed);
  const right = revealed.filter((r) => r.correct).length;
  $("score").textContent = revealed.length
    ? `Score: ${right} of ${revealed.length} revealed question${revealed.length === 1 ? "" : "s"}`
    : `Answered ${rows.filter((r) => r.answer !== null).length} of ${sheet.questions.length}; ` +
      "no question revealed yet";
}

// The key as GET /class/api/me gives it: the right option's text (shown with its letter), or
// the number with the range judged right.
function keyText(question, key) {
  const index = question.options.indexOf(key);
  return index >= 0 ? `${LETTERS[index]}. ${key}` : key;
}

function save(qid, answer) {
  saving = saving.then(() => send(qid, answer)).catch(() => {
    say("Cannot reach the class's server; trying again.");  // the next answer is still sent
  });
  return saving;
}

async function send(qid, answer) {
  $("saved").textContent = "Saving…";
  let reply;
  try {
    reply = await api("POST", "/class/api/answers", { question: qid, answer });
  } catch {
    $("saved").textContent = "Not saved: cannot reach the class's server. Try again.";
    return;
  }
  if (reply.status === 201) {
    mine[qid] = { ...(mine[qid] || { revealed: false }), answer: reply.data.answer };
    $("saved").textContent = "Saved.";
  } else if (reply.status === 409) {
    $("saved").textContent = "Not saved: this question was revealed, its answers are final.";
    await refresh();
  } else if (reply.status === 401 || reply.status === 403) {
    showJoin("This class does not know your session any more: join again with your id.");
    return;
  } else {
    $("saved").textContent = `Not saved: ${errorOf(reply)}`;
  }
  if (sheet && current().id === qid) update();
}

function saveNumber(event) {
  event.preventDefault();
  const field = $("number-answer");
  const number = field.valueAsNumber;
  if (field.value.trim() === "" || !Number.isFinite(number)) {
    $("saved").textContent = "Not saved: type a number, e.g. 30.";
    return;
  }
  save(current().id, number);
}

// -- polling ------------------------------------------------------------------------------------

async function refresh() {
  const answer = await api("GET", "/class/api/me");
  if (answer.status === 401 || answer.status === 403) {
    showJoin("This class does not know your session any more: join again with your id.");
    return false;
  }
  if (!answer.ok) {
    say(errorOf(answer));
    return true;
  }
  mine = Object.fromEntries(answer.data.answers.map((row) => [row.id, row]));
  say("");
  const have = new Set(sheet ? sheet.questions.map((q) => q.id) : []);
  if (sheet && answer.data.answers.some((row) => !have.has(row.id))) {
    extending = extending || extend().finally(() => { extending = null; });
    await extending;
  }
  if (sheet) update();
  return true;
}

const polls = poller(async () => (await refresh()) && Boolean(token));
const poll = () => polls.now();

$("join-form").addEventListener("submit", join);
$("number-form").addEventListener("submit", saveNumber);
$("prev").addEventListener("click", () => go(place - 1));
$("next").addEventListener("click", () => go(place + 1));
if (token) start();
