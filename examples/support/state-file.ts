import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A downstream system's whole state in one JSON file, replaced atomically (write a
 * temporary file, then rename), so a SIGKILL leaves either the old or the new state.
 */
export interface StateFile<T> {
  load(): T;
  save(state: T): void;
}

export function stateFile<T>(path: string, initial: () => T): StateFile<T> {
  return {
    load() {
      try {
        return JSON.parse(readFileSync(path, 'utf8')) as T;
      } catch {
        return initial();
      }
    },
    save(state) {
      mkdirSync(dirname(path), { recursive: true });
      const temporary = `${path}.${process.pid}.tmp`;
      writeFileSync(temporary, JSON.stringify(state));
      renameSync(temporary, path);
    },
  };
}
