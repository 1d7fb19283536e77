/**
 * A new CDK project outside the repository that depends on the packed kit, installed the way a
 * team installs it (`npm ci` from a lockfile), offline: every version is the one this repository
 * locked, and npm takes the tarballs from its cache.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

export const REPO_ROOT = path.join(__dirname, '..', '..');

interface LockEntry {
  readonly version?: string;
  readonly resolved?: string;
  readonly integrity?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  readonly inBundle?: boolean;
  readonly [key: string]: unknown;
}

interface Lockfile {
  readonly name: string;
  readonly version: string;
  readonly lockfileVersion: number;
  readonly requires: boolean;
  readonly packages: Record<string, LockEntry>;
}

export interface PackedKit {
  /** The tarball's absolute path. */
  readonly tarball: string;
  /** The kit's package.json (from the repository: the same one the tarball holds). */
  readonly manifest: {
    readonly name: string;
    readonly version: string;
    readonly license?: string;
    readonly dependencies?: Record<string, string>;
    readonly peerDependencies?: Record<string, string>;
    readonly engines?: Record<string, string>;
    readonly bin?: Record<string, string>;
  };
}

/** Where node would find `name` from the package at `from` (a lockfile key, '' for the root). */
function locate(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let dir = from; ; ) {
    const key = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[key]) return key;
    if (!dir) return undefined;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i < 0 ? '' : dir.slice(0, i);
  }
}

function stripFlags(entry: LockEntry): LockEntry {
  const { dev: _dev, devOptional: _devOptional, peer: _peer, ...rest } = entry as Record<string, unknown>;
  return rest as LockEntry;
}

/**
 * The consumer's lockfile: its direct dependencies, the kit from `file:<tarball>`, and the
 * closure of their dependencies as this repository's lockfile places them (a subset of a valid
 * `node_modules` tree, closed under resolution, is one).
 */
export function consumerLockfile(name: string, direct: Record<string, string>, kit: PackedKit, tarballSpec: string): Lockfile {
  const repo = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as Lockfile;
  const integrity = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(kit.tarball)).digest('base64')}`;
  const kitKey = `node_modules/${kit.manifest.name}`;
  const kitEntry: LockEntry = {
    version: kit.manifest.version,
    resolved: tarballSpec,
    integrity,
    license: kit.manifest.license,
    dependencies: kit.manifest.dependencies,
    ...(kit.manifest.bin ? { bin: kit.manifest.bin } : {}),
    engines: kit.manifest.engines,
    peerDependencies: kit.manifest.peerDependencies,
  };
  const packages: Record<string, LockEntry> = {
    '': { name, dependencies: { ...direct, [kit.manifest.name]: tarballSpec } },
    [kitKey]: kitEntry,
  };
  const queue: Array<[string, Record<string, string>]> = [['', direct], [kitKey, { ...kitEntry.dependencies, ...kitEntry.peerDependencies }]];
  while (queue.length > 0) {
    const [from, deps] = queue.shift()!;
    for (const dep of Object.keys(deps)) {
      const key = locate(repo.packages, from, dep);
      if (!key) throw new Error(`${dep} (needed by ${from || 'the project'}) is not in package-lock.json`);
      if (packages[key]) continue;
      const entry = repo.packages[key];
      packages[key] = stripFlags(entry);
      if (entry.inBundle) continue;
      for (const [k, v] of Object.entries(repo.packages)) if (k.startsWith(`${key}/node_modules/`) && v.inBundle) packages[k] = stripFlags(v);
      const peers = Object.keys(entry.peerDependencies ?? {}).filter((p) => !entry.peerDependenciesMeta?.[p]?.optional);
      queue.push([key, { ...(entry.dependencies ?? {}), ...Object.fromEntries(peers.map((p) => [p, '*'])) }]);
    }
  }
  return { name, version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}
