/**
 * The managed-state record in a local JSON file, for `npm run sync` from a shell without the deployed table: the same
 * record as DynamoDB's (lib/sync/state/dynamodb.ts), read once and written whole after each change, through a temporary
 * file and a rename so an interrupted write leaves the previous record. A file that exists but cannot be read or parsed
 * throws (the run fails the registration and deletes nothing); a missing file is an empty record.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { PacingSnapshot } from '../pacing';
import type { SyncMemory, TargetMemory } from '../memory';

interface StateFile {
  version: 1;
  registrations: Record<string, Record<string, TargetMemory>>;
  budgets: Record<string, PacingSnapshot>;
}

export class FileSyncMemory implements SyncMemory {
  private state: Promise<StateFile> | undefined;

  constructor(readonly path: string) {}

  async targets(registration: string): Promise<ReadonlyMap<string, TargetMemory>> {
    const state = await this.load();
    return new Map(Object.entries(structuredClone(state.registrations[registration] ?? {})));
  }

  async saveTargets(registration: string, changed: ReadonlyMap<string, TargetMemory>): Promise<void> {
    const state = await this.load();
    const entries = (state.registrations[registration] ??= {});
    for (const [key, memory] of changed) entries[key] = structuredClone(memory);
    await this.write(state);
  }

  async forgetTargets(registration: string, keys: readonly string[]): Promise<void> {
    const state = await this.load();
    const entries = state.registrations[registration] ?? {};
    for (const key of keys) delete entries[key];
    await this.write(state);
  }

  async pacing(key: string): Promise<PacingSnapshot | undefined> {
    const snapshot = (await this.load()).budgets[key];
    return snapshot ? structuredClone(snapshot) : undefined;
  }

  async savePacing(key: string, snapshot: PacingSnapshot): Promise<void> {
    const state = await this.load();
    state.budgets[key] = structuredClone(snapshot);
    await this.write(state);
  }

  private load(): Promise<StateFile> {
    return (this.state ??= this.read());
  }

  private async read(): Promise<StateFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, registrations: {}, budgets: {} };
      throw new Error(`sync state file ${this.path} cannot be read: ${(error as Error).message}`, { cause: error });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new Error(`sync state file ${this.path} is not JSON`, { cause: error });
    }
    const file = parsed as Partial<StateFile> | null;
    if (!file || file.version !== 1 || typeof file.registrations !== 'object' || typeof file.budgets !== 'object')
      throw new Error(`sync state file ${this.path} is not a version 1 sync state`);
    return file as StateFile;
  }

  private async write(state: StateFile): Promise<void> {
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(state)}\n`, { mode: 0o600 });
    await rename(temporary, this.path);
  }
}
