import { sqsFault, type FaultInjector } from '../faults.ts';
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { authorizeCall, callerOf, type HttpAnswer } from '../iam/caller.ts';
import type { IamEnforcer } from '../iam/mode.ts';
import { injectRequest } from '../lambda/in-process-transport.ts';
import { s3Permissions, s3Refusal } from '../iam/services/s3.ts';
import { sqsPermissions, sqsRefusal } from '../iam/services/sqs.ts';

/**
 * The SQS query protocol (form-encoded requests, XML responses) in front of an SQS that speaks only
 * the JSON protocol (fauxqs). AWS CLI v2 before the SDKs moved SQS to JSON (the Debian bookworm
 * package, 2.9) and other older clients use it; every other request is passed through unchanged.
 */

const SQS_QUERY_VERSION = '2012-11-05';

/** Query list members (`AttributeName.1`) and their JSON names. */
const LISTS: Record<string, string> = {
  AttributeName: 'AttributeNames',
  MessageAttributeName: 'MessageAttributeNames',
  MessageSystemAttributeName: 'MessageSystemAttributeNames',
  TagKey: 'TagKeys',
  AWSAccountId: 'AWSAccountIds',
  ActionName: 'Actions',
  SendMessageBatchRequestEntry: 'Entries',
  DeleteMessageBatchRequestEntry: 'Entries',
  ChangeMessageVisibilityBatchRequestEntry: 'Entries',
};
/** Query maps (`Attribute.1.Name` / `Attribute.1.Value`): JSON name, key field, value field. */
const MAPS: Record<string, [string, string, string]> = {
  Attribute: ['Attributes', 'Name', 'Value'],
  Tag: ['Tags', 'Key', 'Value'],
  MessageAttribute: ['MessageAttributes', 'Name', 'Value'],
  MessageSystemAttribute: ['MessageSystemAttributes', 'Name', 'Value'],
};
/** Query lists inside a message attribute value. */
const VALUE_LISTS: Record<string, string> = { StringListValue: 'StringListValues', BinaryListValue: 'BinaryListValues' };
const NUMBERS = new Set(['MaxNumberOfMessages', 'VisibilityTimeout', 'WaitTimeSeconds', 'DelaySeconds', 'MaxResults']);

type Tree = { [key: string]: Tree | string };

/** `a.1.b=x` → `{ a: { 1: { b: 'x' } } }`. */
const treeOf = (params: URLSearchParams): Tree => {
  const root: Tree = {};
  for (const [key, value] of params) {
    const parts = key.split('.');
    let node = root;
    for (const part of parts.slice(0, -1)) node = (typeof node[part] === 'object' ? node[part] : (node[part] = {})) as Tree;
    node[parts.at(-1)!] = value;
  }
  return root;
};

const members = (node: Tree | string): (Tree | string)[] =>
  typeof node === 'string'
    ? [node]
    : Object.keys(node)
        .filter((key) => /^\d+$/.test(key))
        .sort((a, b) => Number(a) - Number(b))
        .map((key) => node[key]!);

/** A query request's parameter tree as the JSON protocol's request document. */
const jsonOf = (node: Tree, valueLists = false): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'Action' || key === 'Version') continue;
    const list = valueLists ? VALUE_LISTS[key] : LISTS[key];
    if (list) {
      out[list] = members(value).map((member) => (typeof member === 'string' ? member : jsonOf(member)));
    } else if (!valueLists && MAPS[key]) {
      const [name, keyField, valueField] = MAPS[key];
      out[name] = Object.fromEntries(
        members(value).map((entry) => {
          const pair = entry as Tree;
          const mapValue = pair[valueField]!;
          return [pair[keyField] as string, typeof mapValue === 'string' ? mapValue : jsonOf(mapValue, true)];
        }),
      );
    } else if (typeof value === 'string') {
      out[key] = NUMBERS.has(key) ? Number(value) : value;
    } else {
      out[key] = jsonOf(value);
    }
  }
  return out;
};

const escape = (text: string) => text.replace(/[<>&'"\r]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;', '\r': '&#xD;' })[c]!);

/** Result members whose XML element name differs from the JSON one (flattened lists and maps). */
const xmlOf = (action: string, key: string, value: unknown): string => {
  if (value === undefined || value === null) return '';
  const element = (name: string, inner: string) => `<${name}>${inner}</${name}>`;
  if (key === 'Attributes' && typeof value === 'object') {
    return Object.entries(value as Record<string, string>)
      .map(([name, attribute]) => element('Attribute', element('Name', escape(name)) + element('Value', escape(String(attribute)))))
      .join('');
  }
  if (key === 'Tags' && typeof value === 'object') {
    return Object.entries(value as Record<string, string>)
      .map(([name, tag]) => element('Tag', element('Key', escape(name)) + element('Value', escape(String(tag)))))
      .join('');
  }
  if (key === 'MessageAttributes' && typeof value === 'object') {
    return Object.entries(value as Record<string, Record<string, unknown>>)
      .map(([name, attribute]) =>
        element(
          'MessageAttribute',
          element('Name', escape(name)) +
            element(
              'Value',
              Object.entries(attribute)
                .map(([field, fieldValue]) =>
                  Array.isArray(fieldValue) ? fieldValue.map((item) => element(field.replace(/Values$/, 'Value'), escape(String(item)))).join('') : element(field, escape(String(fieldValue))),
                )
                .join(''),
            ),
        ),
      )
      .join('');
  }
  if (Array.isArray(value)) {
    const member =
      key === 'QueueUrls' || key === 'queueUrls'
        ? 'QueueUrl'
        : key === 'Messages'
          ? 'Message'
          : key === 'Successful'
            ? `${action}ResultEntry`
            : key === 'Failed'
              ? 'BatchResultErrorEntry'
              : key.replace(/s$/, '');
    return value.map((item) => element(member, typeof item === 'object' ? bodyOf(action, item as Record<string, unknown>) : escape(String(item)))).join('');
  }
  if (typeof value === 'object') return element(key, bodyOf(action, value as Record<string, unknown>));
  return element(key, escape(String(value)));
};

const bodyOf = (action: string, result: Record<string, unknown>): string =>
  Object.entries(result)
    .map(([key, value]) => xmlOf(action, key, value))
    .join('');

const NAMESPACE = 'http://queue.amazonaws.com/doc/2012-11-05/';

/** Where the front passes requests: fauxqs's port, and its server when requests go in process. */
export interface SqsUpstream {
  readonly port: number;
  /**
   * fauxqs's HTTP server: requests are injected into its request listener (no second loopback
   * connection); without it they go over HTTP to `port`. @default none
   */
  readonly server?: Server;
}

type Forwarded = { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer };

const forward = async (upstream: SqsUpstream, request: IncomingMessage, body: Buffer, headers: Record<string, string | string[] | undefined>): Promise<Forwarded> => {
  if (!upstream.server) return forwardOverHttp(upstream.port, request, body, headers);
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && name !== 'content-length' && name !== 'transfer-encoding') flat[name] = Array.isArray(value) ? value.join(', ') : value;
  const answer = await injectRequest(upstream.server, { method: request.method ?? 'POST', path: request.url ?? '/', headers: flat, body });
  return { status: answer.statusCode, headers: answer.headers, body: Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength) };
};

const forwardOverHttp = (targetPort: number, request: IncomingMessage, body: Buffer, headers: Record<string, string | string[] | undefined>): Promise<Forwarded> =>
  new Promise((resolve, reject) => {
    const upstream = httpRequest({ host: '127.0.0.1', port: targetPort, method: request.method, path: request.url, headers: { ...headers, 'content-length': String(body.length) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    upstream.on('error', reject);
    upstream.end(body);
  });

const readAll = (request: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });

/**
 * IAM for the callers of this endpoint (SQS over JSON or query, and S3, which shares the port):
 * the refusal AWS would answer with, or undefined to serve the request.
 */
const refusalOf = (iam: IamEnforcer | undefined, request: IncomingMessage, body: Buffer, sqs: { operation: string; input: Record<string, unknown> } | undefined): HttpAnswer | undefined => {
  if (!iam || iam.mode === 'off') return undefined;
  const caller = callerOf(iam, request.headers, request.url);
  if (sqs) {
    const outcome = authorizeCall(iam, caller, sqsPermissions(sqs.operation, sqs.input), `sqs:${sqs.operation}`);
    return outcome.allowed ? undefined : sqsRefusal(outcome);
  }
  const permissions = s3Permissions(request.method ?? 'GET', request.url ?? '/', request.headers, body);
  const outcome = authorizeCall(iam, caller, permissions, permissions[0]?.action ?? 's3');
  return outcome.allowed ? undefined : s3Refusal(outcome);
};

const jsonInputOf = (body: Buffer): Record<string, unknown> => {
  try {
    return JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
  } catch {
    return {};
  }
};

const handle = async (upstream: SqsUpstream, request: IncomingMessage, response: ServerResponse, faults?: FaultInjector, iam?: IamEnforcer): Promise<void> => {
  const body = await readAll(request);
  const jsonTarget = String(request.headers['x-amz-target'] ?? '');
  const fault = jsonTarget.startsWith('AmazonSQS.') ? sqsFault(faults, jsonTarget.slice('AmazonSQS.'.length)) : undefined;
  if (fault) {
    response.writeHead(fault.status, fault.headers).end(fault.body);
    return;
  }
  const form = String(request.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded');
  const params = form ? new URLSearchParams(body.toString('utf8')) : undefined;
  if (!params || params.get('Version') !== SQS_QUERY_VERSION || !params.get('Action')) {
    const refusal = refusalOf(iam, request, body, jsonTarget.startsWith('AmazonSQS.') ? { operation: jsonTarget.slice('AmazonSQS.'.length), input: jsonInputOf(body) } : undefined);
    if (refusal) {
      response.writeHead(refusal.status, refusal.headers).end(refusal.body);
      return;
    }
    const passed = await forward(upstream, request, body, request.headers);
    response.writeHead(passed.status, passed.headers);
    response.end(passed.body);
    return;
  }
  const action = params.get('Action')!;
  const input = jsonOf(treeOf(params));
  // The JSON protocol names CreateQueue's tags `tags` (TagQueue's are `Tags`).
  if (action === 'CreateQueue' && input.Tags) {
    input.tags = input.Tags;
    delete input.Tags;
  }
  const document = Buffer.from(JSON.stringify(input));
  const { 'content-type': _type, 'content-length': _length, ...headers } = request.headers;
  const refusal = refusalOf(iam, request, body, { operation: action, input });
  const answer = refusal
    ? { status: refusal.status, headers: refusal.headers as Record<string, string | string[] | undefined>, body: Buffer.from(refusal.body) }
    : await forward(upstream, request, document, { ...headers, 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AmazonSQS.${action}` });
  const requestId = randomUUID();
  let json: Record<string, unknown> = {};
  try {
    json = answer.body.length ? (JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>) : {};
  } catch {
    // leave empty
  }
  let xml: string;
  if (answer.status >= 400) {
    const [queryCode, fault] = String(answer.headers['x-amzn-query-error'] ?? '').split(';');
    const code = queryCode || String(json.__type ?? 'InternalError').split('#').pop();
    xml = `<?xml version="1.0"?><ErrorResponse xmlns="${NAMESPACE}"><Error><Type>${fault || (answer.status >= 500 ? 'Receiver' : 'Sender')}</Type><Code>${escape(code!)}</Code><Message>${escape(String(json.message ?? json.Message ?? ''))}</Message><Detail/></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  } else {
    xml = `<?xml version="1.0"?><${action}Response xmlns="${NAMESPACE}"><${action}Result>${bodyOf(action, json)}</${action}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
  }
  response.writeHead(answer.status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml), 'x-amzn-requestid': requestId });
  response.end(xml);
};

/**
 * Starts the front on `port` (0 for a free one), forwarding to the JSON-protocol SQS `upstream`.
 * With `iam`, every SQS and S3 call is authorized by its caller's credentials first.
 */
export const startSqsQueryFront = (upstream: SqsUpstream, port = 0, faults?: FaultInjector, iam?: IamEnforcer): Promise<{ server: Server; port: number }> =>
  new Promise((resolve, reject) => {
    const server = createServer((request, response) =>
      void handle(upstream, request, response, faults, iam).catch((error: Error) => {
        if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
        response.end(error.message);
      }),
    );
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
