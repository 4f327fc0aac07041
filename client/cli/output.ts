/** Where a command writes: human text, or JSON for scripts (`--json`). */
export class Output {
  public constructor(
    public readonly json: boolean,
    private readonly stdout: NodeJS.WriteStream = process.stdout,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Writes a JSON document on one line (`--json`). */
  public document(value: unknown): void {
    this.stdout.write(JSON.stringify(value) + '\n');
  }

  /** Writes text to stdout as is. */
  public write(text: string): void {
    this.stdout.write(text);
  }

  public line(text = ''): void {
    this.stdout.write(text + '\n');
  }

  /** Notes for humans (stderr, so stdout stays clean for pipes). */
  public note(text: string): void {
    this.stderr.write(text + '\n');
  }

  /** Whether stderr is a terminal (live progress bars). */
  public get interactive(): boolean {
    return Boolean(this.stderr.isTTY);
  }

  /** Redraws a one-line progress indicator on stderr. */
  public progress(text: string): void {
    this.stderr.write(`\r${text}\x1b[K`);
  }

  /** Aligned columns with a header row. */
  public table(columns: readonly string[], rows: readonly (readonly string[])[]): void {
    const widths = columns.map((column, i) => Math.max(column.length, ...rows.map((row) => (row[i] ?? '').length)));
    const format = (cells: readonly string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
    this.line(format(columns));
    for (const row of rows) this.line(format(row));
  }
}

/** A text progress bar: `[#########-----------]  45%`. */
export const progressBar = (fraction: number, width = 30): string => {
  const clamped = Math.max(0, Math.min(1, fraction));
  const filled = Math.round(clamped * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(clamped * 100).toFixed(0).padStart(3)}%`;
};

/**
 * Reads numeric progress out of a progress entry's data: a bare number (0–1 or 0–100),
 * `{ percent }`, `{ fraction }`, or `{ done | completed | current, total }`. Undefined when the
 * entry carries none.
 */
export const fractionOf = (data: unknown): number | undefined => {
  const ratio = (value: number) => (value > 1 ? value / 100 : value);
  if (typeof data === 'number' && Number.isFinite(data)) return ratio(data);
  if (!data || typeof data !== 'object') return undefined;
  const record = data as Record<string, unknown>;
  if (typeof record.percent === 'number') return record.percent / 100;
  if (typeof record.fraction === 'number') return record.fraction;
  if (typeof record.progress === 'number') return ratio(record.progress);
  const done = [record.done, record.completed, record.current].find((value) => typeof value === 'number') as number | undefined;
  if (done !== undefined && typeof record.total === 'number' && record.total > 0) return done / record.total;
  return undefined;
};
