// Drag to reschedule: a publisher drags an approved or scheduled post onto another day of the
// calendar, and it is scheduled that many days later or earlier at the same time of day in
// the account's zone, through the same API call as everywhere else
// (POST /api/v1/posts/{id}/schedule with the page's CSRF token). Accounts that ask for
// confirmation before every post are asked here too. Without JavaScript each post links to
// its own page, whose form does the same.
// In a function of its own: scripts share one global scope, and two pages' scripts once
// declared the same name, which stopped the second.
(function () {
  "use strict";

  const calendar = document.getElementById("calendar");
  const message = document.getElementById("calendar-message");
  const DAY_MS = 24 * 60 * 60 * 1000;
  let dragged = null;

  // Whole days from one `YYYY-MM-DD` to another; computed in UTC, where every day has 24 hours.
  function daysBetween(from, to) {
    return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
  }

  function addDays(date, days) {
    return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
  }

  function show(text) {
    message.textContent = text;
    message.hidden = false;
  }

  async function move(post, day) {
    const shift = daysBetween(post.dataset.day, day);
    const [date, time] = (post.dataset.accountLocal || "").split("T");
    if (shift === 0 || !date || !time) return;
    const at = `${addDays(date, shift)}T${time}`;
    let confirm = false;
    if (post.dataset.confirm) {
      confirm = window.confirm(`${post.dataset.confirm}, on ${day}?`);
      if (!confirm) return;
    }
    post.classList.add("cal-moving");
    try {
      const response = await fetch(`/api/v1/posts/${post.dataset.postId}/schedule`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": calendar.dataset.csrf },
        body: JSON.stringify({ at, confirm }),
      });
      if (response.ok) {
        window.location.reload();
        return;
      }
      const problem = await response.json().catch(() => null);
      show(problem?.detail || "The post could not be moved; open it to choose a new time.");
    } catch {
      show("Herald could not be reached; nothing was moved. Try again in a moment.");
    } finally {
      post.classList.remove("cal-moving");
    }
  }

  if (calendar && message) {
    calendar.classList.add("cal-draggable");
    for (const post of calendar.querySelectorAll(".cal-post[data-movable]")) {
      post.draggable = true;
      post.addEventListener("dragstart", (event) => {
        dragged = post;
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", post.dataset.postId);
        post.classList.add("cal-dragging");
      });
      post.addEventListener("dragend", () => {
        post.classList.remove("cal-dragging");
        for (const day of calendar.querySelectorAll(".cal-drop")) day.classList.remove("cal-drop");
        dragged = null;
      });
    }
    for (const day of calendar.querySelectorAll(".cal-day[data-date]")) {
      day.addEventListener("dragover", (event) => {
        if (!dragged) return;
        event.preventDefault();
        day.classList.add("cal-drop");
      });
      day.addEventListener("dragleave", () => day.classList.remove("cal-drop"));
      day.addEventListener("drop", (event) => {
        event.preventDefault();
        day.classList.remove("cal-drop");
        if (dragged) move(dragged, day.dataset.date);
      });
    }
  }
})();
