import { randomBytes } from 'node:crypto';
import { NotFoundError } from '../../domain/errors.js';
import { fourEyesViolation } from '../../access/four-eyes.js';
import { parseDevicePublicKey } from '../../identity/device-signature.js';
import { issueDeviceCertificate } from '../../identity/device-ca.js';
import type { DeviceRecord, DeviceStatus } from '../../store/identity-store.js';
import type { Caller } from '../caller.js';
import type { ServiceDeps } from '../deps.js';
import type { Gate } from '../gate.js';
import { SYSTEM, identityOf } from './audit.js';

function deviceView(d: DeviceRecord) {
  return { id: d.id, principalId: d.principalId, name: d.name, publicKey: JSON.parse(d.publicKey) as unknown, status: d.status, createdAt: new Date(d.createdAt).toISOString(), decidedBy: d.decidedBy, decidedAt: d.decidedAt === null ? null : new Date(d.decidedAt).toISOString() };
}

/**
 * Enrols a device key pair for the caller: the public Ed25519 key is stored `pending`
 * until an admin approves it. Only then do requests signed with it count as managed.
 */
export async function enrolDevice(deps: ServiceDeps, gate: Gate, caller: Caller, input: { name: string; publicKey: unknown }) {
  parseDevicePublicKey(input.publicKey);
  const jwk = input.publicKey as { x: string };
  const permit = await gate.enter(caller, 'read-metadata', SYSTEM, `principal/${caller.subject.principal.name}/devices`, null, { op: 'enrol', name: input.name });
  const d: DeviceRecord = { id: `dev_${randomBytes(12).toString('base64url')}`, principalId: caller.subject.principal.id, name: input.name, publicKey: JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }), status: 'pending', createdAt: deps.clock(), decidedBy: null, decidedAt: null };
  await identityOf(deps).identityStore.addDevice(d);
  await permit.finish('success', { details: { deviceId: d.id } });
  return deviceView(d);
}

/** Devices of the caller, or every device for an admin (`all`). */
export async function listDevices(deps: ServiceDeps, gate: Gate, caller: Caller, all: boolean) {
  const permit = all
    ? await gate.enter(caller, 'manage-principals', SYSTEM, 'devices', null)
    : await gate.enter(caller, 'read-metadata', SYSTEM, `principal/${caller.subject.principal.name}/devices`, null);
  const items = await identityOf(deps).identityStore.listDevices(all ? undefined : caller.subject.principal.id);
  await permit.finish('success');
  return items.map(deviceView);
}

const TRANSITIONS: Record<'approve' | 'reject' | 'revoke', { from: DeviceStatus[]; to: DeviceStatus }> = {
  approve: { from: ['pending'], to: 'approved' },
  reject: { from: ['pending'], to: 'rejected' },
  revoke: { from: ['pending', 'approved'], to: 'revoked' },
};

/** Approves or rejects a device (`manage-principals`); revokes one (its owner or an admin). */
export async function decideDevice(deps: ServiceDeps, gate: Gate, caller: Caller, id: string, verb: keyof typeof TRANSITIONS) {
  const store = identityOf(deps).identityStore;
  const d = await store.getDevice(id.slice(0, 64));
  const own = d !== null && d.principalId === caller.subject.principal.id;
  if (d !== null && verb !== 'revoke') {
    // INVARIANT: nobody approves (or rejects) a device of their own party: approval is another admin's attestation
    // that the device is managed (four eyes, src/access/four-eyes.ts: their own, their service account's, a sibling's)
    const self = await fourEyesViolation((pid) => deps.store.getPrincipal(pid), caller.subject.principal, d.principalId, 'a device');
    if (self !== null) return gate.refuse(caller, caller.meta, 'manage-principals', `device/${d.id}`, self);
  }
  const permit = verb === 'revoke' && own
    ? await gate.enter(caller, 'read-metadata', SYSTEM, `device/${id.slice(0, 64)}`, null, { op: verb })
    : await gate.enter(caller, 'manage-principals', SYSTEM, `device/${id.slice(0, 64)}`, null, { op: verb });
  const t = TRANSITIONS[verb];
  if (d === null || !(await store.decideDevice(d.id, t.from, t.to, caller.subject.principal.id, deps.clock()))) {
    await permit.finish('failure', { reason: 'COFFER_NOT_FOUND' });
    throw new NotFoundError(`pending device \`${id.slice(0, 64)}\` not found`);
  }
  await permit.finish('success');
  return deviceView((await store.getDevice(d.id))!);
}

/**
 * Issues a client certificate of Coffer's device CA for one of the caller's approved
 * devices, certifying the key the device enrolled (the device uses it for mTLS). Only
 * the owner asks (the device holds the private key); a pending, rejected or revoked
 * device gets none. Revoking the device later makes the server refuse the certificate
 * (the device's state is checked on every request), so no revocation list is needed.
 */
export async function certifyDevice(deps: ServiceDeps, gate: Gate, caller: Caller, id: string) {
  const identity = identityOf(deps);
  const d = await identity.identityStore.getDevice(id.slice(0, 64));
  const permit = await gate.enter(caller, 'read-metadata', SYSTEM, `device/${id.slice(0, 64)}`, null, { op: 'certificate' });
  // INVARIANT: a certificate only for an approved device, and only to its owner
  if (d === null || d.principalId !== caller.subject.principal.id || d.status !== 'approved') {
    await permit.finish('failure', { reason: 'COFFER_NOT_FOUND' });
    throw new NotFoundError(`approved device \`${id.slice(0, 64)}\` not found`);
  }
  const cert = issueDeviceCertificate(identity.deviceCa, { deviceId: d.id, publicKey: parseDevicePublicKey(JSON.parse(d.publicKey)), now: deps.clock() });
  await permit.finish('success', { details: { serial: cert.serial, notAfter: cert.notAfter } });
  return { deviceId: d.id, certificate: cert.pem, serial: cert.serial, notAfter: cert.notAfter, caCertificate: identity.deviceCa.pem };
}
