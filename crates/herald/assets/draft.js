// Checks a draft as it is typed: marks what the company's policy finds and lists why; where
// the page has them, shows the length the way the account's network counts it, the account
// the post goes out as (its colour, name, handle and network, changed with the account list)
// and a preview of the post as the network shows it, with links highlighted and, when the
// text is too long, where the network would cut it. Without JavaScript the server shows the
// same identity and preview, and the forms' buttons do the same checks.
//
// The preview is built from DOM nodes with textContent only: the text is never HTML.
// In a function of its own: scripts share one global scope, and two pages' scripts once
// declared the same name, which stopped the second.
(function () {
  "use strict";

  const form = document.querySelector("form[data-csrf]");
  const draft = document.getElementById("draft");
  const marked = document.getElementById("draft-marked");
  const findings = document.getElementById("findings");
  const counter = document.getElementById("counter");
  const account = document.getElementById("account_id");
  const preview = document.getElementById("preview");
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

  // The account the post goes out as: the chosen option in the composer, or the post's own
  // account (on the preview block) on a post's page.
  function current() {
    const chosen = account?.selectedOptions[0];
    return chosen ? chosen.dataset : preview?.dataset;
  }

  // Spans are UTF-8 byte offsets; the text is sliced by bytes so they line up exactly.
  function showFindings(text, result) {
    if (!marked || !findings) return;
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
    findings.replaceChildren(findingsList(result));
  }

  // What the policy found, as a list (or "Nothing found").
  function findingsList(result) {
    if (!result.findings.length) return element("p", "badge badge-ok", "Nothing found");
    const list = element("ul", "plain-list");
    for (const finding of result.findings) {
      const item = element("li", "finding");
      item.append(element("span", finding.action === "block" ? "badge badge-bad" : "badge badge-warn", labels[finding.action] || finding.action), " ");
      item.append(element("strong", "", finding.title || finding.rule), " " + finding.message + " ");
      item.append(element("span", "hint", "(" + finding.excerpt + ")"));
      list.append(item);
    }
    return list;
  }

  // "Also post to": each further account ticked, with the length its network counts. The
  // main account's own box is hidden: it is posted to already.
  let lastLengths = null;
  const alsoBoxes = Array.from(document.querySelectorAll("#also-accounts input[type=checkbox]"));
  const alsoCounts = document.getElementById("also-counts");
  function showAlso() {
    const mainId = account?.value;
    for (const box of alsoBoxes) {
      const line = box.closest(".also-line");
      const isMain = line?.dataset.account === mainId;
      if (line) line.hidden = isMain;
      if (isMain) box.checked = false;
    }
    if (!alsoCounts || !lastLengths) return;
    const lines = alsoBoxes.filter((box) => box.checked).map((box) => {
      const own = box.closest(".also-line")?.querySelector("textarea");
      if (own && own.value.trim()) {
        const fitsIt = fits(box.dataset.network, own.value);
        return element("li", fitsIt ? "" : "counter-over",
          `${box.dataset.name} on ${box.dataset.label}: its own text, ${fitsIt ? "fits" : "too long for it"}`);
      }
      const length = lastLengths.find((entry) => entry.network === box.dataset.network);
      const line = element("li", length && !length.fits ? "counter-over" : "");
      if (length) {
        line.textContent = `${box.dataset.name} on ${box.dataset.label}: ${length.used} / ${length.limit} ${length.unit}` +
          (length.fits ? "" : " (too long for it)");
      }
      return line;
    });
    alsoCounts.replaceChildren(...lines);
  }
  for (const box of alsoBoxes) box.addEventListener("change", showAlso);
  // An adjusted text ticks its account, and says at once whether it fits that network.
  for (const own of document.querySelectorAll("#also-accounts textarea")) {
    own.addEventListener("input", () => {
      const line = own.closest(".also-line");
      const box = line?.querySelector("input[type=checkbox]");
      if (box && own.value.trim()) box.checked = true;
      const fit = line?.querySelector(".tailor-fit");
      if (fit) {
        fit.textContent = own.value.trim()
          ? (fits(own.dataset.network, own.value) ? `Fits ${own.dataset.label}.` : `Too long for ${own.dataset.label}.`)
          : "";
      }
      showAlso();
      showTailored(line);
      clearTimeout(own.checkTimer);
      own.checkTimer = setTimeout(() => checkTailored(line), 300);
    });
  }

  // Each further account's own preview and findings: its own text where it has one, else the
  // text above, shown as that account's network shows it.
  function tailoredText(line) {
    const own = line.querySelector("textarea");
    return own && own.value.trim() ? own.value : draft?.value || "";
  }
  function showTailored(line) {
    const own = line.querySelector("textarea");
    const shown = line.querySelector(".tailor-preview-text");
    if (!own || !shown) return;
    renderPreview(own.dataset.network, own.dataset.label, tailoredText(line), shown,
      line.querySelector(".tailor-cut"), null);
  }
  async function checkTailored(line) {
    const own = line.querySelector("textarea");
    const place = line.querySelector(".tailor-findings");
    if (!own || !place) return;
    if (!own.value.trim()) {
      place.replaceChildren(element("p", "hint", "The text above is used here, with the findings shown under it."));
      return;
    }
    const text = own.value;
    const ticket = (place.ticket = (place.ticket || 0) + 1);
    const [result, lengths] = await Promise.all([
      api("/api/v1/scan", { text }),
      api("/api/v1/text-length", { text }),
    ]);
    if (ticket !== place.ticket) return;
    if (result) place.replaceChildren(findingsList(result));
    // Its own counter, as the account's network counts.
    const length = lengths?.find((entry) => entry.network === own.dataset.network);
    const fit = line.querySelector(".tailor-fit");
    if (length && fit && own.value.trim()) {
      fit.textContent = `${length.used} / ${length.limit} ${length.unit} on ${own.dataset.label}` +
        (length.fits ? "." : ": too long for it.");
      fit.classList.toggle("counter-over", !length.fits);
    }
  }
  const tailorLines = Array.from(document.querySelectorAll("#also-accounts .also-line"));
  for (const line of tailorLines) {
    line.querySelector("details")?.addEventListener("toggle", () => {
      showTailored(line);
      checkTailored(line);
    });
  }
  account?.addEventListener("change", showAlso);
  showAlso();

  function showCount(lengths) {
    lastLengths = lengths;
    showAlso();
    const network = current()?.network;
    const length = lengths.find((entry) => entry.network === network);
    if (!length || !counter) return;
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
      counter ? api("/api/v1/text-length", { text }) : null,
    ]);
    if (ticket !== latest) return;
    if (scan) showFindings(text, scan);
    if (lengths) showCount(lengths);
    showCard(text);
  }

  // --- The link card: the first link's page title, as networks show it under a post --------
  // Asked of Herald, which judges the link first and reads the page through its hardened
  // client; the card is text only (no image from the page, no click-through).

  let cardFor = null;
  async function showCard(text) {
    const place = document.getElementById("preview-card");
    if (!place) return;
    const first = links(text)[0];
    const url = first ? text.slice(first[0], first[1]) : null;
    if (url === cardFor) return;
    cardFor = url;
    if (!url) {
      place.hidden = true;
      place.replaceChildren();
      return;
    }
    const card = await api("/api/v1/links/card", { url });
    if (cardFor !== url) return;
    if (!card || !card.title) {
      place.hidden = true;
      place.replaceChildren();
      return;
    }
    let site = card.site;
    if (!site) {
      try {
        site = new URL(/^https?:\/\//i.test(url) ? url : "http://" + url).host;
      } catch {
        site = url;
      }
    }
    const parts = [element("p", "link-card-site", site), element("p", "link-card-title", card.title)];
    if (card.description) parts.push(element("p", "link-card-description", card.description));
    place.replaceChildren(...parts);
    place.hidden = false;
  }

  // --- Who the post goes out as -------------------------------------------------------------

  function paint(avatar, colour) {
    if (avatar && /^#[0-9a-f]{6}$/i.test(colour || "")) avatar.style.backgroundColor = colour;
  }

  function setText(id, text) {
    const node = document.getElementById(id);
    if (node) node.textContent = text;
  }

  function showIdentity() {
    const who = current();
    if (!who || !account) return;
    paint(document.getElementById("identity-avatar"), who.colour);
    paint(document.getElementById("preview-avatar"), who.colour);
    setText("identity-name", who.name);
    setText("identity-handle", who.handle);
    setText("identity-network", who.label);
    setText("preview-name", who.name);
    setText("preview-handle", who.handle);
    setText("preview-network", who.label);
    const post = document.getElementById("preview-post");
    if (post) post.className = "preview-post preview-" + who.network;
  }

  // --- The preview: each network's own count, as `domain/post_text.rs` counts ---------------

  const LINK = 23;
  const limits = {
    x: 280, bluesky: 300, mastodon: 500, threads: 500, instagram: 2200, linkedin: 3000,
    facebook: 63206,
  };
  const segmenter = typeof Intl.Segmenter === "function" ? new Intl.Segmenter() : null;
  const graphemes = (text) =>
    segmenter ? Array.from(segmenter.segment(text), (part) => part.segment) : Array.from(text);
  const bytes = (text) => new TextEncoder().encode(text).length;

  // Links as networks highlight them: with a scheme or www., or a bare domain with a common
  // ending; the sentence's closing punctuation is not part of the link.
  const linkPattern =
    /(?:https?:\/\/|www\.)[^\s<>"]+|\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:com|org|net|io|co|uk|de|fr|eu|info|biz|app|dev|social|shop|cafe|example)\b(?:\/[^\s<>"]*)?/gi;

  function links(text) {
    const found = [];
    for (const match of text.matchAll(linkPattern)) {
      const before = text[match.index - 1];
      if (before === "@" || before === ".") continue;
      const written = match[0].replace(/[.,;:!?)\]'"]+$/, "");
      if (written) found.push([match.index, match.index + written.length]);
    }
    return found;
  }

  function xWeight(grapheme) {
    const points = Array.from(grapheme, (c) => c.codePointAt(0));
    if (points.some((p) => (p >= 0x1f000 && p <= 0x1faff) || (p >= 0x2600 && p <= 0x27bf))) {
      return 2;
    }
    const one = (p) =>
      p <= 4351 || (p >= 8192 && p <= 8205) || (p >= 8208 && p <= 8223) || (p >= 8242 && p <= 8247);
    return points.reduce((sum, p) => sum + (one(p) ? 1 : 2), 0);
  }

  function fits(network, text) {
    const limit = limits[network] ?? 63206;
    const linked = (count) => {
      let total = 0;
      let at = 0;
      for (const [start, end] of links(text)) {
        total += count(text.slice(at, start)) + LINK;
        at = end;
      }
      return total + count(text.slice(at));
    };
    switch (network) {
      case "x":
        return linked((part) => graphemes(part).reduce((sum, g) => sum + xWeight(g), 0)) <= limit;
      case "bluesky":
        return graphemes(text).length <= limit && bytes(text) <= 3000;
      case "mastodon":
        return linked((part) => Array.from(part).length) <= limit;
      default:
        return Array.from(text).length <= limit;
    }
  }

  // Where the network stops: the longest start of the text, between graphemes, that fits.
  function cutAt(network, text) {
    if (fits(network, text)) return null;
    const ends = [];
    let at = 0;
    for (const grapheme of graphemes(text)) ends.push((at += grapheme.length));
    let low = 0;
    let high = ends.length;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (fits(network, text.slice(0, ends[middle - 1]))) low = middle;
      else high = middle - 1;
    }
    return low === 0 ? 0 : ends[low - 1];
  }

  function showPreview() {
    const who = current();
    const shown = document.getElementById("preview-text");
    if (who && shown && draft) {
      renderPreview(who.network, who.label, draft.value, shown,
        document.getElementById("preview-cut"), document.getElementById("preview-links"));
    }
    for (const line of tailorLines) showTailored(line);
  }

  // The text as `network` shows it, into `shown`: links highlighted, and the part past the
  // network's limit struck through, with a sentence saying so in `cutNote`.
  function renderPreview(network, label, text, shown, cutNote, linkNote) {
    const cut = cutAt(network, text);
    const found = links(text);
    const pieces = [];
    const push = (from, to, kind) => {
      const split = cut === null ? to : Math.min(Math.max(cut, from), to);
      for (const [start, end, over] of [[from, split, false], [split, to, true]]) {
        if (end > start) {
          const className = "preview-" + kind + (over ? " preview-over" : "");
          pieces.push(element("span", className, text.slice(start, end)));
        }
      }
    };
    let at = 0;
    for (const [start, end] of found) {
      push(at, start, "text");
      push(start, end, "link");
      at = end;
    }
    push(at, text.length, "text");
    shown.replaceChildren(...pieces);
    const notes = {
      x: "X shortens every link to 23 characters.",
      mastodon: "Mastodon counts every link as 23 characters.",
    };
    if (linkNote) linkNote.textContent = found.length ? notes[network] || "" : "";
    let said = "";
    if (cut !== null) {
      const overBytes = network === "bluesky" && bytes(text) > 3000;
      const limit = overBytes ? "3000 bytes" : `${limits[network]} ${unitOf(network)}`;
      said = `Too long for ${label}: it would stop where the struck-through text begins (${limit} at most).`;
    }
    if (cutNote) cutNote.textContent = said;
  }

  function unitOf(network) {
    return { x: "weighted characters", bluesky: "graphemes" }[network] || "characters";
  }

  // --- The image chosen before the first save, shown in every preview from the file itself --

  const imageInput = document.getElementById("image");
  const imageAlt = document.getElementById("image_alt");
  let chosenImage = null;
  function showImage() {
    const places = [document.getElementById("preview-images"),
      ...document.querySelectorAll(".tailor-images")].filter(Boolean);
    for (const place of places) {
      if (!chosenImage) {
        place.replaceChildren();
        continue;
      }
      const image = document.createElement("img");
      image.src = chosenImage;
      image.alt = imageAlt?.value || "";
      place.replaceChildren(image);
    }
  }
  imageInput?.addEventListener("change", () => {
    const file = imageInput.files?.[0];
    if (!file || !/^image\/(png|jpeg|gif|webp)$/.test(file.type)) {
      chosenImage = null;
      showImage();
      return;
    }
    const reader = new FileReader();
    reader.addEventListener("load", () => {
      chosenImage = typeof reader.result === "string" ? reader.result : null;
      showImage();
    });
    reader.readAsDataURL(file);
  });
  imageAlt?.addEventListener("input", showImage);

  if (form && draft) {
    form.classList.add("live");
    draft.addEventListener("input", () => {
      showPreview();
      clearTimeout(timer);
      timer = setTimeout(check, 150);
    });
    account?.addEventListener("change", () => {
      showIdentity();
      showPreview();
      check();
    });
    showIdentity();
    if (draft.value) {
      showPreview();
      check();
    }
  }
})();
