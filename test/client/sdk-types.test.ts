/**
 * Type-level tests of the SDK's typing by task type. The assertions are checked by
 * `npx tsc --noEmit` (tsconfig includes test/): an `expectTypeOf` mismatch or an unused
 * `@ts-expect-error` is a compile error. At run time vitest only proves the file loads.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  OffloadClient,
  type EventsPage,
  type OffloadTaskTypes,
  type SubmittedTask,
  type Task,
  type TaskSummary,
  type TaskTypesOf,
  type WatchEvent,
  type WatchGap,
} from '../../client/sdk/index.ts';
import type { CompletionInput, CompletionProgress, CompletionResult } from '../../lambdas/tasks/completion.ts';
import type { TaskDefinition } from '../../lambdas/tasks/definition.ts';

// Nothing here is sent: the constructor does no I/O, and the calls below are never run.
const client = new OffloadClient({ endpoint: 'http://127.0.0.1:9', credential: 'ofk_types' });
const TASK_ID = 'tsk_00000000000000000000000000';

/** A caller's own task type, declared like the shipped ones. */
type ResizeInput = { readonly url: string; readonly width: number };
type ResizeProgress = { readonly percent: number };
type ResizeResult = { readonly ok: boolean; readonly bytes: number };
declare const resize: TaskDefinition<ResizeInput, ResizeProgress, ResizeResult>;
type MyTypes = TaskTypesOf<{ resize: typeof resize }>;
const mine = new OffloadClient<MyTypes>({ endpoint: 'http://127.0.0.1:9', credential: 'ofk_types' });

/** Calls that must not compile: each `@ts-expect-error` fails `tsc` if its line type-checks. */
const rejected = async (): Promise<void> => {
  // @ts-expect-error prompt is required
  await client.submit('completion', { maxTokens: 5 });
  // @ts-expect-error prompt is a string
  await client.submit('completion', { prompt: 42 });
  // @ts-expect-error maxTokens is a number
  await client.submit('completion', { prompt: 'hi', maxTokens: '5' });
  // @ts-expect-error unknown input keys are rejected (strict object)
  await client.submit('completion', { prompt: 'hi', temperature: 0.2 });
  // @ts-expect-error the input is an object, not a string
  await client.submit('completion', 'hi');
  // @ts-expect-error unknown task type name
  await client.submit('resize', { url: 'https://x', width: 10 });
  // @ts-expect-error unknown task type name on reads
  await client.get<'resize'>(TASK_ID);
  // @ts-expect-error unknown task type name on events
  await client.events<'nope'>(TASK_ID);
  // @ts-expect-error unknown task type name on watch
  client.watch<'nope'>(TASK_ID);
  // @ts-expect-error a custom map knows only its own types
  await mine.submit('completion', { prompt: 'hi' });
  // @ts-expect-error and checks their inputs
  await mine.submit('resize', { url: 'https://x' });
  const read = await client.get<'completion'>(TASK_ID);
  // @ts-expect-error the result is typed: no such field
  void read.result?.tokens;
  // @ts-expect-error result.text is a string, not a number
  const n: number | undefined = read.result?.text;
  void n;
  for await (const event of client.watch<'completion'>(TASK_ID)) {
    // @ts-expect-error progress data is typed: no such field
    if (event.kind === 'progress') void event.data.percent;
  }
};

describe('client SDK: typed by task type (checked by tsc)', () => {
  it('derives the shipped task types from the task definitions, not any', () => {
    type Completion = OffloadTaskTypes['completion'];
    expectTypeOf<Completion['input']>().not.toBeAny();
    expectTypeOf<Completion['input']>().toEqualTypeOf<CompletionInput>();
    expectTypeOf<Completion['input']>().toEqualTypeOf<{ prompt: string; maxTokens?: number | undefined; model?: string | undefined }>();
    expectTypeOf<Completion['progress']>().not.toBeAny();
    expectTypeOf<Completion['progress']>().toEqualTypeOf<CompletionProgress>();
    expectTypeOf<Completion['result']>().not.toBeAny();
    expectTypeOf<Completion['result']>().toEqualTypeOf<CompletionResult>();
    expectTypeOf<Completion['result']['usage']>().not.toBeAny();
    // The names are a literal union of the shipped types, not `string`: unknown names are rejected.
    expectTypeOf<'completion'>().toExtend<keyof OffloadTaskTypes>();
    expectTypeOf<string>().not.toExtend<keyof OffloadTaskTypes>();
    expectTypeOf<'resize'>().not.toExtend<keyof OffloadTaskTypes>();
  });

  it('types submit by task type: its input parameter and the acknowledged task', () => {
    expectTypeOf(client.submit<'completion'>).parameter(0).toEqualTypeOf<'completion'>();
    expectTypeOf(client.submit<'completion'>).parameter(1).not.toBeAny();
    expectTypeOf(client.submit<'completion'>).parameter(1).toEqualTypeOf<CompletionInput>();
    expectTypeOf(client.submit<'completion'>).returns.resolves.toEqualTypeOf<SubmittedTask<OffloadTaskTypes, 'completion'>>();
    expectTypeOf(client.submit<'completion'>).returns.resolves.toHaveProperty('replayed').toEqualTypeOf<boolean>();
    expectTypeOf(client.submit<'completion'>).returns.resolves.toHaveProperty('type').toEqualTypeOf<'completion'>();
    expectTypeOf(client.submit<'completion'>).returns.resolves.toHaveProperty('result').toEqualTypeOf<CompletionResult | undefined>();
    // Accepted shapes compile (as values of the parameter type).
    expectTypeOf({ prompt: 'hi' }).toExtend<CompletionInput>();
    expectTypeOf({ prompt: 'hi', maxTokens: 5, model: 'sim-fast' }).toExtend<CompletionInput>();
    expectTypeOf({ maxTokens: 5 }).not.toExtend<CompletionInput>();
  });

  it('types get, cancel, events and list results by task type', () => {
    type Read = Awaited<ReturnType<typeof client.get<'completion'>>>;
    expectTypeOf<Read>().not.toBeAny();
    expectTypeOf<Read>().toEqualTypeOf<Task<OffloadTaskTypes, 'completion'>>();
    expectTypeOf<Read['result']>().not.toBeAny();
    expectTypeOf<Read['result']>().toEqualTypeOf<CompletionResult | undefined>();
    expectTypeOf<NonNullable<Read['result']>['text']>().toEqualTypeOf<string>();
    expectTypeOf<Read['type']>().toEqualTypeOf<'completion'>();
    expectTypeOf(client.cancel<'completion'>).returns.resolves.toHaveProperty('result').toEqualTypeOf<CompletionResult | undefined>();
    type Page = Awaited<ReturnType<typeof client.events<'completion'>>>;
    expectTypeOf<Page>().toEqualTypeOf<EventsPage<CompletionProgress>>();
    expectTypeOf<Page['items'][number]['data']>().not.toBeAny();
    expectTypeOf<Page['items'][number]['data']>().toEqualTypeOf<CompletionProgress>();
    type Listed = Awaited<ReturnType<typeof client.list>>['items'][number];
    expectTypeOf<Listed>().toEqualTypeOf<TaskSummary<OffloadTaskTypes>>();
    expectTypeOf<Listed['type']>().toEqualTypeOf<keyof OffloadTaskTypes & string>();
    expectTypeOf<string>().not.toExtend<Listed['type']>();
    expectTypeOf<Listed>().not.toHaveProperty('result');
  });

  it('types watch events: progress data and the terminal result', () => {
    type Event = ReturnType<typeof client.watch<'completion'>> extends AsyncGenerator<infer E, void, undefined> ? E : never;
    expectTypeOf<Event>().not.toBeAny();
    expectTypeOf<Event>().toEqualTypeOf<WatchEvent<CompletionProgress, CompletionResult>>();
    expectTypeOf<Extract<Event, { kind: 'progress' }>['data']>().toEqualTypeOf<CompletionProgress>();
    expectTypeOf<Extract<Event, { kind: 'status' }>['result']>().toEqualTypeOf<CompletionResult | undefined>();
    expectTypeOf<Extract<Event, { kind: 'gap' }>>().toEqualTypeOf<WatchGap>();
    expectTypeOf<WatchGap['after']>().toEqualTypeOf<number>();
    expectTypeOf<Event['kind']>().toEqualTypeOf<'progress' | 'gap' | 'status'>();
  });

  it('types a caller-defined task map the same way (TaskTypesOf over definitions)', () => {
    expectTypeOf<MyTypes['resize']>().toEqualTypeOf<{ readonly input: ResizeInput; readonly progress: ResizeProgress; readonly result: ResizeResult }>();
    expectTypeOf(mine.submit<'resize'>).parameter(1).toEqualTypeOf<ResizeInput>();
    expectTypeOf<Awaited<ReturnType<typeof mine.get<'resize'>>>['result']>().toEqualTypeOf<ResizeResult | undefined>();
    expectTypeOf<Awaited<ReturnType<typeof mine.events<'resize'>>>['items'][number]['data']>().toEqualTypeOf<ResizeProgress>();
    expectTypeOf<Parameters<typeof mine.submit>[0]>().toEqualTypeOf<'resize'>();
  });

  it('loads (the checks above are compile time)', () => {
    expect(typeof rejected).toBe('function');
  });
});
