import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../domain/errors.js';
import type { IdentityService } from '../service/identity/index.js';
import { metaOf } from './app.js';
import { callerOf } from './routes-v1.js';

const obj = (required: string[], properties: Record<string, unknown>) => ({ type: 'object', additionalProperties: false, required, properties }) as const;
const name = { type: 'string', minLength: 1, maxLength: 63 } as const;
const secret = { type: 'string', minLength: 1, maxLength: 512 } as const;
/** A browser's WebAuthn response: shape checked by the WebAuthn library, size bounded here. */
const webauthnResponse = { type: 'object', maxProperties: 16 } as const;
const handoff = obj(['redirect', 'challenge'], { redirect: { type: 'string', maxLength: 512 }, challenge: { type: 'string', maxLength: 64 } });
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 256 } } } as const;

/**
 * Identity routes in the authenticated /v1 scope: the caller's session and sessions,
 * password, TOTP, recovery codes, security keys, step-up, account deletion.
 */
export function identityRoutes(identity: IdentityService) {
  return (app: FastifyInstance): void => {
    app.get('/auth/session', { schema: { summary: 'The current session: methods and age of the strongest factor' } }, async (request) => identity.session(callerOf(request)));
    app.get<{ Querystring: { principal?: string } }>('/auth/sessions', { schema: { summary: 'Sessions of a principal', querystring: obj([], { principal: name }) } }, async (request) => ({
      items: await identity.sessions(callerOf(request), request.query.principal),
    }));
    app.delete<{ Params: { id: string } }>('/auth/sessions/:id', { schema: { summary: 'Revoke a session', params: idParams } }, async (request, reply) => {
      await identity.revokeSession(callerOf(request), request.params.id);
      return reply.code(204).send();
    });
    app.post<{ Body: { principal?: string; tokens?: boolean } }>(
      '/auth/sessions/revoke-all',
      { schema: { summary: "Revoke every session of a principal (and its API tokens with `tokens`)", body: obj([], { principal: name, tokens: { type: 'boolean' } }) } },
      async (request) => identity.revokeAllSessions(callerOf(request), request.body ?? {}),
    );
    app.post('/auth/logout', { schema: { summary: 'Revoke the current session' } }, async (request, reply) => {
      await identity.logout(callerOf(request));
      return reply.code(204).send();
    });
    app.put<{ Body: { principal?: string; password: string; currentPassword?: string } }>(
      '/auth/password',
      { schema: { summary: 'Set a password (own: with the current one; another user: admins)', body: obj(['password'], { principal: name, password: secret, currentPassword: secret }) } },
      async (request, reply) => {
        await identity.setPassword(callerOf(request), request.body);
        return reply.code(204).send();
      },
    );
    app.post('/auth/totp', { schema: { summary: 'Start TOTP enrolment (secret shown once)' } }, async (request, reply) => reply.code(201).send(await identity.totpEnroll(callerOf(request))));
    app.post<{ Body: { code: string } }>('/auth/totp/confirm', { schema: { summary: 'Confirm TOTP with a first code; returns recovery codes', body: obj(['code'], { code: { type: 'string', maxLength: 16 } }) } }, async (request) =>
      identity.totpConfirm(callerOf(request), request.body.code),
    );
    app.delete('/auth/totp', { schema: { summary: 'Remove TOTP' } }, async (request, reply) => {
      await identity.totpDisable(callerOf(request));
      return reply.code(204).send();
    });
    app.post('/auth/recovery-codes', { schema: { summary: 'New recovery codes (old ones stop working)' } }, async (request) => identity.recoveryCodes(callerOf(request)));
    app.post('/auth/webauthn/registrations', { schema: { summary: 'Start registering a security key' } }, async (request) => identity.webauthnRegisterBegin(callerOf(request)));
    app.post<{ Body: { ceremonyId: string; response: unknown; name?: string } }>(
      '/auth/webauthn/registrations/finish',
      { schema: { summary: 'Finish registering a security key', body: obj(['ceremonyId', 'response'], { ceremonyId: secret, response: webauthnResponse, name: { type: 'string', maxLength: 100 } }) } },
      async (request, reply) => reply.code(201).send(await identity.webauthnRegisterFinish(callerOf(request), request.body)),
    );
    app.get('/auth/webauthn/credentials', { schema: { summary: 'Security keys of the caller' } }, async (request) => ({ items: await identity.webauthnList(callerOf(request)) }));
    app.delete<{ Params: { id: string } }>('/auth/webauthn/credentials/:id', { schema: { summary: 'Remove a security key', params: idParams } }, async (request, reply) => {
      await identity.webauthnDelete(callerOf(request), request.params.id);
      return reply.code(204).send();
    });
    app.post('/auth/step-up', { schema: { summary: 'Start a step-up (WebAuthn assertion bound to this session)' } }, async (request) => identity.stepUpBegin(callerOf(request)));
    app.post<{ Body: { redirect: string; challenge: string } }>(
      '/auth/step-up/handoff',
      { schema: { summary: 'Start a step-up from an API token whose exemption is withdrawn: the new session is handed off to `redirect` (loopback, PKCE challenge)', body: handoff } },
      async (request) => identity.stepUpBegin(callerOf(request), { handoff: request.body }),
    );
    const saParams = { type: 'object', required: ['name'], properties: { name } } as const;
    const jwkSchema = { type: 'object', maxProperties: 16, required: ['kty'], properties: { kty: { type: 'string', maxLength: 8 } } } as const;
    app.post<{ Params: { name: string }; Body: { jwk: Record<string, unknown> } }>(
      '/service-accounts/:name/keys',
      { schema: { summary: 'Register a public key a service account signs token requests with (private_key_jwt)', params: saParams, body: obj(['jwk'], { jwk: jwkSchema }) } },
      async (request, reply) => reply.code(201).send(await identity.addClientKey(callerOf(request), request.params.name, request.body.jwk)),
    );
    app.get<{ Params: { name: string } }>('/service-accounts/:name/keys', { schema: { summary: 'Keys of a service account', params: saParams } }, async (request) => ({ items: await identity.listClientKeys(callerOf(request), request.params.name) }));
    app.delete<{ Params: { name: string; kid: string } }>(
      '/service-accounts/:name/keys/:kid',
      { schema: { summary: 'Revoke a service account key', params: { type: 'object', required: ['name', 'kid'], properties: { name, kid: { type: 'string', maxLength: 128 } } } } },
      async (request, reply) => {
        await identity.revokeClientKey(callerOf(request), request.params.name, request.params.kid);
        return reply.code(204).send();
      },
    );
    const claimMap = { type: 'object', minProperties: 1, maxProperties: 16, additionalProperties: { type: 'string', maxLength: 512 } } as const;
    app.put<{ Params: { name: string }; Body: { issuer: string; jwksUri?: string; jwks?: { keys: unknown[] }; audience: string; bindings: { serviceAccount: string; claims: Record<string, string> }[] } }>(
      '/identity/workload-issuers/:name',
      {
        schema: {
          summary: 'Trust a workload OIDC issuer (CI) and bind its tokens to service accounts',
          params: saParams,
          body: obj(['issuer', 'audience', 'bindings'], {
            issuer: { type: 'string', maxLength: 512 },
            jwksUri: { type: 'string', maxLength: 512 },
            jwks: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', maxItems: 32, items: { type: 'object' } } } },
            audience: { type: 'string', minLength: 1, maxLength: 512 },
            bindings: { type: 'array', minItems: 1, maxItems: 100, items: obj(['serviceAccount', 'claims'], { serviceAccount: name, claims: claimMap }) },
          }),
        },
      },
      async (request) => identity.putWorkloadIssuer(callerOf(request), { name: request.params.name, ...request.body } as never),
    );
    app.get('/identity/workload-issuers', { schema: { summary: 'Trusted workload issuers' } }, async (request) => ({ items: await identity.listWorkloadIssuers(callerOf(request)) }));
    app.delete<{ Params: { name: string } }>('/identity/workload-issuers/:name', { schema: { summary: 'Stop trusting a workload issuer', params: saParams } }, async (request, reply) => {
      await identity.deleteWorkloadIssuer(callerOf(request), request.params.name);
      return reply.code(204).send();
    });
    app.post('/identity/scim-tokens', { schema: { summary: 'Issue a SCIM token for an identity provider (shown once)' } }, async (request, reply) => reply.code(201).send(await identity.createScimToken(callerOf(request))));
    app.get('/identity/scim-tokens', { schema: { summary: 'SCIM tokens' } }, async (request) => ({ items: await identity.listScimTokens(callerOf(request)) }));
    app.delete<{ Params: { id: string } }>('/identity/scim-tokens/:id', { schema: { summary: 'Revoke a SCIM token', params: idParams } }, async (request, reply) => {
      await identity.revokeScimToken(callerOf(request), request.params.id);
      return reply.code(204).send();
    });
    app.post<{ Body: { name: string; publicKey: Record<string, unknown> } }>(
      '/devices',
      { schema: { summary: 'Enrol a device key pair (Ed25519 public JWK); an admin approves it', body: obj(['name', 'publicKey'], { name: { type: 'string', minLength: 1, maxLength: 100 }, publicKey: { type: 'object', maxProperties: 8 } }) } },
      async (request, reply) => reply.code(201).send(await identity.enrolDevice(callerOf(request), request.body)),
    );
    app.get<{ Querystring: { all?: boolean } }>('/devices', { schema: { summary: 'Devices of the caller (admins: `all`)', querystring: obj([], { all: { type: 'boolean' } }) } }, async (request) => ({
      items: await identity.listDevices(callerOf(request), request.query.all === true),
    }));
    for (const verb of ['approve', 'reject', 'revoke'] as const) {
      app.post<{ Params: { id: string } }>(`/devices/:id/${verb}`, { schema: { summary: `${verb} a device`, params: idParams } }, async (request) => identity.decideDevice(callerOf(request), request.params.id, verb));
    }
    app.post<{ Body: { retireNow?: boolean } }>(
      '/identity/signing-key/rotate',
      { schema: { summary: 'Rotate the access-token signing key (the previous one verifies until its tokens expired, unless retireNow)', body: obj([], { retireNow: { type: 'boolean' } }) } },
      async (request) => identity.rotateSigningKey(callerOf(request), { retireNow: request.body.retireNow === true }),
    );
    app.post<{ Params: { id: string } }>('/devices/:id/certificate', { schema: { summary: 'A client certificate of the device CA for one of your approved devices (mTLS)', params: idParams } }, async (request) => identity.certifyDevice(callerOf(request), request.params.id));
    app.put<{ Params: { name: string }; Body: { issuer: string; clientId: string; clientSecret: string; groupsClaim?: string; usernameClaim?: string; groupMap?: Record<string, string> } }>(
      '/identity/sso-providers/:name',
      {
        schema: {
          summary: 'Configure an OpenID Connect provider for single sign-on',
          params: { type: 'object', required: ['name'], properties: { name } },
          body: obj(['issuer', 'clientId', 'clientSecret'], {
            issuer: { type: 'string', maxLength: 512 },
            clientId: { type: 'string', minLength: 1, maxLength: 256 },
            clientSecret: { type: 'string', minLength: 1, maxLength: 512 },
            groupsClaim: { type: 'string', maxLength: 100 },
            usernameClaim: { type: 'string', maxLength: 100 },
            groupMap: { type: 'object', maxProperties: 200, additionalProperties: name },
          }),
        },
      },
      async (request) => {
        const b = request.body;
        return identity.putSsoProvider(callerOf(request), { name: request.params.name, issuer: b.issuer, clientId: b.clientId, clientSecret: b.clientSecret, groupsClaim: b.groupsClaim ?? 'groups', usernameClaim: b.usernameClaim ?? 'preferred_username', groupMap: b.groupMap ?? {} });
      },
    );
    app.post<{ Params: { name: string }; Body: { ttlSeconds?: number } }>(
      '/principals/:name/enrollment-tickets',
      { schema: { summary: 'Issue a one-time enrollment ticket with which a user sets a first password (shown once)', params: { type: 'object', required: ['name'], properties: { name } }, body: obj([], { ttlSeconds: { type: 'integer', minimum: 60, maximum: 86400 } }) } },
      async (request, reply) => reply.code(201).send(await identity.issueEnrollmentTicket(callerOf(request), request.params.name, request.body ?? {})),
    );
    app.delete<{ Params: { name: string } }>('/principals/:name', { schema: { summary: 'Delete a user or service account and everything attached to it', params: { type: 'object', required: ['name'], properties: { name } } } }, async (request, reply) => {
      await identity.deletePrincipal(callerOf(request), request.params.name);
      return reply.code(204).send();
    });
  };
}

/**
 * Identity routes outside the authenticated scope: login steps, refresh, revocation,
 * hand-off exchange, WebAuthn ceremonies finished by a browser, JWKS, and the login
 * pages (web/login/). Each checks its own credential (password, ticket, ceremony,
 * refresh token); none trusts the caller otherwise.
 */
export function identityPublicRoutes(identity: IdentityService) {
  return (app: FastifyInstance): void => {
    const jwks = async () => identity.jwks();
    app.get('/.well-known/jwks.json', { schema: { hide: true } }, jwks);
    app.get('/v1/auth/jwks', { schema: { summary: 'Public keys of access tokens (JWKS)', security: [] } }, jwks);

    app.post<{ Body: { name: string; password: string } }>(
      '/v1/auth/login',
      { schema: { summary: 'Log in with a password (then a second factor if the account has one)', security: [], body: obj(['name', 'password'], { name: { type: 'string', minLength: 1, maxLength: 200 }, password: secret }) } },
      async (request) => identity.login(metaOf(request), request.body),
    );
    app.post<{ Body: { ticket: string; code: string } }>(
      '/v1/auth/login/mfa',
      { schema: { summary: 'Second login step with a TOTP or recovery code', security: [], body: obj(['ticket', 'code'], { ticket: secret, code: { type: 'string', maxLength: 32 } }) } },
      async (request) => identity.loginMfa(metaOf(request), request.body),
    );
    app.post<{ Body: { ticket: string } }>(
      '/v1/auth/login/webauthn/begin',
      { schema: { summary: 'Start the WebAuthn second login step', security: [], body: obj(['ticket'], { ticket: secret }) } },
      async (request) => identity.loginWebAuthnBegin(request.body),
    );
    app.post<{ Body: { ceremonyId: string; response: unknown; handoff?: { redirect: string; challenge: string } } }>(
      '/v1/auth/login/webauthn/finish',
      { schema: { summary: 'Finish the WebAuthn second login step', security: [], body: obj(['ceremonyId', 'response'], { ceremonyId: secret, response: webauthnResponse, handoff }) } },
      async (request) => identity.loginWebAuthnFinish(metaOf(request), request.body),
    );
    app.post<{ Body: { refreshToken: string } }>(
      '/v1/auth/refresh',
      { schema: { summary: 'Rotate a refresh token (each works once; reuse revokes the session)', security: [], body: obj(['refreshToken'], { refreshToken: secret }) } },
      async (request) => identity.refresh(metaOf(request), request.body.refreshToken),
    );
    app.post<{ Body: { token: string } }>(
      '/v1/auth/revoke',
      { schema: { summary: 'Revoke a token you hold (access, refresh or API token)', security: [], body: obj(['token'], { token: { type: 'string', minLength: 1, maxLength: 8192 } }) } },
      async (request, reply) => {
        await identity.revokePresented(metaOf(request), request.body.token);
        return reply.code(204).send();
      },
    );
    app.post<{ Body: { ticket: string; password: string } }>(
      '/v1/auth/enroll',
      { schema: { summary: 'Set a first password with an enrollment ticket from an administrator (the ticket works once)', security: [], body: obj(['ticket', 'password'], { ticket: secret, password: secret }) } },
      async (request) => identity.enroll(metaOf(request), request.body),
    );
    app.post<{ Body: { code: string; verifier: string } }>(
      '/v1/auth/handoff/exchange',
      { schema: { summary: 'Exchange a browser hand-off code and its verifier for tokens', security: [], body: obj(['code', 'verifier'], { code: secret, verifier: { type: 'string', minLength: 43, maxLength: 128 } }) } },
      async (request) => identity.exchangeHandoff(metaOf(request), request.body.code, request.body.verifier),
    );
    app.get<{ Params: { id: string } }>('/v1/auth/webauthn/ceremonies/:id', { schema: { summary: 'Browser options of a pending WebAuthn ceremony', security: [], params: idParams } }, async (request) => {
      const c = await identity.ceremony(request.params.id);
      if (c === null) throw new NotFoundError('ceremony not found or expired');
      return c;
    });
    app.post<{ Body: { ceremonyId: string; response: unknown } }>(
      '/v1/auth/step-up/finish',
      { schema: { summary: 'Finish a step-up with a WebAuthn assertion', security: [], body: obj(['ceremonyId', 'response'], { ceremonyId: secret, response: webauthnResponse }) } },
      async (request) => identity.stepUpFinish(metaOf(request), request.body),
    );

    app.get('/v1/auth/sso/providers', { schema: { summary: 'Identity providers to sign in with', security: [] } }, async () => ({ items: await identity.ssoProviders() }));
    app.get<{ Params: { provider: string }; Querystring: { redirect: string; challenge: string } }>(
      '/v1/auth/sso/:provider/start',
      { schema: { summary: 'Start single sign-on (redirects to the identity provider)', security: [], params: { type: 'object', required: ['provider'], properties: { provider: name } }, querystring: handoff } },
      async (request, reply) => reply.redirect(await identity.ssoStart(request.params.provider, request.query), 302),
    );
    app.get('/v1/auth/sso/callback', { schema: { summary: 'Where the identity provider sends the browser back', security: [] } }, async (request, reply) => {
      // the query as received: openid-client checks state, code and issuer parameters on it
      return reply.redirect(await identity.ssoFinish(metaOf(request), new URL(request.url, 'http://callback.invalid').search), 302);
    });

    // the token endpoint of service accounts: OAuth clients send forms, others JSON
    const tokenBody = {
      type: 'object',
      additionalProperties: false,
      required: ['grant_type'],
      properties: Object.fromEntries(['grant_type', 'client_id', 'client_assertion_type', 'client_assertion', 'subject_token', 'subject_token_type', 'expires_in', 'scope', 'audience'].map((k) => [k, { type: 'string', maxLength: 8192 }])),
    } as const;
    void app.register(async (scope: FastifyInstance) => {
      scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(String(body))));
      });
      for (const path of ['/oauth/token', '/v1/auth/token']) {
        scope.post<{ Body: Record<string, string> }>(path, { schema: { summary: 'Service account tokens: private_key_jwt or workload ID token exchange (at most 1 hour)', security: [], body: tokenBody } }, async (request) => {
          const { grant_type, ...rest } = request.body;
          return identity.token(metaOf(request), { grant_type: grant_type!, ...rest });
        });
      }
    });

    // the login pages: static files, same origin as the API (WebAuthn is bound to it)
    const pages: Record<string, string> = { '': 'index.html', 'index.html': 'index.html', 'login.js': 'login.js' };
    app.get<{ Params: { file?: string } }>('/login/:file?', { schema: { hide: true } }, async (request, reply) => {
      const file = pages[request.params.file ?? ''];
      if (file === undefined) throw new NotFoundError('no such page');
      const type = file.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/html; charset=utf-8';
      return reply
        .type(type)
        .header('content-security-policy', "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        .header('referrer-policy', 'no-referrer')
        .send(readFileSync(join(webRoot(), 'login', file)));
    });
  };
}

let root: string | undefined;
/** web/ of the package (found by walking up to package.json: works from src/ and dist/src/). */
function webRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new NotFoundError('login pages are not installed');
    dir = up;
  }
  return (root = join(dir, 'web'));
}
