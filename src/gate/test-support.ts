/**
 * Test support for the gate: the labelled corpora under test/fixtures/gate/ and the
 * precision/recall arithmetic. Not part of the gate's API.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../test/support/paths.js';
import { scanBytes } from './artifact-scan.js';
import type { Finding } from './core/verdict.js';

export { repoRoot };

/** The ground truth written by test/fixtures/gate/generate.py. */
export interface CorpusLabels {
  models: { file: string; unsafe: boolean; technique: string }[];
  secrets: { file: string; key: string; type: string }[];
  secretFiles: { file: string }[];
  pii: { file: string; key: string; type: string }[];
  piiFiles: { file: string; kind: string }[];
}

/** Folder of the corpora. */
export const CORPUS_DIR = () => join(repoRoot(), 'test/fixtures/gate');

/** Reads labels.json. */
export function readLabels(): CorpusLabels {
  return JSON.parse(readFileSync(join(CORPUS_DIR(), 'labels.json'), 'utf8')) as CorpusLabels;
}

/** True and false positives and false negatives of one finding type. */
export interface Score {
  tp: number;
  fp: number;
  fn: number;
}

/** precision, or 1 when nothing was reported. */
export const precision = (s: Score) => (s.tp + s.fp === 0 ? 1 : s.tp / (s.tp + s.fp));
/** recall, or 1 when nothing was expected. */
export const recall = (s: Score) => (s.tp + s.fn === 0 ? 1 : s.tp / (s.tp + s.fn));

/** The item key a finding is compared on: `row:field` for CSV/JSON Lines, the line otherwise. */
function itemKey(f: Finding): string {
  if (f.location.row !== undefined && f.location.field !== undefined) return `${f.location.row}:${f.location.field}`;
  return String(f.location.line);
}

/** Scores a text scanner per finding type over labelled files (an item counts once per type). */
export function scoreItems(files: { file: string }[], items: { file: string; key: string; type: string }[], verdict: 'secrets' | 'pii'): Map<string, Score> {
  const scores = new Map<string, Score>();
  const score = (t: string) => {
    let s = scores.get(t);
    if (s === undefined) scores.set(t, (s = { tp: 0, fp: 0, fn: 0 }));
    return s;
  };
  for (const { file } of files) {
    const report = scanBytes(readFileSync(join(CORPUS_DIR(), file)), { name: file.split('/').pop()!, limits: { maxLocations: 1_000_000 } });
    const got = new Set(report[verdict].findings.map((f) => `${itemKey(f)}|${f.type}`));
    const want = new Set(items.filter((i) => i.file === file).map((i) => `${i.key}|${i.type}`));
    for (const g of got) {
      if (want.has(g)) score(g.split('|')[1]!).tp++;
      else score(g.split('|')[1]!).fp++;
    }
    for (const w of want) if (!got.has(w)) score(w.split('|')[1]!).fn++;
  }
  return scores;
}

/** Scores the unsafe-code verdict per file (flagged or unscannable = judged unsafe). */
export function scoreModels(models: CorpusLabels['models']): { score: Score; misses: string[] } {
  const score: Score = { tp: 0, fp: 0, fn: 0 };
  const misses: string[] = [];
  for (const m of models) {
    const r = scanBytes(readFileSync(join(CORPUS_DIR(), m.file)), { name: m.file.split('/').pop()! });
    const unsafe = r.unsafeCode.outcome !== 'clean';
    if (unsafe && m.unsafe) score.tp++;
    else if (unsafe) {
      score.fp++;
      misses.push(`false positive: ${m.file}`);
    } else if (m.unsafe) {
      score.fn++;
      misses.push(`missed: ${m.file}`);
    }
  }
  return { score, misses };
}

/** A markdown table of scores. */
export function scoreTable(rows: [string, string, Score][]): string {
  const out = ['| scanner | finding type | TP | FP | FN | precision | recall |', '|---|---|---:|---:|---:|---:|---:|'];
  for (const [scanner, type, s] of rows) out.push(`| ${scanner} | ${type} | ${s.tp} | ${s.fp} | ${s.fn} | ${precision(s).toFixed(3)} | ${recall(s).toFixed(3)} |`);
  return out.join('\n');
}
