import type { Tier } from '../../domain/types.js';
import type { Prng } from './prng.js';

const MB = 1024 ** 2;
const GB = 1024 ** 3;

/** An artifact of the simulated catalog. */
export interface SimArtifact {
  project: string;
  name: string;
  kind: 'dataset' | 'model' | 'features' | 'evaluation';
  tier: Tier;
  /** Size of a version in bytes. */
  size: number;
}

/** A person of the simulated team. */
export interface SimPerson {
  id: string;
  name: string;
  /** Hours east of UTC. */
  tz: number;
  /** Local hour the working day usually starts, and its usual length in hours. */
  startHour: number;
  hoursPerDay: number;
  projects: string[];
  /** What the person usually pulls, most used first. */
  favorites: SimArtifact[];
  /** Restricted artifacts the person holds grants on (used now and then, in working hours). */
  restricted: SimArtifact[];
  /** Mean downloads per working day. */
  pullsPerDay: number;
  /** Mean metadata reads per working day (the console makes many). */
  readsPerDay: number;
  /** Office /24 prefix (`10.20.3`), home address. */
  office: string;
  home: string;
  homeShare: number;
  userAgent: string;
  browser: boolean;
}

/** A scheduled pipeline (service account). */
export interface SimPipeline {
  id: string;
  name: string;
  everyMinutes: number;
  offsetMinutes: number;
  pulls: SimArtifact[];
  pushes: SimArtifact[];
  /** CI runners' /24 prefix. */
  network: string;
}

/**
 * A folder of files pushed through the S3 endpoint (each key an unclassified artifact,
 * kind `other`): a DVC cache (content-addressed, thousands of small files) or an
 * exported directory tree (what `aws s3 sync` moves).
 */
export interface SimFileSet {
  project: string;
  shape: 'dvc' | 'tree';
  tier: Tier;
  files: Array<{ name: string; size: number }>;
}

/** The simulated organisation: catalog, people and pipelines. */
export interface SimWorld {
  artifacts: SimArtifact[];
  projects: string[];
  people: SimPerson[];
  pipelines: SimPipeline[];
  /** `project/artifact` -> tier, as the live monitor looks it up. */
  tiers: Map<string, Tier>;
  /** `project/artifact` -> catalog kind (`dataset`, `model`, `feature-set`, `evaluation`, `other`), as the live monitor looks it up. */
  kinds: Map<string, string>;
  /** Folders of S3 keys per project (added by {@link addFileSets}; empty until then). */
  fileSets: SimFileSet[];
}

const CATALOG_KIND: Record<SimArtifact['kind'], string> = { dataset: 'dataset', model: 'model', features: 'feature-set', evaluation: 'evaluation' };

/**
 * The grant that lets `holderId` reach artifact `a`, as the policy names it in the
 * record's determining policies: a project grant, except for restricted data, which
 * only an artifact grant reaches. (Ids are stable strings; only the `grt_` prefix matters.)
 */
export function grantOf(holderId: string, a: { project: string; name: string; tier: Tier }): string {
  const who = holderId.replace(/^prn_sim_/, '');
  return a.tier === 'restricted' ? `grt_sim_${who}_${a.project}_${a.name.replace(/[^a-z0-9-]/gi, '')}` : `grt_sim_${who}_${a.project}`;
}

/** The project grant of `holderId` on `project`. */
export function projectGrantOf(holderId: string, project: string): string {
  return `grt_sim_${holderId.replace(/^prn_sim_/, '')}_${project}`;
}

/**
 * Adds to every project a DVC cache of 2,000-3,000 small files (`dvc/files/md5/ab/<30 hex>`,
 * as DVC 3 lays out its remote) and an exported tree of 203 files (`exports/<split>/<class>/<n>.png`),
 * all unclassified (`other`) and internal. Uses its own generator, so the rest of the
 * world and the traffic drawn from the main one stay as they were.
 */
export function addFileSets(world: SimWorld, rng: Prng): void {
  for (const project of world.projects) {
    const dvc: SimFileSet = { project, shape: 'dvc', tier: 'internal', files: [] };
    for (let i = rng.int(2000, 3000); i > 0; i--) {
      dvc.files.push({ name: `dvc/files/md5/${rng.hex(1)}/${rng.hex(15)}`, size: Math.round(Math.min(16 * MB, Math.max(1024, rng.logNormal(256 * 1024, 1.2)))) });
    }
    const tree: SimFileSet = { project, shape: 'tree', tier: 'internal', files: [] };
    for (let i = 0; i < 203; i++) {
      const split = rng.pick(['train', 'val', 'test']);
      tree.files.push({ name: `exports/${split}/class-${rng.int(0, 9)}/${String(i).padStart(4, '0')}.png`, size: Math.round(Math.min(8 * MB, Math.max(1024, rng.logNormal(400 * 1024, 0.8)))) });
    }
    for (const set of [dvc, tree]) {
      world.fileSets.push(set);
      for (const f of set.files) {
        world.tiers.set(`${project}/${f.name}`, set.tier);
        world.kinds.set(`${project}/${f.name}`, 'other');
      }
    }
  }
}

const SITES = [
  { tz: -8, office: '10.20.1' },
  { tz: -5, office: '10.20.2' },
  { tz: 0, office: '10.20.3' },
  { tz: 1, office: '10.20.4' },
  { tz: 5.5, office: '10.20.5' },
  { tz: 8, office: '10.20.6' },
];

const CLIENTS = ['coffer-cli/0.1.0', 'coffer-cli/0.1.0 (linux)', 'coffer-cli/0.1.0 (darwin)'];
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

/** Builds a world of `people` people and `pipelines` pipelines from the generator. */
export function buildWorld(rng: Prng, people: number, pipelines: number): SimWorld {
  const projectCount = Math.max(3, Math.ceil(people / 4) + 1);
  const projects = Array.from({ length: projectCount }, (_, i) => `proj-${i}`);
  const artifacts: SimArtifact[] = [];
  const tierOf = (weights: [Tier, number][]): Tier => {
    let x = rng.next();
    for (const [t, w] of weights) {
      x -= w;
      if (x <= 0) return t;
    }
    return weights[0]![0];
  };
  for (const project of projects) {
    const add = (kind: SimArtifact['kind'], n: number, median: number, sigma: number, max: number, tiers: [Tier, number][], stem: string = kind) => {
      for (let i = 0; i < n; i++) {
        artifacts.push({ project, name: `${kind}s/${stem}-${i}`, kind, tier: tierOf(tiers), size: Math.round(Math.min(max, Math.max(MB, rng.logNormal(median, sigma)))) });
      }
    };
    add('dataset', rng.int(9, 14), 2 * GB, 1, 20 * GB, [['internal', 0.6], ['confidential', 0.4]]);
    // restricted data (personal data, labels of customers) comes in smaller tables (named apart:
    // earlier versions named them like the first datasets, so those were looked up as restricted)
    add('dataset', rng.int(1, 3), 300 * MB, 1, 4 * GB, [['restricted', 1]], 'restricted');
    add('model', rng.int(6, 10), 400 * MB, 0.8, 6 * GB, [['internal', 0.7], ['confidential', 0.3]]);
    add('features', rng.int(3, 6), 300 * MB, 0.6, 3 * GB, [['internal', 0.6], ['confidential', 0.4]]);
    add('evaluation', rng.int(2, 4), 20 * MB, 0.8, 500 * MB, [['internal', 0.8], ['public', 0.2]]);
  }
  const inProject = (p: string) => artifacts.filter((a) => a.project === p && a.tier !== 'restricted');

  const team: SimPerson[] = [];
  for (let i = 0; i < people; i++) {
    const site = SITES[i % SITES.length]!;
    const own = rng.sample(projects, rng.chance(0.6) ? 2 : 1);
    const pool = own.flatMap(inProject);
    const favorites = rng.sample(pool, Math.min(pool.length, rng.int(4, 9)));
    const restrictedPool = artifacts.filter((a) => own.includes(a.project) && a.tier === 'restricted');
    const browser = rng.chance(0.4);
    team.push({
      id: `prn_sim_person_${i}`,
      name: `person-${i}`,
      tz: site.tz,
      startHour: rng.uniform(7.5, 10),
      hoursPerDay: rng.uniform(7.5, 9.5),
      projects: own,
      favorites,
      restricted: rng.chance(0.5) ? rng.sample(restrictedPool, Math.min(restrictedPool.length, 2)) : [],
      pullsPerDay: rng.uniform(2, 8),
      readsPerDay: browser ? rng.uniform(20, 60) : rng.uniform(3, 12),
      office: site.office,
      home: `${rng.int(60, 220)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(2, 250)}`,
      homeShare: rng.uniform(0.1, 0.5),
      userAgent: rng.pick(CLIENTS),
      browser,
    });
  }

  const flows: SimPipeline[] = [];
  for (let i = 0; i < pipelines; i++) {
    const project = projects[i % projects.length]!;
    const pool = artifacts.filter((a) => a.project === project);
    const kind = i % 3;
    const every = kind === 0 ? 60 : kind === 1 ? 24 * 60 : 6 * 60;
    const pulls =
      kind === 0
        ? rng.sample(pool.filter((a) => a.kind === 'features' || a.kind === 'dataset').filter((a) => a.size < 3 * GB), 2)
        : kind === 1
          ? [...rng.sample(pool.filter((a) => a.kind === 'dataset'), 2), ...rng.sample(pool.filter((a) => a.kind === 'features'), 1)]
          : [...rng.sample(pool.filter((a) => a.kind === 'model'), 1), ...rng.sample(pool.filter((a) => a.kind === 'evaluation' || a.tier === 'restricted'), 1)];
    const pushes = kind === 0 ? rng.sample(pool.filter((a) => a.kind === 'features'), 1) : kind === 1 ? rng.sample(pool.filter((a) => a.kind === 'model'), 1) : rng.sample(pool.filter((a) => a.kind === 'evaluation'), 1);
    flows.push({
      id: `prn_sim_pipeline_${i}`,
      name: `pipeline-${i}`,
      everyMinutes: every,
      offsetMinutes: rng.int(0, Math.min(every, 24 * 60) - 1),
      pulls,
      pushes,
      network: `10.99.${i % 4}`,
    });
  }
  return {
    artifacts,
    projects,
    people: team,
    pipelines: flows,
    tiers: new Map(artifacts.map((a) => [`${a.project}/${a.name}`, a.tier])),
    kinds: new Map(artifacts.map((a) => [`${a.project}/${a.name}`, CATALOG_KIND[a.kind]])),
    fileSets: [],
  };
}

export const BROWSER_AGENT = BROWSER;
