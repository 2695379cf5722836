// What every page does once it has loaded: the menu button on a phone, account avatars in
// their own colour, and times in the viewer's own zone. Loaded by base.html on every page.
// In a function of its own: scripts share one global scope, and two pages' scripts once
// declared the same name, which stopped the second.
(function () {
  "use strict";

  // The main menu: on a narrow screen a button opens and closes it. Without this script the
  // links simply stay in view.
  document.documentElement.classList.add("js");
  const menuButton = document.getElementById("menu-button");
  const menu = document.getElementById("mainnav");
  if (menuButton && menu) {
    menuButton.hidden = false;
    menuButton.addEventListener("click", () => {
      const open = menuButton.getAttribute("aria-expanded") !== "true";
      menuButton.setAttribute("aria-expanded", String(open));
      menu.classList.toggle("open", open);
    });
  }

  // Account avatars: the colour comes from a data attribute because the content security
  // policy allows no inline styles; without this script avatars are grey.
  for (const avatar of document.querySelectorAll(".avatar[data-colour]")) {
    if (/^#[0-9a-f]{6}$/i.test(avatar.dataset.colour)) {
      avatar.style.backgroundColor = avatar.dataset.colour;
    }
  }

  // Times. Herald stores every time in UTC and the server writes each
  // `<time datetime data-local>` in the account's zone (or UTC), naming the zone; here the
  // words become the viewer's local time, with how far off it is when that helps ("in 2
  // hours"), keeping the server's words as the title (and in view, when the account's zone
  // is not the viewer's). Without this script the server's words stay: right, only not local.
  const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const localFormat = new Intl.DateTimeFormat(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
  const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const units = [
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  // "in 2 hours", "3 days ago": only within a week, where it reads better than a date.
  const relative = (at) => {
    const seconds = (at.getTime() - Date.now()) / 1000;
    if (Math.abs(seconds) > 7 * 86400) return "";
    if (Math.abs(seconds) < 60) return seconds >= 0 ? "in a moment" : "just now";
    for (const [unit, size] of units) {
      if (Math.abs(seconds) >= size) return relativeFormat.format(Math.round(seconds / size), unit);
    }
    return "";
  };

  for (const time of document.querySelectorAll("time[datetime][data-local]")) {
    const at = new Date(time.getAttribute("datetime"));
    if (Number.isNaN(at.getTime())) continue;
    const original = time.textContent.trim();
    time.title = original;
    let words = `${localFormat.format(at)} (your time, ${viewerZone})`;
    // Where the account lives elsewhere, its own wall-clock time stays in view too.
    if (time.dataset.zone && time.dataset.zone !== viewerZone) words += ` · ${original}`;
    const near = relative(at);
    if (near) words = `${near} · ${words}`;
    time.textContent = words;
    time.dataset.shown = "local";
  }

  // In the composer: name the chosen account's zone beside the time field.
  const accountChoice = document.getElementById("account_id");
  const zoneLabel = document.getElementById("at-zone");
  if (accountChoice && zoneLabel) {
    const nameZone = () => {
      const zone = accountChoice.selectedOptions[0]?.dataset.zone;
      if (zone) zoneLabel.textContent = `${zone}, the account's time zone`;
    };
    accountChoice.addEventListener("change", nameZone);
    nameZone();
  }

  // The inbox: the menu counts the open items, and the inbox page says when new ones came
  // in; both from a small poll of the API every 30 seconds. Without this script the count is
  // not shown and the page shows what there was when it loaded.
  const inboxCount = document.getElementById("inbox-count");
  const inboxNew = document.getElementById("inbox-new");
  const pollInbox = async () => {
    try {
      const answer = await fetch("/api/v1/inbox/summary", { credentials: "same-origin" });
      if (!answer.ok) return;
      const summary = await answer.json();
      if (inboxCount) {
        inboxCount.textContent = summary.open > 0 ? ` ${summary.open} open` : "";
        inboxCount.hidden = summary.open === 0;
      }
      if (inboxNew && summary.newest !== null && summary.newest > Number(inboxNew.dataset.newest)) {
        inboxNew.hidden = false;
      }
    } catch (_) {
      // Offline for a moment: the next poll tries again.
    }
  };
  if (inboxCount) {
    pollInbox();
    setInterval(pollInbox, 30000);
  }
})();
