import type { SimulationReport } from './run-simulation.js';

const GB = 1024 ** 3;

/** The simulation report as text for people. */
export function formatReport(r: SimulationReport): string {
  const o = r.options;
  const lines: string[] = [];
  lines.push(`Coffer monitor simulation (seed ${o.seed})`);
  lines.push(`team: ${o.people} people, ${o.pipelines} pipelines; ${o.days} simulated days (${o.warmupDays} of learning before any attack)`);
  lines.push(`audit records through the detectors: ${r.events} in ${(r.wallMs / 1000).toFixed(1)} s`);
  lines.push('');
  lines.push('attack                injected  detected  rate    median TTD    max TTD       locked');
  for (const [kind, k] of Object.entries(r.byKind)) {
    if (k.injected === 0) continue;
    const rate = ((k.detected / k.injected) * 100).toFixed(0) + '%';
    lines.push(`${kind.padEnd(22)}${String(k.injected).padEnd(10)}${String(k.detected).padEnd(10)}${rate.padEnd(8)}${minutes(k.medianMinutes).padEnd(14)}${minutes(k.maxMinutes).padEnd(14)}${k.locked}`);
  }
  const bulk = r.attacks.filter((a) => a.attack.kind === 'bulk-exfiltration');
  if (bulk.length > 0) {
    lines.push('');
    lines.push('bulk exfiltration: seconds from crossing the threshold (absolute caps, or the principal\'s own baseline as learned before the attack) to the lock');
    for (const a of bulk) {
      const taken = Number(a.attack.detail.bytes) / GB;
      lines.push(`  ${a.attack.id.padEnd(8)} ${a.attack.principalName.padEnd(10)} ${String(a.attack.detail.artifacts).padStart(3)} artifacts ${taken.toFixed(0).padStart(4)} GiB planned, ${gib(a.bytesTaken)} taken; locked ${a.lockLagSeconds === null ? 'never' : `${a.lockLagSeconds.toFixed(0)} s after crossing (${a.lockRule ?? '-'})`}; first alert ${a.firstFinding ? `${a.firstFinding.rule}, ${minutes(a.minutesToDetect)} after the start` : '-'}`);
    }
  }
  const hiding = r.attacks.filter((a) => a.attack.kind === 'spread-projects' || a.attack.kind === 'restricted-drain');
  if (hiding.length > 0) {
    lines.push('');
    lines.push('attacks hiding in the bulk-read allowance: what they took before the lock');
    for (const a of hiding) {
      const what = a.attack.kind === 'spread-projects' ? `${a.attack.detail.files} files of ${a.attack.detail.projects} projects` : `restricted \`${a.attack.detail.artifact}\``;
      lines.push(`  ${a.attack.id.padEnd(9)} ${a.attack.principalName.padEnd(10)} ${what}: ${gib(a.bytesTaken)} of ${gib(a.bytesPlanned)} taken; ${a.lockedAt === null ? 'never locked' : `locked ${minutes((a.lockedAt - a.attack.start) / 60_000)} after the start (${a.lockRule})`}; first alert ${a.firstFinding ? `${a.firstFinding.rule}, ${minutes(a.minutesToDetect)} after the start` : '-'}`);
    }
  }
  if (r.bulkReads.length > 0) {
    lines.push('');
    lines.push('legitimate bulk reads (DVC pull, aws s3 sync of an exported tree) of the reader\'s own project:');
    for (const b of r.bulkReads) {
      const alerts = Object.entries(b.alerts).map(([k, v]) => `${k} ${v}`).join(', ');
      lines.push(`  ${b.read.id.padEnd(12)} ${b.read.principalName.padEnd(10)} ${String(b.read.files).padStart(5)} files ${gib(b.read.bytes).padStart(9)}: ${b.locked ? 'LOCKED' : 'not locked'}, ${b.filesDelivered}/${b.read.files} files delivered${alerts ? `; alerts: ${alerts}` : ''}`);
    }
  }
  const slow = r.attacks.filter((a) => a.attack.kind === 'slow-and-low');
  if (slow.length > 0) {
    lines.push('');
    lines.push('slow-and-low: intensity (x usual daily volume) -> time to detect');
    for (const a of slow) lines.push(`  ${a.attack.id.padEnd(8)} ${a.attack.principalName.padEnd(10)} x${String(a.attack.detail.intensity).padEnd(5)} -> ${minutes(a.minutesToDetect)} ${a.firstFinding ? `(${a.firstFinding.rule})` : ''}`);
  }
  lines.push('');
  lines.push(`false alerts: ${r.falseAlerts.total} over ${r.userDays} user-days (${r.principalDays} principal-days with pipelines): ${r.falseAlerts.per100UserDays.toFixed(2)} per 100 user-days, ${r.falseAlerts.per100PrincipalDays.toFixed(2)} per 100 principal-days; false locks ${r.falseAlerts.locks}`);
  const byRule = Object.entries(r.falseAlerts.byRule).map(([k, v]) => `${k} ${v}`).join(', ');
  if (byRule) lines.push(`  by rule: ${byRule}`);
  for (const ex of r.falseAlerts.examples) lines.push(`  e.g. ${ex}`);
  lines.push('');
  lines.push('targets:');
  for (const t of r.targets) lines.push(`  [${t.pass ? 'PASS' : 'FAIL'}] ${t.name}: ${t.value}`);
  return lines.join('\n') + '\n';
}

function gib(bytes: number): string {
  return `${(bytes / GB).toFixed(1)} GiB`;
}

function minutes(m: number | null): string {
  if (m === null) return '-';
  if (m < 1) return `${(m * 60).toFixed(0)} s`;
  if (m < 120) return `${m.toFixed(1)} min`;
  return `${(m / 60).toFixed(1)} h`;
}
