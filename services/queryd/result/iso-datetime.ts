/**
 * ISO-8601 text for DuckDB dates and timestamps, computed from the stored
 * integers: DuckDB's own text is not ISO (a space before the time, `(BC)`
 * after the year), and JavaScript's Date loses microseconds and nanoseconds.
 * Years before 1 use astronomical numbering (1 BC is `0000`, 2 BC `-0001`),
 * as ISO-8601 does.
 */

const DAY_SECONDS = 86_400n;

/** Civil date of a day count since 1970-01-01 (proleptic Gregorian). */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear =
    dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

function isoYear(year: number): string {
  if (year < 0) return `-${pad(-year, 4)}`;
  if (year > 9999) return `+${year}`;
  return pad(year, 4);
}

/** `YYYY-MM-DD` for a count of days since 1970-01-01. */
export function isoDate(days: number): string {
  const { year, month, day } = civilFromDays(days);
  return `${isoYear(year)}-${pad(month, 2)}-${pad(day, 2)}`;
}

/**
 * `HH:MM:SS[.fraction]` for a time of day in `unitsPerSecond` units; the
 * fraction keeps the unit's digits with trailing zeros removed.
 */
export function isoTime(units: bigint, unitsPerSecond: bigint): string {
  const seconds = units / unitsPerSecond;
  const fraction = units % unitsPerSecond;
  const s = Number(seconds);
  const clock = `${pad(Math.floor(s / 3600), 2)}:${pad(Math.floor(s / 60) % 60, 2)}:${pad(s % 60, 2)}`;
  if (fraction === 0n) return clock;
  const digits = String(unitsPerSecond).length - 1;
  return `${clock}.${fraction.toString().padStart(digits, "0").replace(/0+$/, "")}`;
}

/**
 * `YYYY-MM-DDTHH:MM:SS[.fraction]` for a count of `unitsPerSecond` units since
 * the epoch, with `Z` appended for an instant (TIMESTAMP WITH TIME ZONE).
 */
export function isoTimestamp(units: bigint, unitsPerSecond: bigint, utc: boolean): string {
  const unitsPerDay = DAY_SECONDS * unitsPerSecond;
  let days = units / unitsPerDay;
  let rest = units % unitsPerDay;
  if (rest < 0n) {
    rest += unitsPerDay;
    days -= 1n;
  }
  return `${isoDate(Number(days))}T${isoTime(rest, unitsPerSecond)}${utc ? "Z" : ""}`;
}
