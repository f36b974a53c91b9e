// Coffer's sign-in page: password login, WebAuthn registration, WebAuthn login as second
// factor, step-up, and ceremonies handed over by the CLI (#ceremony=... or
// #mfa=...&redirect=...&challenge=...). Tokens stay in this page's memory only.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { accessToken: null, refreshToken: null };

function status(text) {
  $('status').textContent = text;
}

function b64urlToBuffer(s) {
  const pad = '='.repeat((4 - (s.length % 4)) % 4);
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + pad);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
}

function bufferToB64url(buf) {
  let bin = '';
  for (const b of new Uint8Array(buf)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function api(method, path, body, token) {
  const res = await fetch(path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { raw: text };
  }
  if (!res.ok) {
    const err = new Error(json && json.error ? `${json.error.code}: ${json.error.message}` : `HTTP ${res.status}`);
    err.code = json && json.error ? json.error.code : String(res.status);
    throw err;
  }
  return json;
}

async function createCredential(options) {
  const publicKey = {
    ...options,
    challenge: b64urlToBuffer(options.challenge),
    user: { ...options.user, id: b64urlToBuffer(options.user.id) },
    excludeCredentials: (options.excludeCredentials || []).map((c) => ({ ...c, id: b64urlToBuffer(c.id) })),
  };
  const cred = await navigator.credentials.create({ publicKey });
  return {
    id: cred.id,
    rawId: bufferToB64url(cred.rawId),
    type: cred.type,
    clientExtensionResults: cred.getClientExtensionResults(),
    authenticatorAttachment: cred.authenticatorAttachment || undefined,
    response: {
      clientDataJSON: bufferToB64url(cred.response.clientDataJSON),
      attestationObject: bufferToB64url(cred.response.attestationObject),
      transports: cred.response.getTransports ? cred.response.getTransports() : [],
    },
  };
}

async function getAssertion(options) {
  const publicKey = {
    ...options,
    challenge: b64urlToBuffer(options.challenge),
    allowCredentials: (options.allowCredentials || []).map((c) => ({ ...c, id: b64urlToBuffer(c.id) })),
  };
  const cred = await navigator.credentials.get({ publicKey });
  return {
    id: cred.id,
    rawId: bufferToB64url(cred.rawId),
    type: cred.type,
    clientExtensionResults: cred.getClientExtensionResults(),
    response: {
      clientDataJSON: bufferToB64url(cred.response.clientDataJSON),
      authenticatorData: bufferToB64url(cred.response.authenticatorData),
      signature: bufferToB64url(cred.response.signature),
      userHandle: cred.response.userHandle ? bufferToB64url(cred.response.userHandle) : undefined,
    },
  };
}

function signedIn(tokens) {
  state.accessToken = tokens.accessToken;
  state.refreshToken = tokens.refreshToken;
  $('login-form').hidden = true;
  $('signed-in').hidden = false;
}

async function loginWithKey(ticket, handoff) {
  const begun = await api('POST', '/v1/auth/login/webauthn/begin', { ticket });
  status('Touch your security key…');
  const response = await getAssertion(begun.options);
  const done = await api('POST', '/v1/auth/login/webauthn/finish', { ceremonyId: begun.ceremonyId, response, ...(handoff ? { handoff } : {}) });
  if (done.status === 'handoff') {
    status('Signed in. Returning to the command line…');
    window.location.assign(done.redirect);
    return;
  }
  signedIn(done);
  status('Signed in with password and security key.');
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    const r = await api('POST', '/v1/auth/login', { name: $('name').value, password: $('password').value });
    $('password').value = '';
    if (r.status === 'authenticated') {
      signedIn(r);
      status('Signed in with password.');
    } else if (r.methods.includes('webauthn')) {
      await loginWithKey(r.ticket);
    } else {
      status('This account needs a one-time code: use `coffer login`.');
    }
  } catch (err) {
    status(`Sign-in failed: ${err.message}`);
  }
});

$('register').addEventListener('click', async () => {
  try {
    const begun = await api('POST', '/v1/auth/webauthn/registrations', undefined, state.accessToken);
    status('Touch your security key to register it…');
    const response = await createCredential(begun.options);
    const done = await api('POST', '/v1/auth/webauthn/registrations/finish', { ceremonyId: begun.ceremonyId, response, name: 'browser key' }, state.accessToken);
    status(`Security key registered.${done.recoveryCodes ? ` Recovery codes: ${done.recoveryCodes.join(' ')}` : ''}`);
  } catch (err) {
    status(`Registration failed: ${err.message}`);
  }
});

async function stepUp(ceremonyId, options) {
  const response = await getAssertion(options);
  return api('POST', '/v1/auth/step-up/finish', { ceremonyId, response });
}

$('stepup').addEventListener('click', async () => {
  try {
    const begun = await api('POST', '/v1/auth/step-up', undefined, state.accessToken);
    status('Touch your security key to confirm…');
    await stepUp(begun.ceremonyId, begun.options);
    status('Confirmed with your security key.');
  } catch (err) {
    status(`Confirmation failed: ${err.message}`);
  }
});

$('download').addEventListener('click', async () => {
  const m = /^([^/]+)\/(.+)@(\d+|latest)$/.exec($('download-path').value.trim());
  if (!m) {
    status('Use project/artifact@version');
    return;
  }
  const url = `/v1/projects/${encodeURIComponent(m[1])}/artifacts/${encodeURIComponent(m[2])}/versions/${m[3]}/content`;
  const res = await fetch(url, { headers: { authorization: `Bearer ${state.accessToken}` } });
  if (res.ok) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    $('result').textContent = `downloaded ${bytes.length} bytes, sha256 ${res.headers.get('x-coffer-sha256')}`;
    status('Download allowed.');
  } else {
    const body = await res.json().catch(() => ({}));
    const code = body.error ? body.error.code : String(res.status);
    $('result').textContent = `refused: ${code}`;
    status(code === 'COFFER_AUTH_STEP_UP_REQUIRED' ? 'Step-up required: confirm with your security key.' : `Download refused: ${code}`);
  }
});

$('logout').addEventListener('click', async () => {
  try {
    await api('POST', '/v1/auth/logout', undefined, state.accessToken);
  } finally {
    state.accessToken = null;
    state.refreshToken = null;
    $('signed-in').hidden = true;
    $('login-form').hidden = false;
    status('Signed out.');
  }
});

// ceremonies handed over by the CLI arrive in the fragment (never sent to a server log)
(async () => {
  const params = new URLSearchParams(window.location.hash.slice(1));
  history.replaceState(null, '', window.location.pathname);
  try {
    if (params.get('ceremony')) {
      const c = await api('GET', `/v1/auth/webauthn/ceremonies/${encodeURIComponent(params.get('ceremony'))}`);
      status('Touch your security key to confirm…');
      const done = await stepUp(params.get('ceremony'), c.options);
      if (done && done.redirect) {
        // step-up from an API token: the new session goes back to the CLI that started it
        status('Confirmed. Returning to the command line…');
        window.location.assign(done.redirect);
        return;
      }
      status('Confirmed with your security key. You can close this window and return to the command line.');
      return;
    }
    if (params.get('register')) {
      // registration started by `coffer mfa webauthn add`: the key's answer goes back to that
      // command on this machine (loopback only), which submits it with its own session
      const redirect = new URL(params.get('redirect') || '');
      if (redirect.protocol !== 'http:' || !['127.0.0.1', '[::1]', 'localhost'].includes(redirect.hostname)) throw new Error('the command line must listen on this machine');
      const c = await api('GET', `/v1/auth/webauthn/ceremonies/${encodeURIComponent(params.get('register'))}`);
      if (c.kind !== 'register') throw new Error('not a registration');
      status('Touch your security key to register it…');
      const response = await createCredential(c.options);
      redirect.searchParams.set('state', params.get('state') || '');
      redirect.searchParams.set('response', bufferToB64url(new TextEncoder().encode(JSON.stringify(response))));
      status('Key created. Returning to the command line…');
      window.location.assign(redirect.toString());
      return;
    }
    if (params.get('mfa')) {
      await loginWithKey(params.get('mfa'), { redirect: params.get('redirect'), challenge: params.get('challenge') });
      return;
    }
  } catch (err) {
    status(`Failed: ${err.message}`);
    return;
  }
  $('login-form').hidden = false;
  status('Sign in to Coffer.');
})();
