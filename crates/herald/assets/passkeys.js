// Passkeys: adding one on the account page, and signing in with one on the sign-in page.
// Herald's API sends WebAuthn options with binary fields as base64url; the browser API wants
// ArrayBuffers, and its answers go back as base64url again.
"use strict";

(function () {
  const toBytes = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  };
  const toText = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

  async function api(path, body, csrf) {
    const headers = { "Content-Type": "application/json" };
    if (csrf) headers["X-CSRF-Token"] = csrf;
    const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
    const answer = response.status === 204 ? null : await response.json();
    if (!response.ok) throw new Error(answer && answer.detail ? answer.detail : "Herald said " + response.status);
    return answer;
  }

  function show(id, message) {
    const output = document.getElementById(id);
    if (output) { output.textContent = message; output.hidden = !message; }
  }

  const add = document.getElementById("passkey-add");
  if (add) {
    add.addEventListener("click", async function () {
      show("passkey-error", "");
      const csrf = add.dataset.csrf;
      const name = document.getElementById("passkey-name").value;
      const code = document.getElementById("passkey-code").value;
      try {
        const ceremony = await api("/api/v1/passkeys/registration", { code }, csrf);
        const options = ceremony.options.publicKey;
        options.challenge = toBytes(options.challenge);
        options.user.id = toBytes(options.user.id);
        (options.excludeCredentials || []).forEach((c) => { c.id = toBytes(c.id); });
        const credential = await navigator.credentials.create({ publicKey: options });
        await api("/api/v1/passkeys", {
          name,
          state: ceremony.state,
          credential: {
            id: credential.id,
            rawId: toText(credential.rawId),
            type: credential.type,
            extensions: {},
            response: {
              attestationObject: toText(credential.response.attestationObject),
              clientDataJSON: toText(credential.response.clientDataJSON),
            },
          },
        }, csrf);
        window.location.reload();
      } catch (error) {
        show("passkey-error", error.message);
      }
    });
  }

  const signIn = document.getElementById("passkey-signin");
  if (signIn) {
    signIn.addEventListener("click", async function () {
      show("passkey-error", "");
      try {
        const ceremony = await api("/api/v1/auth/passkey/options", {
          email: document.getElementById("email").value,
          password: document.getElementById("password").value,
        });
        const options = ceremony.options.publicKey;
        options.challenge = toBytes(options.challenge);
        (options.allowCredentials || []).forEach((c) => { c.id = toBytes(c.id); });
        const assertion = await navigator.credentials.get({ publicKey: options });
        await api("/api/v1/auth/passkey", {
          state: ceremony.state,
          credential: {
            id: assertion.id,
            rawId: toText(assertion.rawId),
            type: assertion.type,
            extensions: {},
            response: {
              authenticatorData: toText(assertion.response.authenticatorData),
              clientDataJSON: toText(assertion.response.clientDataJSON),
              signature: toText(assertion.response.signature),
              userHandle: assertion.response.userHandle ? toText(assertion.response.userHandle) : null,
            },
          },
        });
        window.location.assign("/");
      } catch (error) {
        show("passkey-error", error.message);
      }
    });
  }
})();
