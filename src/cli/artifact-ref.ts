/** `project/artifact/name[@version]` as the CLI accepts it. */
export interface ArtifactRef {
  project: string;
  artifact: string;
  version: string | undefined;
}

/** Parses `project/artifact[@version]`; the artifact name may contain `/`. */
export function parseArtifactRef(text: string, options: { version?: 'allowed' | 'forbidden' } = {}): ArtifactRef {
  const at = text.lastIndexOf('@');
  const path = at >= 0 ? text.slice(0, at) : text;
  const version = at >= 0 ? text.slice(at + 1) : undefined;
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) throw new Error(`\`${text}\` is not PROJECT/ARTIFACT${options.version === 'forbidden' ? '' : '[@VERSION]'}`);
  if (version !== undefined && (options.version === 'forbidden' || !/^(latest|[1-9]\d*)$/.test(version))) {
    throw new Error(`\`${text}\`: version must be a number or \`latest\``);
  }
  return { project: path.slice(0, slash), artifact: path.slice(slash + 1), version };
}

/** Parses `project[/artifact[@version]]` for grants. */
export function parseScope(text: string): { project: string; artifact?: string; version?: number } {
  if (!text.includes('/')) {
    if (text.includes('@')) throw new Error(`\`${text}\` is not PROJECT[/ARTIFACT[@VERSION]]`);
    return { project: text };
  }
  const ref = parseArtifactRef(text);
  if (ref.version === 'latest') throw new Error('grants name a version number, not `latest`');
  return { project: ref.project, artifact: ref.artifact, ...(ref.version !== undefined ? { version: Number(ref.version) } : {}) };
}

/** `2h`, `30m`, `7d`, `45s` or an ISO date -> ISO date string. */
export function parseExpiry(text: string, now = Date.now()): string {
  const m = /^(\d+)([smhd])$/.exec(text);
  if (m) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now + Number(m[1]) * unit * 1000).toISOString();
  }
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new Error(`\`${text}\` is neither a duration (30m, 2h, 7d) nor a date`);
  return new Date(t).toISOString();
}
