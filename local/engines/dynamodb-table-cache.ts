// Local DynamoDB (dynalite): table descriptions kept in memory.
//
// dynalite reads the table's description from LevelDB at the start of every item operation: an
// asynchronous read on the libuv thread pool, so a round trip between threads for each GetItem,
// PutItem or UpdateItem (measured: an idle UpdateItem spent 2.7–4 ms of wall time for ~0.9 ms of
// CPU). The descriptions change only through dynalite's own writes to its table store (create,
// update, delete, and the status changes that follow), so a cache filled on read and dropped on
// any such write answers exactly what LevelDB would. Each caller gets its own copy, as a decode
// from LevelDB gives.

/** The parts of dynalite's store this touches. */
export interface TableStore {
  getTable(name: string, checkStatus: boolean | ((error: unknown, table?: unknown) => void), cb?: (error: unknown, table?: unknown) => void): void;
  readonly tableDb: TableDb;
}

interface TableDb {
  put(key: string, value: unknown, ...rest: unknown[]): unknown;
  del(key: string, ...rest: unknown[]): unknown;
  batch?: (...args: unknown[]) => unknown;
}

/** Statuses in which dynalite's own reads refuse a table (see its `getTable(name, checkStatus)`). */
const TRANSITIONAL = new Set(['CREATING', 'DELETING']);

/**
 * Wraps `store.getTable` with an in-memory cache of ACTIVE/UPDATING descriptions, invalidated by
 * every write to `store.tableDb`. Reads that miss, and errors, go to dynalite unchanged.
 *
 * @example
 * ```ts
 * const { store } = captureDynaliteStore(() => dynalite({ path }));
 * cacheTableDescriptions(store);
 * ```
 */
export const cacheTableDescriptions = (store: TableStore): void => {
  const cache = new Map<string, unknown>();
  // Bumped by every write: a read that started before a write must not cache what it read.
  let generation = 0;
  const read = store.getTable.bind(store);
  const tableDb = store.tableDb;
  for (const method of ['put', 'del'] as const) {
    const write = tableDb[method].bind(tableDb) as (key: string, ...rest: unknown[]) => unknown;
    tableDb[method] = ((key: string, ...rest: unknown[]) => {
      generation++;
      cache.delete(key);
      return write(key, ...rest);
    }) as never;
  }
  if (typeof tableDb.batch === 'function') {
    const batch = tableDb.batch.bind(tableDb);
    tableDb.batch = (...args: unknown[]) => {
      generation++;
      cache.clear();
      return batch(...args);
    };
  }
  store.getTable = (name, checkStatus, cb) => {
    const callback = (typeof checkStatus === 'function' ? checkStatus : cb)!;
    const cached = cache.get(name);
    if (cached !== undefined) {
      // Asynchronous, as the LevelDB read it replaces.
      queueMicrotask(() => callback(null, structuredClone(cached)));
      return;
    }
    const readAt = generation;
    read(name, typeof checkStatus === 'function' ? false : checkStatus, (error, table) => {
      const status = (table as { TableStatus?: string } | undefined)?.TableStatus;
      if (!error && table && status && !TRANSITIONAL.has(status) && readAt === generation) cache.set(name, structuredClone(table));
      callback(error, table);
    });
  };
};
