// Checks the draft against the company's policy as it is typed, and marks what was found.
// Without JavaScript the "Check" button does the same through the server.
"use strict";

const form = document.getElementById("check-form");
const draft = document.getElementById("draft");
const marked = document.getElementById("draft-marked");
const findings = document.getElementById("findings");
let timer = null;
let latest = 0;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const labels = { warn: "warning", require_approval: "needs approval", block: "blocks posting" };

// Spans are UTF-8 byte offsets; the text is sliced by bytes so they line up exactly.
function show(text, result) {
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

async function check() {
  const text = draft.value;
  const ticket = ++latest;
  const response = await fetch("/api/v1/scan", {
    method: "POST",
    headers: { "content-type": "application/json", "x-csrf-token": form.dataset.csrf },
    body: JSON.stringify({ text }),
  });
  if (!response.ok || ticket !== latest) return;
  show(text, await response.json());
}

if (form && draft) {
  form.classList.add("live");
  draft.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 150);
  });
  if (draft.value) check();
}
