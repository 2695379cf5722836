// Paints account avatars in their own colour. The colour comes from a data attribute because
// the content security policy allows no inline styles; without this script avatars are grey.
// In a function of its own: scripts share one global scope, and two pages' scripts once
// declared the same name, which stopped the second.
(function () {
  "use strict";

  for (const avatar of document.querySelectorAll(".avatar[data-colour]")) {
    if (/^#[0-9a-f]{6}$/i.test(avatar.dataset.colour)) {
      avatar.style.backgroundColor = avatar.dataset.colour;
    }
  }
})();
