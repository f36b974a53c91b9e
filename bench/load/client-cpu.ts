/** CPU seconds (user + system) this process used since `since` (a process.cpuUsage() value). */
export function cpuSecondsSince(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

/** `authorization` header for a bearer token, or none. */
export function authHeaders(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}
