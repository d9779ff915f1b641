// What both class pages use: an element by id, a new element with its attributes and text (as
// text, never as HTML), the message line, and how often the pages poll.
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
