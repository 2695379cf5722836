// Checks a draft as it is typed: marks what the company's policy finds and lists why, and in
// the composer shows the length the way the chosen account's network counts it. Without
// JavaScript the forms' buttons do the same checks on the server.
"use strict";

const form = document.querySelector("form[data-csrf]");
const draft = document.getElementById("draft");
const marked = document.getElementById("draft-marked");
const findings = document.getElementById("findings");
const counter = document.getElementById("counter");
const account = document.getElementById("account_id");
let timer = null;
let latest = 0;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const labels = { warn: "warning", require_approval: "needs approval", block: "blocks posting" };

async function api(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", "x-csrf-token": form.dataset.csrf },
    body: JSON.stringify(body),
  });
  return response.ok ? response.json() : null;
}

// Spans are UTF-8 byte offsets; the text is sliced by bytes so they line up exactly.
function showFindings(text, result) {
  const bytes = new TextEncoder().encode(text);
  const decode = (from, to) => new TextDecoder().decode(bytes.slice(from, to));
  marked.replaceChildren();
  let at = 0;
  for (const finding of result.findings) {
    if (finding.start < at) continue;
    marked.append(decode(at, finding.start));
    const mark = element("mark", "finding-" + finding.action, decode(finding.start, finding.end));
    mark.title = finding.message;
    marked.append(mark);
    at = finding.end;
  }
  marked.append(decode(at, bytes.length));
  const list = element("ul", "plain-list");
  for (const finding of result.findings) {
    const item = element("li", "finding");
    item.append(element("span", "badge badge-bad", labels[finding.action] || finding.action), " ");
    item.append(element("code", "", finding.rule), " " + finding.message + " ");
    item.append(element("span", "hint", "(" + finding.excerpt + ")"));
    list.append(item);
  }
  findings.replaceChildren(
    result.findings.length ? list : element("p", "badge badge-ok", "Nothing found"),
  );
}

function showCount(lengths) {
  const network = account.selectedOptions[0]?.dataset.network;
  const length = lengths.find((entry) => entry.network === network);
  if (!length) return;
  let text = `${length.used} / ${length.limit} ${length.unit}`;
  if (length.bytes) text += ` · ${length.bytes[0]} / ${length.bytes[1]} bytes`;
  counter.textContent = text;
  counter.className = length.fits ? "counter" : "counter counter-over";
}

async function check() {
  const text = draft.value;
  const ticket = ++latest;
  const [scan, lengths] = await Promise.all([
    api("/api/v1/scan", { text }),
    counter && account ? api("/api/v1/text-length", { text }) : null,
  ]);
  if (ticket !== latest) return;
  if (scan) showFindings(text, scan);
  if (lengths) showCount(lengths);
}

if (form && draft) {
  form.classList.add("live");
  draft.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 150);
  });
  account?.addEventListener("change", check);
  if (draft.value) check();
}
