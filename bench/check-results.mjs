// `node bench/check-results.mjs [bench/results/quick.json]` — CI's check of a benchmark run: the
// results document is well-formed JSON with every key the issue requires, of the right type. It
// never checks a timing (CI machines vary); a measured value may be null where nothing was
// measured (e.g. no rate kept the ack p99 under 50 ms). Exits 1 listing every problem found.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'bench/results/quick.json';

const NUMBER = 'number';
const NULLABLE_NUMBER = 'number|null';
const STRING = 'string';
const OBJECT = 'object';
const NULLABLE_BOOLEAN = 'boolean|null';

/** A flow the cost section lists but cannot measure yet carries a `status` instead of its figures. */
const COST_FLOW = { flow: STRING, callsPerTask: OBJECT, usdPerMillionTasks: NULLABLE_NUMBER };
const costFlow = (value, path) =>
  typeOf(value) === OBJECT && typeof value.status === STRING ? check(value, { flow: STRING }, path) : check(value, COST_FLOW, path);

/**
 * The required shape: a type name, an object of required keys, `[shape]` for a non-empty array of
 * it, or a function `(value, path) => problems`.
 */
const SHAPE = {
  machine: OBJECT,
  date: STRING,
  asyncVsSync: [
    {
      architecture: STRING,
      sessions: NUMBER,
      held: NUMBER,
      errors: NUMBER,
      ackP50Ms: NULLABLE_NUMBER,
      ackP99Ms: NULLABLE_NUMBER,
      firstProgressP50Ms: NULLABLE_NUMBER,
      firstProgressP99Ms: NULLABLE_NUMBER,
      deliveryP99Ms: NULLABLE_NUMBER,
      failureMode: STRING,
    },
  ],
  // AWS API calls and Lambda invocations per 40-token session (issue #12), from a session level.
  callsPerSession: { aws: NUMBER, lambda: NUMBER, byOperation: OBJECT, localEmptyReceivesPerSession: NUMBER },
  ack: { maxRateUnder50msP99: NULLABLE_NUMBER, idleP50Ms: NULLABLE_NUMBER, runs: [{ rate: NUMBER, p50Ms: NULLABLE_NUMBER, p99Ms: NULLABLE_NUMBER, maxMs: NULLABLE_NUMBER }] },
  throughput: { tasksPerSecond: NUMBER },
  coldStart: [{ function: STRING, bundleBytes: NUMBER, initMs: NULLABLE_NUMBER, helloWorldInitMs: NULLABLE_NUMBER }],
  cost: { priceTableDate: STRING, flows: [costFlow] },
  progressCost: [{ tokens: NUMBER, durationS: NUMBER, ddbWrites: NUMBER, ddbCallsPerEntry: NUMBER, pushes: NUMBER }],
  targets: [{ target: STRING, measured: STRING, met: NULLABLE_BOOLEAN }],
};

const typeOf = (value) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

/** Every mismatch between `value` and `shape`, as `path: expected …, got …`. */
function check(value, shape, path) {
  if (typeof shape === 'function') return shape(value, path);
  if (typeof shape === 'string') {
    const actual = typeOf(value);
    const ok = shape.split('|').includes(actual) && !(actual === NUMBER && !Number.isFinite(value));
    return ok ? [] : [`${path}: expected ${shape}, got ${actual === NUMBER ? value : actual}`];
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) return [`${path}: expected an array, got ${typeOf(value)}`];
    if (value.length === 0) return [`${path}: expected at least one entry`];
    return value.flatMap((item, index) => check(item, shape[0], `${path}[${index}]`));
  }
  if (typeOf(value) !== OBJECT) return [`${path}: expected an object, got ${typeOf(value)}`];
  if ('error' in value) return [`${path}: the section failed: ${value.error}`];
  return Object.entries(shape).flatMap(([key, inner]) => (key in value ? check(value[key], inner, `${path}.${key}`) : [`${path}.${key}: missing`]));
}

let results;
try {
  results = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.error(`${file}: not readable JSON: ${error.message}`);
  process.exit(1);
}
const problems = [
  ...check(results, SHAPE, '$'),
  ...Object.entries(results.errors ?? {}).map(([section, message]) => `$.errors.${section}: ${message}`),
  ...(Number.isNaN(Date.parse(results.date)) ? [`$.date: not a date: ${results.date}`] : []),
];
if (problems.length) {
  console.error(`${file}: ${problems.length} problem(s):\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  process.exit(1);
}
console.log(`${file}: well-formed (${results.asyncVsSync.length} async-vs-sync rows, ${results.ack.runs.length} ack rates, ${results.coldStart.length} functions, ${results.cost.flows.length} cost flows)`);
