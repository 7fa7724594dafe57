// The one registry of shape functions, per profile: which op a library call or a tensor method
// names, in either spelling (`logSoftmax` / `log_softmax` in torch). Adding an op is adding an entry.

import type { Profile } from '../api';
import { convOps } from './conv';
import { creationOps } from './creation';
import { elementwiseOps } from './elementwise';
import { indexingOps } from './indexing';
import { linalgOps } from './linalg';
import { moduleOps } from './modules';
import { reductionOps } from './reductions';
import { shapeOps } from './shapeOps';
import type { OpEntry } from './types';

export type { OpArg, OpCall, OpContext, OpEntry, OpFn } from './types';

interface ProfileTables {
  /** Functions and tensor methods. */
  readonly ops: ReadonlyMap<string, OpEntry>;
  /** Module classes (torch `nn.*`) and layer factories (TF.js `tf.layers.*`, `tf.sequential`). */
  readonly modules: ReadonlyMap<string, OpEntry>;
}

function build(profile: Profile): ProfileTables {
  const ops = new Map<string, OpEntry>();
  for (const table of [creationOps(profile), elementwiseOps(profile), shapeOps(profile), reductionOps(profile), linalgOps(profile), convOps(profile), indexingOps(profile)]) {
    for (const [k, v] of Object.entries(table)) ops.set(k, v);
  }
  const modules = new Map(Object.entries(moduleOps(profile)));
  return { ops, modules };
}

const tables: Record<Profile, ProfileTables> = { torch: build('torch'), tfjs: build('tfjs') };

/** `logSoftmax` → `log_softmax`, `argMax` stays findable as `argmax`. */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function find(map: ReadonlyMap<string, OpEntry>, profile: Profile, name: string): { name: string; entry: OpEntry } | undefined {
  const candidates = profile === 'torch' ? [name, snakeCase(name), name.toLowerCase()] : [name];
  for (const c of candidates) {
    const entry = map.get(c);
    if (entry) return { name: c, entry };
  }
  return undefined;
}

/**
 * A call through a library value: `torch.zeros`, `F.softmax`, `nn.Linear`, `tf.layers.dense`,
 * `tf.sequential`. `path` is the member path from the import (`['nn', 'functional', 'softmax']`).
 */
const libraryCache = new Map<string, { name: string; entry: OpEntry; isModule: boolean } | null>();

export function lookupLibraryCall(profile: Profile, path: readonly string[]): { name: string; entry: OpEntry; isModule: boolean } | undefined {
  const key = `${profile}:${path.join('.')}`;
  let hit = libraryCache.get(key);
  if (hit === undefined) {
    hit = lookupLibraryCallUncached(profile, path) ?? null;
    libraryCache.set(key, hit);
  }
  return hit ?? undefined;
}

function lookupLibraryCallUncached(profile: Profile, path: readonly string[]): { name: string; entry: OpEntry; isModule: boolean } | undefined {
  const name = path[path.length - 1];
  if (name === undefined) return undefined;
  const t = tables[profile];
  if (profile === 'tfjs') {
    if (path.includes('layers') || name === 'sequential' || name === 'model') {
      const m = find(t.modules, profile, name);
      return m && { ...m, isModule: true };
    }
  } else if (/^[A-Z]/.test(name)) {
    const m = find(t.modules, profile, name);
    return m && { ...m, isModule: true };
  }
  const op = find(t.ops, profile, name);
  if (op && op.entry.func) return { ...op, isModule: false };
  return undefined;
}

/** A method on a tensor: `x.view(…)`, `x.argMax(1)`. */
const methodCache = new Map<string, { name: string; entry: OpEntry } | null>();

export function lookupMethod(profile: Profile, name: string): { name: string; entry: OpEntry } | undefined {
  const key = `${profile}:${name}`;
  let hit = methodCache.get(key);
  if (hit === undefined) {
    const op = find(tables[profile].ops, profile, name);
    hit = op && op.entry.method ? op : null;
    methodCache.set(key, hit);
  }
  return hit ?? undefined;
}

/** Every op name in the registry, for tests that exercise each one. */
export function registryNames(profile: Profile): { ops: string[]; modules: string[] } {
  return { ops: [...tables[profile].ops.keys()], modules: [...tables[profile].modules.keys()] };
}
