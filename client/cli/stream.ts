import { ConnectionLostError, type WatchEvent } from '../sdk/index.ts';
import { ExitCode } from './exit-codes.ts';
import { fractionOf, progressBar, type Output } from './output.ts';

/**
 * Watches a task and renders it: streamed text (`data.text`) written as it arrives, a progress bar
 * for numeric progress, other entries as JSON lines; then the terminal status. With `--json`, one
 * JSON line per event. Returns 0 when the task succeeded, 1 when it failed or was cancelled.
 */
export const renderWatch = async (out: Output, events: AsyncIterable<WatchEvent>, taskId: string, signal: AbortSignal): Promise<ExitCode> => {
  let last = 0;
  let textOpen = false;
  let barShown = false;
  try {
    for await (const event of events) {
      if (out.json) {
        out.document(event);
        if (event.kind === 'progress') last = event.seq;
        if (event.kind === 'status') return event.status === 'succeeded' ? ExitCode.ok : ExitCode.taskUnsuccessful;
        continue;
      }
      if (event.kind === 'progress') {
        last = event.seq;
        const data = event.data as { text?: unknown } | undefined;
        const fraction = fractionOf(data);
        if (data && typeof data === 'object' && typeof data.text === 'string') {
          out.write(data.text);
          textOpen = !data.text.endsWith('\n');
        } else if (fraction !== undefined) {
          if (out.interactive) {
            out.progress(progressBar(fraction));
            barShown = true;
          } else out.line(progressBar(fraction));
        } else out.line(JSON.stringify(data));
      } else if (event.kind === 'gap') {
        out.note(`\n[entries ${event.after + 1}..${event.before - 1} could not be retrieved]`);
      } else {
        if (textOpen) out.line();
        if (barShown) out.note('');
        const detail = event.error ? ` ${event.error.code}: ${event.error.message}` : '';
        out.note(`[${event.status}]${detail}`);
        return event.status === 'succeeded' ? ExitCode.ok : ExitCode.taskUnsuccessful;
      }
    }
  } catch (error) {
    if (signal.aborted) {
      if (textOpen) out.line();
      out.note(`[interrupted] resume with: offload watch ${taskId} --after ${last}`);
      return ExitCode.interrupted;
    }
    if (error instanceof ConnectionLostError && !out.json) out.note(`\nresume with: offload watch ${taskId} --after ${error.lastSeq}`);
    throw error;
  }
  return ExitCode.ok;
};
