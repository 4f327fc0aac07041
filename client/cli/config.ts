import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { API_OUTPUTS, OPERATOR_OUTPUTS } from '../../lib/stack-outputs.ts';
import { ConfigurationError } from './errors.ts';

/** Workload classes, as the DLQ commands name them. */
export const WORKLOAD_CLASSES = ['interactive', 'batch', 'integrations', 'analytics'] as const;
export type WorkloadClassName = (typeof WORKLOAD_CLASSES)[number];

/**
 * The sources of connection settings, most explicit first. A credential is only ever sent to an
 * endpoint of its own source (see {@link resolveTarget}).
 */
export const CONNECTION_SOURCES = ['flags', 'environment', 'local endpoints file'] as const;
export type ConnectionSource = (typeof CONNECTION_SOURCES)[number];

/** Where one value came from: its source, and the flag, variable or file that gave it (for messages). */
export interface ValueOrigin {
  readonly source: ConnectionSource;
  readonly name: string;
}

/** Where an Offload deployment's parts are: what every command resolves before it runs. */
export interface Target {
  /** Where the values came from, for messages. */
  readonly source: string;
  readonly endpoint?: string;
  /** From the endpoint's source only (it receives the credential, or a token minted with it). */
  readonly webSocketUrl?: string;
  readonly credential?: string;
  /** Where the endpoint and the credential came from. */
  readonly origins?: { readonly endpoint?: ValueOrigin; readonly credential?: ValueOrigin };
  /** For admin commands (tenants, keys, dlq): the table and queues, and how to reach AWS (or the local engines). */
  readonly admin?: AdminTarget;
}

export interface AdminTarget {
  readonly tasksTable: string;
  readonly queues: { readonly [K in WorkloadClassName]: { readonly url: string; readonly deadLetterUrl: string } };
  readonly region?: string;
  /** Local engines: endpoints and the static credentials they accept. Absent on AWS (default credential chain). */
  readonly local?: { readonly dynamodb: string; readonly sqs: string };
  /**
   * Where a key's open WebSocket connections are found (the connections table) and closed (the
   * `@connections` endpoint) when the key is revoked. Absent in outputs files of older stacks.
   */
  readonly connections?: { readonly table: string; readonly managementEndpoint: string };
}

/** The connection flags every command accepts. */
export interface ConnectionFlags {
  readonly endpoint?: string | undefined;
  readonly 'ws-url'?: string | undefined;
  readonly 'api-key'?: string | undefined;
  readonly outputs?: string | undefined;
  readonly dir?: string | undefined;
  readonly region?: string | undefined;
}

/** The local runtime's `endpoints.json` (the parts the CLI reads). */
interface LocalEndpoints {
  readonly httpApi: string;
  readonly webSocketApi: string;
  readonly services: { readonly dynamodb: string; readonly sqs: string; readonly apigatewaymanagementapi?: string };
  readonly devTenant?: { readonly apiKey: string };
  readonly resources?: { readonly tasksTable: string; readonly connectionsTable?: string; readonly queues: AdminTarget['queues'] };
}

const readJson = (file: string, what: string): unknown => {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    throw new ConfigurationError(`Cannot read ${what} ${file}: ${(error as Error).message}`);
  }
};

/** Finds an output by name in one stack's outputs: exact (stack-level) or with the hash CDK appends inside constructs. */
const outputNamed = (outputs: Record<string, string>, name: string): string | undefined => {
  if (outputs[name] !== undefined) return outputs[name];
  const pattern = new RegExp(`^[A-Za-z0-9]*${name}[0-9A-F]{8}$`);
  const matches = Object.keys(outputs).filter((key) => pattern.test(key));
  return matches.length === 1 ? outputs[matches[0]!] : undefined;
};

/** Reads `cdk deploy --outputs-file` JSON: `{ "<stack>": { "<output>": "<value>" } }`. */
const fromOutputsFile = (file: string, region: string | undefined): Omit<Target, 'credential'> => {
  const document = readJson(file, 'the outputs file');
  if (!document || typeof document !== 'object') throw new ConfigurationError(`${file} is not a cdk outputs file.`);
  const stacks = Object.entries(document as Record<string, Record<string, string>>).filter(([, outputs]) => outputs && typeof outputs === 'object' && outputNamed(outputs, API_OUTPUTS.httpApi));
  if (stacks.length !== 1) throw new ConfigurationError(`${file} must hold the outputs of exactly one Offload stack (found ${stacks.length}).`);
  const [stackName, outputs] = stacks[0]!;
  const tasksTable = outputNamed(outputs, OPERATOR_OUTPUTS.tasksTable);
  const queues = Object.fromEntries(
    WORKLOAD_CLASSES.map((name) => [name, { url: outputNamed(outputs, OPERATOR_OUTPUTS.queueUrl[name]), deadLetterUrl: outputNamed(outputs, OPERATOR_OUTPUTS.deadLetterQueueUrl[name]) }]),
  ) as Record<WorkloadClassName, { url?: string; deadLetterUrl?: string }>;
  const complete = tasksTable !== undefined && WORKLOAD_CLASSES.every((name) => queues[name].url && queues[name].deadLetterUrl);
  const regionOfQueue = /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com/.exec(queues.interactive.url ?? '')?.[1];
  const endpoint = outputNamed(outputs, API_OUTPUTS.cdn) ?? outputNamed(outputs, API_OUTPUTS.httpApi);
  const webSocketUrl = outputNamed(outputs, API_OUTPUTS.webSocket);
  const connectionsTable = outputNamed(outputs, OPERATOR_OUTPUTS.connectionsTable);
  const managementEndpoint = outputNamed(outputs, OPERATOR_OUTPUTS.webSocketManagement);
  const connections = connectionsTable && managementEndpoint ? { connections: { table: connectionsTable, managementEndpoint } } : {};
  return {
    source: `${file} (stack ${stackName})`,
    ...(endpoint ? { endpoint } : {}),
    ...(webSocketUrl ? { webSocketUrl } : {}),
    ...(complete
      ? { admin: { tasksTable: tasksTable!, queues: queues as AdminTarget['queues'], ...((region ?? regionOfQueue) ? { region: (region ?? regionOfQueue)! } : {}), ...connections } }
      : {}),
  };
};

/** Reads the local runtime's `endpoints.json`; the dev tenant's key is the default credential. */
const fromLocalRuntime = (file: string): Target => {
  const endpoints = readJson(file, 'the local endpoints file') as LocalEndpoints;
  return {
    source: file,
    endpoint: endpoints.httpApi,
    webSocketUrl: endpoints.webSocketApi,
    ...(endpoints.devTenant?.apiKey ? { credential: endpoints.devTenant.apiKey } : {}),
    ...(endpoints.resources
      ? {
          admin: {
            tasksTable: endpoints.resources.tasksTable,
            queues: endpoints.resources.queues,
            region: 'us-east-1',
            local: { dynamodb: endpoints.services.dynamodb, sqs: endpoints.services.sqs },
            ...(endpoints.resources.connectionsTable && endpoints.services.apigatewaymanagementapi
              ? { connections: { table: endpoints.resources.connectionsTable, managementEndpoint: endpoints.services.apigatewaymanagementapi } }
              : {}),
          },
        }
      : {}),
  };
};

/**
 * Resolves where to send requests. The endpoint (with its WebSocket URL) comes from the first
 * source that names one, most explicit first:
 * 1. flags: `--endpoint` / `--ws-url`, else the endpoints of the `cdk deploy --outputs-file`
 *    document named by `--outputs`;
 * 2. the environment: `OFFLOAD_ENDPOINT` / `OFFLOAD_WS_URL`, else those of the outputs file named by
 *    `OFFLOAD_OUTPUTS`;
 * 3. the local runtime's `<dir>/endpoints.json` (`--dir`, `OFFLOAD_DIR`, default `.offload`), read
 *    only when no outputs file is named.
 * The credential likewise: `--api-key`, else `OFFLOAD_API_KEY`, else the dev tenant's key in
 * `endpoints.json` (an outputs file holds none). The credential must come from the endpoint's
 * source: a key from the environment is never sent to an endpoint from a file, nor the file's dev
 * key to an endpoint from the environment. {@link requireApi} refuses a mix, naming both origins.
 */
export const resolveTarget = (flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Target => {
  const outputs = flags.outputs ?? env.OFFLOAD_OUTPUTS;
  const outputsSource: ConnectionSource = flags.outputs !== undefined ? 'flags' : 'environment';
  const region = flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  let base: Target = { source: 'flags and environment' };
  let baseOrigin: ValueOrigin | undefined;
  if (outputs) {
    const file = path.resolve(cwd, outputs);
    base = fromOutputsFile(file, region);
    baseOrigin = { source: outputsSource, name: `${outputsSource === 'flags' ? '--outputs' : 'OFFLOAD_OUTPUTS'} ${file}` };
  } else {
    const file = path.resolve(cwd, flags.dir ?? env.OFFLOAD_DIR ?? '.offload', 'endpoints.json');
    if (existsSync(file)) {
      base = fromLocalRuntime(file);
      baseOrigin = { source: 'local endpoints file', name: file };
    }
  }
  /** The endpoint and WebSocket URL a source names, if it names an endpoint. */
  const endpointOf = (source: ConnectionSource): { endpoint: string; webSocketUrl?: string | undefined; origin: ValueOrigin } | undefined => {
    const fromBase = baseOrigin?.source === source && base.endpoint ? { endpoint: base.endpoint, webSocketUrl: base.webSocketUrl, origin: baseOrigin } : undefined;
    if (source === 'flags' && flags.endpoint) return { endpoint: flags.endpoint, webSocketUrl: flags['ws-url'] ?? fromBase?.webSocketUrl, origin: { source, name: '--endpoint' } };
    if (source === 'environment' && env.OFFLOAD_ENDPOINT) return { endpoint: env.OFFLOAD_ENDPOINT, webSocketUrl: env.OFFLOAD_WS_URL ?? fromBase?.webSocketUrl, origin: { source, name: 'OFFLOAD_ENDPOINT' } };
    if (!fromBase) return undefined;
    const webSocketUrl = (source === 'flags' ? flags['ws-url'] : source === 'environment' ? env.OFFLOAD_WS_URL : undefined) ?? fromBase.webSocketUrl;
    return { ...fromBase, webSocketUrl };
  };
  const credentialOf = (source: ConnectionSource): { credential: string; origin: ValueOrigin } | undefined => {
    if (source === 'flags') return flags['api-key'] ? { credential: flags['api-key'], origin: { source, name: '--api-key' } } : undefined;
    if (source === 'environment') return env.OFFLOAD_API_KEY ? { credential: env.OFFLOAD_API_KEY, origin: { source, name: 'OFFLOAD_API_KEY' } } : undefined;
    return baseOrigin?.source === source && base.credential ? { credential: base.credential, origin: { source, name: `the dev tenant key in ${baseOrigin.name}` } } : undefined;
  };
  const endpoint = CONNECTION_SOURCES.map(endpointOf).find((found) => found !== undefined);
  const credential = CONNECTION_SOURCES.map(credentialOf).find((found) => found !== undefined);
  return {
    source: base.source,
    ...(endpoint ? { endpoint: endpoint.endpoint } : {}),
    ...(endpoint?.webSocketUrl ? { webSocketUrl: endpoint.webSocketUrl } : {}),
    ...(credential ? { credential: credential.credential } : {}),
    origins: { ...(endpoint ? { endpoint: endpoint.origin } : {}), ...(credential ? { credential: credential.origin } : {}) },
    ...(base.admin ? { admin: base.admin } : {}),
  };
};

/** The API part of a target (endpoint and credential of one source), or a message saying what is wrong. */
export const requireApi = (target: Target): { endpoint: string; credential: string; webSocketUrl?: string } => {
  const { endpoint, credential, webSocketUrl, origins } = target;
  if (!endpoint) throw new ConfigurationError('No endpoint: start the local runtime (`offload dev`), or pass --endpoint (OFFLOAD_ENDPOINT) or --outputs.');
  if (!credential) throw new ConfigurationError('No credential: pass --api-key (OFFLOAD_API_KEY).');
  const from = origins?.endpoint;
  const key = origins?.credential;
  if (from && key && from.source !== key.source) {
    throw new ConfigurationError(
      `Refusing to send the credential from ${key.name} (${key.source}) to the endpoint from ${from.name} (${from.source}): ` +
        'a credential is only sent to an endpoint of the same source. Give both as flags (--endpoint or --outputs, with --api-key), ' +
        'both in the environment (OFFLOAD_ENDPOINT or OFFLOAD_OUTPUTS, with OFFLOAD_API_KEY), or neither (the local runtime\'s endpoints.json and its dev key).',
    );
  }
  return { endpoint, credential, ...(webSocketUrl ? { webSocketUrl } : {}) };
};

/** The admin part of a target, or a message saying how to provide it. */
export const requireAdmin = (target: Target): AdminTarget => {
  if (target.admin) return target.admin;
  throw new ConfigurationError(
    'Admin commands need the stack\'s table and queues: run them next to a local runtime (`offload dev`, reads .offload/endpoints.json), ' +
      'or pass --outputs <file> from `cdk deploy --outputs-file <file>`.',
  );
};
