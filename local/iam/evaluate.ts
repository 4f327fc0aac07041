import { LOCAL_ACCOUNT, LOCAL_REGION } from '../template.ts';
import type { IamCondition, IamDecision, IamDenialReason, IamPolicy, IamPrincipal, IamRequest, IamStatement } from './types.ts';

/**
 * The IAM policy evaluation logic for requests within one account, as AWS documents it:
 * an explicit `Deny` in any applicable policy wins; otherwise an `Allow` in an identity-based
 * policy of the caller, or in the resource's policy naming the caller, allows; otherwise the
 * request is implicitly denied. Conditions the local runtime cannot evaluate fail closed: such an
 * `Allow` does not apply, such a `Deny` does, and the decision names what was not understood.
 */

/** Condition keys the evaluator fills in itself (lower case; keys are case-insensitive). */
export const GLOBAL_CONDITION_KEYS = [
  'aws:securetransport',
  'aws:principalarn',
  'aws:principalaccount',
  'aws:principaltype',
  'aws:principalservicename',
  'aws:requestedregion',
  'aws:resourceaccount',
  'aws:currenttime',
  'aws:epochtime',
  'aws:userid',
] as const;

/**
 * Keys the local runtime understands but supplies only for some requests (e.g. `aws:SourceArn`
 * when a service acts for a rule or an API). Absent, they follow AWS's missing-key semantics.
 */
export const CONTEXTUAL_CONDITION_KEYS = ['aws:sourcearn', 'aws:sourceaccount', 'aws:sourceowner', 'kms:encryptioncontextkeys'] as const;

/** Families of contextual keys (`kms:EncryptionContext:<key>`, filled in by the local KMS for each pair of a request's context). */
export const CONTEXTUAL_CONDITION_KEY_PREFIXES = ['kms:encryptioncontext:'] as const;

/** Condition operators the evaluator implements (each also with `IfExists` and the set prefixes). */
export const CONDITION_OPERATORS = [
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'NumericEquals',
  'NumericNotEquals',
  'NumericLessThan',
  'NumericLessThanEquals',
  'NumericGreaterThan',
  'NumericGreaterThanEquals',
  'DateEquals',
  'DateNotEquals',
  'DateLessThan',
  'DateLessThanEquals',
  'DateGreaterThan',
  'DateGreaterThanEquals',
  'Bool',
  'ArnEquals',
  'ArnLike',
  'ArnNotEquals',
  'ArnNotLike',
  'Null',
] as const;
type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

const NEGATED = new Set<ConditionOperator>(['StringNotEquals', 'StringNotEqualsIgnoreCase', 'StringNotLike', 'NumericNotEquals', 'DateNotEquals', 'ArnNotEquals', 'ArnNotLike']);

/** The values of a possibly single-valued policy element. */
export const listOf = <T>(value: T | readonly T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? [...(value as T[])] : [value as T]);

const globCache = new Map<string, RegExp>();
/** `*` (any run of characters) and `?` (one character) wildcards. */
export const globMatch = (pattern: string, value: string, ignoreCase = false): boolean => {
  if (pattern === '*') return true;
  const key = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let regex = globCache.get(key);
  if (!regex) {
    const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    regex = new RegExp(`^${source}$`, ignoreCase ? 'is' : 's');
    globCache.set(key, regex);
  }
  return regex.test(value);
};

/** Whether an `Action` pattern covers an action (case-insensitive, as IAM compares actions). */
export const actionMatches = (pattern: string, action: string): boolean => globMatch(pattern, action, true);

/** Policy variables (`${aws:username}`) are not evaluated locally; `${*}`, `${?}`, `${$}` are escapes. */
const POLICY_VARIABLE = /\$\{(?![*?$]\})[^}]+\}/;
const unescapeVariables = (pattern: string) => pattern.replace(/\$\{([*?$])\}/g, (_match, char: string) => (char === '$' ? '$' : `\u0000${char}`));

/** Whether a `Resource` pattern covers an ARN (case-sensitive, wildcards anywhere). */
export const resourceMatches = (pattern: string, arn: string): boolean => {
  if (!pattern.includes('${')) return globMatch(pattern, arn);
  // Escaped wildcards match themselves literally.
  const marked = unescapeVariables(pattern);
  const parts = marked.split(/\u0000([*?])/);
  const source = parts.map((part, index) => (index % 2 === 1 ? `\\${part}` : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.'))).join('');
  return new RegExp(`^${source}$`, 's').test(arn);
};

/** The caller as AWS names it in authorization messages. */
export const callerOf = (principal: IamPrincipal): string =>
  principal.kind === 'role' ? principal.sessionArn : principal.kind === 'service' ? principal.service : `arn:aws:iam::${LOCAL_ACCOUNT}:root`;

const ACCOUNT_ROOT = `arn:aws:iam::${LOCAL_ACCOUNT}:root`;

/** How a `Principal` element names the caller: directly, only as its account, or not at all. */
type PrincipalMatch = 'direct' | 'account' | false;

const principalMatch = (element: IamStatement['Principal'], principal: IamPrincipal): PrincipalMatch => {
  if (element === undefined) return false;
  if (element === '*') return 'direct';
  let best: PrincipalMatch = false;
  for (const [type, values] of Object.entries(element)) {
    for (const value of listOf(values)) {
      if (type === 'AWS') {
        if (value === '*') return 'direct';
        if (principal.kind === 'role' && (value === principal.roleArn || value === principal.sessionArn)) return 'direct';
        if (principal.kind === 'role' && (value === LOCAL_ACCOUNT || value === ACCOUNT_ROOT)) best = 'account';
      } else if (type === 'Service' && principal.kind === 'service' && value.toLowerCase() === principal.service.toLowerCase()) return 'direct';
    }
  }
  return best;
};

/** The request context: the global keys the runtime knows, then the request's own keys. */
const contextOf = (request: IamRequest): Map<string, string[]> => {
  const context = new Map<string, string[]>();
  const now = new Date();
  context.set('aws:securetransport', ['true']);
  context.set('aws:requestedregion', [LOCAL_REGION]);
  context.set('aws:resourceaccount', [LOCAL_ACCOUNT]);
  context.set('aws:currenttime', [now.toISOString()]);
  context.set('aws:epochtime', [String(Math.floor(now.getTime() / 1000))]);
  const { principal } = request;
  if (principal.kind === 'role') {
    context.set('aws:principalarn', [principal.roleArn]);
    context.set('aws:principalaccount', [LOCAL_ACCOUNT]);
    context.set('aws:principaltype', ['AssumedRole']);
    const [, roleName, session] = principal.sessionArn.split('/');
    context.set('aws:userid', [`${roleName}:${session}`]);
  } else if (principal.kind === 'service') {
    context.set('aws:principalservicename', [principal.service]);
  }
  for (const [key, value] of Object.entries(request.context ?? {})) context.set(key.toLowerCase(), listOf(value));
  return context;
};

const isKnownKey = (key: string, context: Map<string, string[]>): boolean =>
  context.has(key) ||
  (GLOBAL_CONDITION_KEYS as readonly string[]).includes(key) ||
  (CONTEXTUAL_CONDITION_KEYS as readonly string[]).includes(key) ||
  CONTEXTUAL_CONDITION_KEY_PREFIXES.some((prefix) => key.startsWith(prefix) && key.length > prefix.length);

/** Compares one request value with one policy value under a base operator (never negated here). */
const compare = (operator: ConditionOperator, actual: string, expected: string): boolean => {
  switch (operator) {
    case 'StringEquals':
    case 'StringNotEquals':
      return actual === expected;
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return actual.toLowerCase() === expected.toLowerCase();
    case 'StringLike':
    case 'StringNotLike':
      return globMatch(expected, actual);
    case 'ArnEquals':
    case 'ArnLike':
    case 'ArnNotEquals':
    case 'ArnNotLike':
      return actual.split(':').length >= 6 && resourceMatches(expected, actual);
    case 'Bool':
      return actual.toLowerCase() === expected.toLowerCase();
    case 'NumericEquals':
    case 'NumericNotEquals':
      return Number(actual) === Number(expected);
    case 'NumericLessThan':
      return Number(actual) < Number(expected);
    case 'NumericLessThanEquals':
      return Number(actual) <= Number(expected);
    case 'NumericGreaterThan':
      return Number(actual) > Number(expected);
    case 'NumericGreaterThanEquals':
      return Number(actual) >= Number(expected);
    case 'DateEquals':
    case 'DateNotEquals':
      return dateOf(actual) === dateOf(expected);
    case 'DateLessThan':
      return dateOf(actual) < dateOf(expected);
    case 'DateLessThanEquals':
      return dateOf(actual) <= dateOf(expected);
    case 'DateGreaterThan':
      return dateOf(actual) > dateOf(expected);
    case 'DateGreaterThanEquals':
      return dateOf(actual) >= dateOf(expected);
    case 'Null':
      return false; // handled by the caller
  }
};

const dateOf = (value: string): number => (/^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value));

/** A condition block's outcome: met, not met, or not evaluable (the names of what is unsupported). */
type ConditionOutcome = { met: boolean; unsupported: string[] };

/** Evaluates every operator and key of a condition block (all must hold). */
export const evaluateCondition = (condition: IamCondition | undefined, context: Map<string, string[]>): ConditionOutcome => {
  const unsupported: string[] = [];
  let met = true;
  for (const [rawOperator, keys] of Object.entries(condition ?? {})) {
    const setMatch = /^(ForAllValues|ForAnyValue):(.+)$/.exec(rawOperator);
    const setOperator = setMatch?.[1] as 'ForAllValues' | 'ForAnyValue' | undefined;
    const withoutSet = setMatch ? setMatch[2]! : rawOperator;
    const ifExists = withoutSet.endsWith('IfExists') && withoutSet !== 'IfExists';
    const operator = (ifExists ? withoutSet.slice(0, -'IfExists'.length) : withoutSet) as ConditionOperator;
    if (!(CONDITION_OPERATORS as readonly string[]).includes(operator) || (operator === 'Null' && (ifExists || setOperator))) {
      unsupported.push(`condition operator ${rawOperator}`);
      continue;
    }
    for (const [rawKey, rawExpected] of Object.entries(keys)) {
      const key = rawKey.toLowerCase();
      if (!isKnownKey(key, context)) {
        unsupported.push(`condition key ${rawKey}`);
        continue;
      }
      const expected = listOf(rawExpected as string | boolean | number | (string | boolean | number)[]).map(String);
      const actual = context.get(key);
      let holds: boolean;
      if (operator === 'Null') {
        holds = expected.some((value) => (value.toLowerCase() === 'true') === (actual === undefined || actual.length === 0));
      } else if (actual === undefined || actual.length === 0) {
        // A missing key: IfExists and negated operators hold, ForAllValues holds vacuously, the rest do not.
        holds = ifExists || NEGATED.has(operator) || setOperator === 'ForAllValues';
      } else {
        const matchesAny = (value: string) => expected.some((candidate) => compare(operator, value, candidate));
        const positive = (value: string) => (NEGATED.has(operator) ? !matchesAny(value) : matchesAny(value));
        holds = setOperator === 'ForAllValues' ? actual.every(positive) : actual.some(positive);
      }
      if (!holds) met = false;
    }
  }
  return { met: met && unsupported.length === 0, unsupported };
};

/** Whether the statement's Action/NotAction covers the action. */
const coversAction = (statement: IamStatement, action: string): boolean =>
  statement.NotAction !== undefined ? !listOf(statement.NotAction).some((pattern) => actionMatches(pattern, action)) : listOf(statement.Action).some((pattern) => actionMatches(pattern, action));

/** Whether the statement's Resource/NotResource covers the ARN. */
const coversResource = (statement: IamStatement, arn: string): boolean =>
  statement.NotResource !== undefined ? !listOf(statement.NotResource).some((pattern) => resourceMatches(pattern, arn)) : listOf(statement.Resource).some((pattern) => resourceMatches(pattern, arn));

const statementsOf = (policy: IamPolicy): IamStatement[] => listOf(policy.Statement);

/** Unsupported policy variables in a statement's resources (they fail closed like unsupported conditions). */
const unsupportedVariables = (statement: IamStatement): string[] =>
  [...listOf(statement.Resource), ...listOf(statement.NotResource)].filter((pattern) => POLICY_VARIABLE.test(pattern)).map((pattern) => `policy variable in ${pattern}`);

/**
 * Decides whether `request` is allowed by the caller's identity policies and the resource's
 * policy (same account). The admin principal (the runtime, tests, the CLI) is always allowed.
 */
export const evaluate = (request: IamRequest, policies: { identity: readonly IamPolicy[]; resource?: IamPolicy | undefined }): IamDecision => {
  const { principal, action, resource } = request;
  if (principal.kind === 'admin') return { allowed: true };
  const context = contextOf(request);
  const unsupported = new Set<string>();
  let deniedBy: IamDenialReason | undefined;
  let allowed = false;

  const consider = (statement: IamStatement, source: 'identity' | 'resource') => {
    if (!coversAction(statement, action) || !coversResource(statement, resource)) return;
    if (source === 'resource') {
      const match = statement.NotPrincipal !== undefined ? (principalMatch(statement.NotPrincipal, principal) ? false : 'direct') : principalMatch(statement.Principal, principal);
      if (!match) return;
      // Same account: a resource policy naming only the account defers to the identity policies.
      if (match === 'account' && statement.Effect === 'Allow') return;
    }
    const outcome = evaluateCondition(statement.Condition, context);
    const variables = unsupportedVariables(statement);
    for (const name of [...outcome.unsupported, ...variables]) unsupported.add(name);
    const evaluable = variables.length === 0 && outcome.unsupported.length === 0;
    if (statement.Effect === 'Deny') {
      // Fail closed: a Deny whose condition cannot be evaluated applies.
      if (!evaluable || outcome.met) deniedBy ??= source === 'identity' ? 'explicit-identity' : 'explicit-resource';
    } else if (evaluable && outcome.met) {
      allowed = true;
    }
  };

  if (principal.kind === 'role') for (const policy of policies.identity) for (const statement of statementsOf(policy)) consider(statement, 'identity');
  if (policies.resource) for (const statement of statementsOf(policies.resource)) consider(statement, 'resource');

  if (!deniedBy && allowed) return { allowed: true };
  const caller = callerOf(principal);
  const reason: IamDenialReason = deniedBy ?? (principal.kind === 'service' ? 'no-resource-policy' : 'no-identity-policy');
  const because = {
    'explicit-identity': 'with an explicit deny in an identity-based policy',
    'explicit-resource': 'with an explicit deny in a resource-based policy',
    'no-identity-policy': `because no identity-based policy allows the ${action} action`,
    'no-resource-policy': `because no resource-based policy allows the ${action} action`,
  }[reason];
  const names = [...unsupported];
  const note = names.length ? ` (local runtime: unsupported ${names.join(', ')}; evaluated fail-closed)` : '';
  return {
    allowed: false,
    kind: deniedBy ? 'explicit' : 'implicit',
    message: `User: ${caller} is not authorized to perform: ${action} on resource: ${resource} ${because}${note}`,
    reason,
    caller,
    ...(names.length ? { unsupported: names } : {}),
  };
};
