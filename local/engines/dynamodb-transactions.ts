import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { crc32 } from 'node:zlib';

/**
 * `TransactWriteItems` for the local DynamoDB. dynalite has no transactions; this module runs them
 * inside dynalite's own store, so a transaction and an ordinary `PutItem`/`UpdateItem`/`DeleteItem`
 * on the same item serialize on the same per-item lock, exactly as DynamoDB isolates them
 * (serializable between transactions and single-item writes).
 *
 * How one transaction runs (semantics of the AWS API reference):
 * 1. Request checks answer `ValidationException` for the whole request: 1 to 100 actions, exactly one
 *    of `ConditionCheck`/`Put`/`Update`/`Delete` per action, every action's own parameters (checked by
 *    dynalite's validators of the matching single-item operation), no two actions on one item.
 * 2. `ClientRequestToken`: a repeat of a token whose transaction succeeded in the last 10 minutes
 *    answers success without applying anything; the same token with other parameters answers
 *    `IdempotentParameterMismatchException`; one still running answers `TransactionInProgressException`.
 * 3. The items' locks are taken in one global order (table, key), so transactions never deadlock.
 * 4. Under the locks every action is evaluated by dynalite's own action code against a store that
 *    records its writes instead of applying them (conditions, update expressions, size limits and
 *    index maintenance are dynalite's). Any failure cancels the whole transaction:
 *    `TransactionCanceledException` with one `CancellationReasons` entry per action, in request
 *    order (`None`, `ConditionalCheckFailed` with `Item` when `ReturnValuesOnConditionCheckFailure`
 *    is `ALL_OLD`, or `ValidationError`).
 * 5. Otherwise the recorded writes (items and index entries) are applied, then the locks released.
 *
 * Not emulated: `TransactionConflict` (the locks serialize instead of cancelling), the 4 MB aggregate
 * size limit, item collection metrics, and token memory across restarts (kept in memory).
 */

const require = createRequire(import.meta.url);

/** The parts of dynalite's internal store (`dynalite/db`) this module uses. */
interface SubDb {
  get(key: string, cb: (error: (Error & { name?: string }) | null, value?: AttributeMap) => void): void;
  put(key: string, value: unknown, cb: (error?: Error | null) => void): void;
  del(key: string, cb: (error?: Error | null) => void): void;
  lock(key: string, exec: (release: (done?: (...args: unknown[]) => void) => (...args: unknown[]) => void) => void): void;
}
interface TableDescription {
  readonly TableName: string;
}
/** dynalite's store (its `db.create(options)`). */
export interface DynaliteStore {
  readonly options: { maxItemSize: number };
  getItemDb(name: string): SubDb;
  getIndexDb(indexType: string, tableName: string, indexName: string): SubDb;
  getTable(name: string, checkStatus: boolean, cb: (error: DynaliteError | null, table?: TableDescription) => void): void;
}
type AttributeMap = Record<string, unknown>;
interface DynaliteError extends Error {
  statusCode?: number;
  body?: { __type: string; message?: string; Message?: string };
}
type Action = (store: DynaliteStore, data: AttributeMap, cb: (error: DynaliteError | null, result?: unknown) => void) => void;
interface ActionValidation {
  readonly types: Record<string, unknown>;
  readonly custom?: unknown;
}
interface DynaliteDb {
  create(options: unknown): DynaliteStore;
  createKey(item: AttributeMap, table: TableDescription): string;
  validateKey(key: AttributeMap, table: TableDescription): DynaliteError | null | undefined;
  validateItem(item: AttributeMap, table: TableDescription): DynaliteError | null | undefined;
  checkConditional(data: AttributeMap, existing: AttributeMap | undefined): DynaliteError | null | undefined;
  itemSize(item: AttributeMap): number;
}
interface DynaliteValidations {
  checkTypes(data: AttributeMap, types: Record<string, unknown>): AttributeMap;
  checkValidations(data: AttributeMap, types: Record<string, unknown>, custom: unknown, store: DynaliteStore): void;
}

const db = require('dynalite/db') as DynaliteDb;
const validations = require('dynalite/validations') as DynaliteValidations;
const ACTIONS = {
  Put: require('dynalite/actions/putItem') as Action,
  Update: require('dynalite/actions/updateItem') as Action,
  Delete: require('dynalite/actions/deleteItem') as Action,
} as const;
const VALIDATIONS = {
  Put: require('dynalite/validations/putItem') as ActionValidation,
  Update: require('dynalite/validations/updateItem') as ActionValidation,
  Delete: require('dynalite/validations/deleteItem') as ActionValidation,
  ConditionCheck: require('dynalite/validations/deleteItem') as ActionValidation,
} as const;

/** The kinds of action a `TransactWriteItems` item holds, in AWS's order. */
export const TRANSACT_WRITE_KINDS = ['ConditionCheck', 'Put', 'Delete', 'Update'] as const;
type Kind = (typeof TRANSACT_WRITE_KINDS)[number];

/** Limits of `TransactWriteItems` (API reference). */
export const TRANSACTION_LIMITS = { maxActions: 100, tokenLength: 36, tokenTtlMs: 10 * 60_000 } as const;

/**
 * Builds dynalite while capturing the store it creates, so transactions can take the same item
 * locks as its single-item writes. dynalite's `index.js` calls `require('./db').create(options)`
 * once per server; the wrapper is removed again before this returns.
 */
export const captureDynaliteStore = <T>(start: () => T): { result: T; store: DynaliteStore } => {
  const original = db.create;
  let store: DynaliteStore | undefined;
  db.create = (options: unknown) => (store = original(options));
  try {
    const result = start();
    if (!store) throw new Error('dynalite did not create its store');
    return { result, store };
  } finally {
    db.create = original;
  }
};

/** An answer of the engine (status, error type, JSON body). */
class TransactionAnswer {
  public constructor(
    public readonly status: number,
    public readonly body: Record<string, unknown>,
  ) {}
  public static error(type: string, message: string, extra: Record<string, unknown> = {}, namespace = 'com.amazonaws.dynamodb.v20120810'): TransactionAnswer {
    return new TransactionAnswer(400, { __type: `${namespace}#${type}`, message, ...extra });
  }
  public static validation(message: string): TransactionAnswer {
    return TransactionAnswer.error('ValidationException', message, {}, 'com.amazon.coral.validate');
  }
}

interface PlannedAction {
  readonly index: number;
  readonly kind: Kind;
  readonly table: TableDescription;
  readonly key: string;
  readonly data: AttributeMap;
  readonly returnOld: boolean;
}

interface TokenState {
  readonly fingerprint: string;
  done: boolean;
  expiresAt: number;
}

const callback = <T>(run: (cb: (error: DynaliteError | null | undefined, value?: T) => void) => void): Promise<T | undefined> =>
  new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value))));

const getItem = (itemDb: SubDb, key: string): Promise<AttributeMap | undefined> =>
  new Promise((resolve, reject) =>
    itemDb.get(key, (error, value) => {
      if (error && error.name !== 'NotFoundError' && !/not ?found/i.test(error.message)) reject(error);
      else resolve(error ? undefined : value);
    }),
  );

/** Takes one item lock of dynalite's store; resolves with its release. */
const lockItem = (itemDb: SubDb, key: string): Promise<() => void> => new Promise((resolve) => itemDb.lock(key, (release) => resolve(release())));

const typeOf = (error: DynaliteError): string => error.body?.__type.split('#')[1] ?? '';

/** Runs `TransactWriteItems` requests against dynalite's store. */
export class LocalTransactions {
  private readonly tokens = new Map<string, TokenState>();

  public constructor(private readonly store: DynaliteStore) {}

  /**
   * A request listener in front of dynalite's: answers `TransactWriteItems` itself and hands every
   * other request to `next` untouched.
   */
  public dispatcher(next: (request: IncomingMessage, response: ServerResponse) => void): (request: IncomingMessage, response: ServerResponse) => void {
    return (request, response) => {
      const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1];
      if (operation !== 'TransactWriteItems') {
        next(request, response);
        return;
      }
      void this.serve(request, response).catch((error: unknown) => {
        if (!response.headersSent) send(response, new TransactionAnswer(500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: String(error) }));
      });
    };
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (!request.headers.authorization && !String(request.url ?? '').includes('X-Amz-Algorithm')) {
      send(response, TransactionAnswer.error('MissingAuthenticationTokenException', 'Request is missing Authentication Token', {}, 'com.amazon.coral.service'));
      return;
    }
    let body: AttributeMap;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AttributeMap;
    } catch {
      send(response, new TransactionAnswer(400, { __type: 'com.amazon.coral.service#SerializationException' }));
      return;
    }
    send(response, await this.transactWriteItems(body));
  }

  /** One `TransactWriteItems` call (the JSON body of the request); its answer. */
  public async transactWriteItems(body: AttributeMap): Promise<TransactionAnswer> {
    const items = body.TransactItems;
    if (!Array.isArray(items)) return TransactionAnswer.validation("1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null");
    if (items.length < 1 || items.length > TRANSACTION_LIMITS.maxActions) {
      const bound = items.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${TRANSACTION_LIMITS.maxActions}`;
      return TransactionAnswer.validation(`1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length ${bound}`);
    }
    const token = body.ClientRequestToken;
    if (token !== undefined && (typeof token !== 'string' || token.length < 1 || token.length > TRANSACTION_LIMITS.tokenLength)) {
      return TransactionAnswer.validation(
        `1 validation error detected: Value '${String(token)}' at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to ${TRANSACTION_LIMITS.tokenLength}`,
      );
    }
    let plan: PlannedAction[];
    try {
      plan = await this.plan(items as AttributeMap[]);
    } catch (error) {
      if (error instanceof TransactionAnswer) return error;
      const caught = error as DynaliteError;
      if (caught.body) return new TransactionAnswer(caught.statusCode ?? 400, caught.body);
      throw error;
    }
    const seen = new Set<string>();
    for (const action of plan) {
      const id = `${action.table.TableName}\0${action.key}`;
      if (seen.has(id)) return TransactionAnswer.validation('Transaction request cannot include multiple operations on one item');
      seen.add(id);
    }

    const fingerprint = createHash('sha256').update(JSON.stringify([body.TransactItems, body.ReturnItemCollectionMetrics ?? null])).digest('hex');
    if (typeof token === 'string') {
      this.forgetExpiredTokens();
      const known = this.tokens.get(token);
      if (known && known.fingerprint !== fingerprint) {
        return TransactionAnswer.error('IdempotentParameterMismatchException', 'Request parameters do not match the parameters of the original request with the same client token.');
      }
      if (known && !known.done) return TransactionAnswer.error('TransactionInProgressException', 'The transaction with the given request token is already in progress.');
      if (known) return new TransactionAnswer(200, {});
      this.tokens.set(token, { fingerprint, done: false, expiresAt: Number.POSITIVE_INFINITY });
    }
    try {
      const answer = await this.run(plan, String(body.ReturnConsumedCapacity ?? 'NONE'));
      if (typeof token === 'string') {
        // Only a committed transaction is remembered: a cancelled one changed nothing and may be retried.
        if (answer.status === 200) this.tokens.set(token, { fingerprint, done: true, expiresAt: Date.now() + TRANSACTION_LIMITS.tokenTtlMs });
        else this.tokens.delete(token);
      }
      return answer;
    } catch (error) {
      if (typeof token === 'string') this.tokens.delete(token);
      throw error;
    }
  }

  /** Checks every action as its single-item operation would be checked; resolves its table and item key. */
  private async plan(items: AttributeMap[]): Promise<PlannedAction[]> {
    const tables = new Map<string, TableDescription>();
    const plan: PlannedAction[] = [];
    for (const [index, item] of items.entries()) {
      const kinds = TRANSACT_WRITE_KINDS.filter((kind) => item !== null && typeof item === 'object' && item[kind] !== undefined && item[kind] !== null);
      if (kinds.length !== 1) throw TransactionAnswer.validation('TransactItems can only contain one of Check, Put, Update or Delete');
      const kind = kinds[0]!;
      const { ReturnValuesOnConditionCheckFailure: returnValues, ...raw } = item[kind] as AttributeMap;
      if (returnValues !== undefined && returnValues !== 'ALL_OLD' && returnValues !== 'NONE') {
        throw TransactionAnswer.validation(
          `1 validation error detected: Value '${String(returnValues)}' at 'transactItems.${index + 1}.member.${kind.charAt(0).toLowerCase()}${kind.slice(1)}.returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]`,
        );
      }
      if (kind === 'ConditionCheck' && typeof raw.ConditionExpression !== 'string') {
        throw TransactionAnswer.validation("1 validation error detected: Value null at 'conditionExpression' failed to satisfy constraint: Member must not be null");
      }
      if (kind === 'Update' && typeof raw.UpdateExpression !== 'string') {
        throw TransactionAnswer.validation("1 validation error detected: Value null at 'updateExpression' failed to satisfy constraint: Member must not be null");
      }
      const validation = VALIDATIONS[kind];
      const data = validations.checkTypes({ ...raw }, validation.types);
      validations.checkValidations(data, validation.types, validation.custom, this.store);
      const tableName = String(data.TableName);
      let table = tables.get(tableName);
      if (!table) {
        table = await callback<TableDescription>((cb) => this.store.getTable(tableName, false, cb));
        tables.set(tableName, table!);
      }
      const invalid = kind === 'Put' ? db.validateItem(data.Item as AttributeMap, table!) : db.validateKey(data.Key as AttributeMap, table!);
      if (invalid) throw invalid;
      plan.push({ index, kind, table: table!, key: db.createKey((kind === 'Put' ? data.Item : data.Key) as AttributeMap, table!), data, returnOld: returnValues === 'ALL_OLD' });
    }
    return plan;
  }

  /** Locks the items, evaluates every action, and applies all of them or none. */
  private async run(plan: PlannedAction[], returnConsumedCapacity: string): Promise<TransactionAnswer> {
    const ordered = [...plan].sort((a, b) => (a.table.TableName === b.table.TableName ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.table.TableName < b.table.TableName ? -1 : 1));
    const releases: (() => void)[] = [];
    try {
      for (const action of ordered) releases.push(await lockItem(this.store.getItemDb(action.table.TableName), action.key));
      const writes: (() => Promise<void>)[] = [];
      const reasons: Record<string, unknown>[] = [];
      const units = new Map<string, number>();
      for (const action of plan) {
        const existing = await getItem(this.store.getItemDb(action.table.TableName), action.key);
        const recorded: (() => Promise<void>)[] = [];
        try {
          if (action.kind === 'ConditionCheck') {
            const failed = db.checkConditional(action.data, existing);
            if (failed) throw failed;
          } else {
            const run = ACTIONS[action.kind];
            await callback((cb) => run(this.recordingStore(recorded), { ...action.data }, cb));
          }
          writes.push(...recorded);
          reasons.push({ Code: 'None' });
          const size = Math.max(existing ? db.itemSize(existing) : 0, action.kind === 'Put' ? db.itemSize(action.data.Item as AttributeMap) : 0);
          // A transactional write consumes two write units per KB (read units for a condition check).
          units.set(action.table.TableName, (units.get(action.table.TableName) ?? 0) + 2 * Math.max(1, Math.ceil(size / 1024)));
        } catch (error) {
          const caught = error as DynaliteError;
          const type = caught.body ? typeOf(caught) : '';
          if (type === 'ConditionalCheckFailedException') {
            reasons.push({ Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', ...(action.returnOld && existing ? { Item: existing } : {}) });
          } else if (type === 'ValidationException') {
            reasons.push({ Code: 'ValidationError', Message: caught.body?.message ?? caught.message });
          } else {
            throw error;
          }
        }
      }
      if (reasons.some((reason) => reason.Code !== 'None')) {
        return TransactionAnswer.error('TransactionCanceledException', `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((reason) => reason.Code).join(', ')}]`, {
          CancellationReasons: reasons,
        });
      }
      for (const write of writes) await write();
      const consumed =
        returnConsumedCapacity === 'TOTAL' || returnConsumedCapacity === 'INDEXES'
          ? { ConsumedCapacity: [...units].map(([TableName, CapacityUnits]) => ({ TableName, CapacityUnits, WriteCapacityUnits: CapacityUnits })) }
          : {};
      return new TransactionAnswer(200, consumed);
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  /**
   * The store as dynalite's actions see it during evaluation: reads go to the real store, locks are
   * already held, writes (item and index entries) are recorded to apply once every action passed.
   */
  private recordingStore(recorded: (() => Promise<void>)[]): DynaliteStore {
    const recording = (real: SubDb): SubDb => ({
      get: (key, cb) => real.get(key, cb),
      lock: (_key, exec) => exec((done) => (...args: unknown[]) => done?.(...args)),
      put: (key, value, cb) => {
        recorded.push(() => callback((done) => real.put(key, value, done)).then(() => undefined));
        setImmediate(() => cb(null));
      },
      del: (key, cb) => {
        recorded.push(() => callback((done) => real.del(key, done)).then(() => undefined));
        setImmediate(() => cb(null));
      },
    });
    const store = this.store;
    return {
      options: store.options,
      getTable: (name, checkStatus, cb) => store.getTable(name, checkStatus, cb),
      getItemDb: (name) => recording(store.getItemDb(name)),
      getIndexDb: (indexType, tableName, indexName) => recording(store.getIndexDb(indexType, tableName, indexName)),
    };
  }

  private forgetExpiredTokens(): void {
    const now = Date.now();
    for (const [token, state] of this.tokens) if (state.done && state.expiresAt <= now) this.tokens.delete(token);
  }
}

const send = (response: ServerResponse, answer: TransactionAnswer): void => {
  const text = JSON.stringify(answer.body);
  response.writeHead(answer.status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amz-crc32': String(crc32(text)),
    'x-amzn-requestid': createHash('sha256').update(`${Date.now()}${Math.random()}`).digest('hex').slice(0, 52).toUpperCase(),
  });
  response.end(text);
};
