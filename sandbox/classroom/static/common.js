// What both class pages use: an element by id, a new element with its attributes and text (as
// text, never as HTML), the message line, and their polling of the server.
"use strict";

const $ = (id) => document.getElementById(id);
const POLL_MS = 2000;

function el(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function say(text) {
  $("message").textContent = text;
}

// Calls `refresh` now, then every POLL_MS for as long as it answers true (a server out of reach
// is said, and tried again); `now` refreshes at once, `later` after POLL_MS, `stop` stops.
function poller(refresh) {
  let timer = null;
  const stop = () => clearTimeout(timer);
  const later = () => { stop(); timer = setTimeout(now, POLL_MS); };
  async function now() {
    stop();
    let going = true;
    try {
      going = await refresh();
    } catch {
      say("Cannot reach the class's server; trying again.");
    }
    if (going) later();
  }
  return { now, later, stop };
}
