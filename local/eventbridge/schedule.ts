/** A parsed EventBridge schedule expression. */
export interface Schedule {
  /** The next fire time strictly after `from`. */
  next(from: Date): Date;
}

/** The schedule expression is not valid for EventBridge. */
export class InvalidScheduleError extends Error {
  public constructor(expression: string, reason: string) {
    super(`Parameter ScheduleExpression is not valid: ${expression} (${reason})`);
    this.name = 'ValidationException';
  }
}

const UNIT_MS: Record<string, number> = { minute: 60_000, minutes: 60_000, hour: 3_600_000, hours: 3_600_000, day: 86_400_000, days: 86_400_000 };
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/**
 * Parses `rate(value unit)` and `cron(minutes hours day-of-month month day-of-week year)` as
 * EventBridge defines them (UTC). Supported cron syntax: `*`, `?`, lists, ranges, `/` steps and
 * month/day names; `L`, `W` and `#` are rejected with a clear error.
 *
 * @example
 * ```ts
 * parseSchedule('rate(5 minutes)').next(new Date());
 * parseSchedule('cron(0/15 * * * ? *)').next(new Date());
 * ```
 */
export const parseSchedule = (expression: string): Schedule => {
  const rate = /^rate\((\d+)\s+(minutes?|hours?|days?)\)$/.exec(expression.trim());
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2]!;
    if (value < 1) throw new InvalidScheduleError(expression, 'the value must be positive');
    if ((value === 1) !== !unit.endsWith('s')) throw new InvalidScheduleError(expression, 'use the singular unit for 1 and the plural otherwise');
    const period = value * UNIT_MS[unit]!;
    return { next: (from) => new Date(Math.floor(from.getTime() / 60_000) * 60_000 + period) };
  }
  const cron = /^cron\((.+)\)$/.exec(expression.trim());
  if (!cron) throw new InvalidScheduleError(expression, 'expected rate(...) or cron(...)');
  const fields = cron[1]!.trim().split(/\s+/);
  if (fields.length !== 6) throw new InvalidScheduleError(expression, 'cron needs 6 fields');
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields as [string, string, string, string, string, string];
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) throw new InvalidScheduleError(expression, 'exactly one of day-of-month and day-of-week must be ?');
  const sets = {
    minute: field(minutes, 0, 59, [], expression),
    hour: field(hours, 0, 23, [], expression),
    dayOfMonth: dayOfMonth === '?' ? undefined : field(dayOfMonth, 1, 31, [], expression),
    month: field(month, 1, 12, MONTHS, expression, 1),
    dayOfWeek: dayOfWeek === '?' ? undefined : field(dayOfWeek, 1, 7, DAYS, expression, 1),
    year: field(year, 1970, 2199, [], expression),
  };
  return {
    next: (from) => {
      const t = new Date(Math.floor(from.getTime() / 60_000) * 60_000 + 60_000);
      for (let i = 0; i < 60 * 24 * 366 * 5; i++) {
        if (
          sets.year.has(t.getUTCFullYear()) &&
          sets.month.has(t.getUTCMonth() + 1) &&
          (!sets.dayOfMonth || sets.dayOfMonth.has(t.getUTCDate())) &&
          (!sets.dayOfWeek || sets.dayOfWeek.has(t.getUTCDay() + 1)) &&
          sets.hour.has(t.getUTCHours()) &&
          sets.minute.has(t.getUTCMinutes())
        ) {
          return t;
        }
        t.setTime(t.getTime() + 60_000);
      }
      throw new InvalidScheduleError(expression, 'never fires');
    },
  };
};

const field = (text: string, min: number, max: number, names: readonly string[], expression: string, nameBase = 0): Set<number> => {
  if (/[LW#]/.test(text.replace(/[A-Z]{3}/g, (name) => (names.includes(name) ? '0' : name)))) {
    throw new InvalidScheduleError(expression, `"${text}": L, W and # are not supported by the local runtime`);
  }
  const value = (token: string): number => {
    const index = names.indexOf(token.toUpperCase());
    const number = index >= 0 ? index + nameBase : Number(token);
    if (!Number.isInteger(number) || number < min || number > max) throw new InvalidScheduleError(expression, `"${token}" is out of range ${min}-${max}`);
    return number;
  };
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new InvalidScheduleError(expression, `bad step in "${part}"`);
    let from: number;
    let to: number;
    if (range === '*' || range === '?') [from, to] = [min, max];
    else if (range.includes('-')) [from, to] = range.split('-').map(value) as [number, number];
    else [from, to] = [value(range), stepText === undefined ? value(range) : max];
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
};
