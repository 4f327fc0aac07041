import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { API_OUTPUTS, OPERATOR_OUTPUTS } from '../../lib/stack-outputs.ts';
import { ConfigurationError } from './errors.ts';

/** Workload classes, as the DLQ commands name them. */
export const WORKLOAD_CLASSES = ['interactive', 'batch', 'integrations', 'analytics'] as const;
export type WorkloadClassName = (typeof WORKLOAD_CLASSES)[number];

/** Where an Offload deployment's parts are: what every command resolves before it runs. */
export interface Target {
  /** Where the values came from, for messages. */
  readonly source: string;
  readonly endpoint?: string;
  readonly webSocketUrl?: string;
  readonly credential?: string;
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
 * Resolves where to send requests. Each value comes from the first of:
 * 1. the flag (`--endpoint`, `--ws-url`, `--api-key`);
 * 2. the environment (`OFFLOAD_ENDPOINT`, `OFFLOAD_WS_URL`, `OFFLOAD_API_KEY`);
 * 3. a `cdk deploy --outputs-file` document, when `--outputs` (or `OFFLOAD_OUTPUTS`) names one
 *    (endpoints and admin resources; never a key);
 * 4. otherwise the local runtime's `<dir>/endpoints.json` (`--dir`, `OFFLOAD_DIR`, default
 *    `.offload`), including the dev tenant's API key.
 */
export const resolveTarget = (flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Target => {
  const outputs = flags.outputs ?? env.OFFLOAD_OUTPUTS;
  const region = flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  let base: Target = { source: 'flags and environment' };
  if (outputs) base = fromOutputsFile(path.resolve(cwd, outputs), region);
  else {
    const file = path.resolve(cwd, flags.dir ?? env.OFFLOAD_DIR ?? '.offload', 'endpoints.json');
    if (existsSync(file)) base = fromLocalRuntime(file);
  }
  const endpoint = flags.endpoint ?? env.OFFLOAD_ENDPOINT ?? base.endpoint;
  const webSocketUrl = flags['ws-url'] ?? env.OFFLOAD_WS_URL ?? base.webSocketUrl;
  const credential = flags['api-key'] ?? env.OFFLOAD_API_KEY ?? base.credential;
  return {
    source: base.source,
    ...(endpoint ? { endpoint } : {}),
    ...(webSocketUrl ? { webSocketUrl } : {}),
    ...(credential ? { credential } : {}),
    ...(base.admin ? { admin: base.admin } : {}),
  };
};

/** The admin part of a target, or a message saying how to provide it. */
export const requireAdmin = (target: Target): AdminTarget => {
  if (target.admin) return target.admin;
  throw new ConfigurationError(
    'Admin commands need the stack\'s table and queues: run them next to a local runtime (`offload dev`, reads .offload/endpoints.json), ' +
      'or pass --outputs <file> from `cdk deploy --outputs-file <file>`.',
  );
};
