// Live password-strength feedback for any field with a data-personal attribute. Herald's pages
// work without it; this only tells people early whether a password will be accepted.
"use strict";

(function () {
  const labels = ["Very weak", "Weak", "Fair", "Strong", "Very strong"];
  // The person's own details: the page's, and the organisation's name where the form holds it
  // (at setup), since a password made of them is easy to guess.
  function personal(input) {
    const words = input.dataset.personal.split(" ");
    const organisation = input.form && input.form.elements.namedItem("organisation");
    if (organisation && organisation.value) words.push(organisation.value);
    return words;
  }
  for (const input of document.querySelectorAll("input[type=password][data-personal]")) {
    const output = document.getElementById(input.id + "-strength");
    if (!output) continue;
    let timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(async function () {
        if (input.value.length === 0) { output.textContent = ""; return; }
        if (input.value.length < 12) {
          output.textContent = "Too short: " + (12 - input.value.length) + " more characters needed.";
          output.dataset.score = "0";
          return;
        }
        const response = await fetch("/api/v1/password-strength", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ password: input.value, personal: personal(input) }),
        });
        if (!response.ok) return;
        const strength = await response.json();
        output.dataset.score = String(strength.score);
        output.textContent = "Strength: " + labels[strength.score] +
          (strength.warning ? ". " + strength.warning : ".") +
          (strength.score < 2 ? " Herald will not accept this one." : "");
      }, 200);
    });
  }
})();
