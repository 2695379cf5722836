// Shows times in the viewer's own time zone. Herald stores every time in UTC and the server
// writes each `<time datetime data-local>` in the account's zone (or UTC), naming the zone;
// this script rewrites the words to the viewer's local time, keeping the server's words as the
// element's title (and in view, when the account's zone is not the viewer's). In the composer it also names the chosen account's zone beside the time
// field. Without JavaScript the server's words stay, which are right, only not local.
// In a function of its own: scripts share one global scope, and two pages' scripts once
// declared the same name, which stopped the second.
(function () {
  "use strict";

  const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const localFormat = new Intl.DateTimeFormat(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });

  for (const time of document.querySelectorAll("time[datetime][data-local]")) {
    const at = new Date(time.getAttribute("datetime"));
    if (Number.isNaN(at.getTime())) continue;
    const original = time.textContent.trim();
    time.title = original;
    let words = `${localFormat.format(at)} (your time, ${viewerZone})`;
    // Where the account lives elsewhere, its own wall-clock time stays in view too.
    if (time.dataset.zone && time.dataset.zone !== viewerZone) words += ` · ${original}`;
    time.textContent = words;
    time.dataset.shown = "local";
  }

  const account = document.getElementById("account_id");
  const zoneLabel = document.getElementById("at-zone");
  if (account && zoneLabel) {
    const nameZone = () => {
      const zone = account.selectedOptions[0]?.dataset.zone;
      if (zone) zoneLabel.textContent = `${zone}, the account's time zone`;
    };
    account.addEventListener("change", nameZone);
    nameZone();
  }
})();
