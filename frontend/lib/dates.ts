// Calendar dates as YYYY-MM-DD strings, computed in UTC so that the server's
// and the browser's time zones never shift a day. Ranges are half-open.

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Milliseconds at UTC midnight of a valid YYYY-MM-DD date, or null. */
export function parseDate(s: string | undefined | null): number | null {
    if (!s) return null;
    const m = DATE_RE.exec(s);
    if (!m) return null;
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const t = Date.UTC(y, mo - 1, d);
    const back = new Date(t);
    if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
    return t;
}

export function formatIsoDate(t: number): string {
    return new Date(t).toISOString().slice(0, 10);
}

export function todayIso(now: Date = new Date()): string {
    return formatIsoDate(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

export function addDays(date: string, days: number): string {
    const t = parseDate(date);
    if (t === null) throw new RangeError(`not a date: ${date}`);
    return formatIsoDate(t + days * 86400000);
}

export function nightsBetween(checkIn: string, checkOut: string): number {
    const a = parseDate(checkIn);
    const b = parseDate(checkOut);
    if (a === null || b === null) return 0;
    return Math.round((b - a) / 86400000);
}

export const MAX_NIGHTS = 30;
export const MAX_DAYS_AHEAD = 365;

export interface RangeErrors {
    check_in?: string;
    check_out?: string;
}

/**
 * Checks a stay as the search form sends it: both dates or neither, real
 * dates, check-out after check-in, not in the past, at most 30 nights and
 * 365 days ahead (API.md, GET /listings). Returns errors by field.
 */
export function validateStay(checkIn: string | undefined, checkOut: string | undefined, today: string = todayIso()): RangeErrors {
    const errors: RangeErrors = {};
    const hasIn = !!checkIn;
    const hasOut = !!checkOut;
    if (!hasIn && !hasOut) return errors;
    const tIn = parseDate(checkIn);
    const tOut = parseDate(checkOut);
    if (!hasIn) errors.check_in = 'Choose a check-in date too.';
    else if (tIn === null) errors.check_in = 'Enter a real date (YYYY-MM-DD).';
    if (!hasOut) errors.check_out = 'Choose a check-out date too.';
    else if (tOut === null) errors.check_out = 'Enter a real date (YYYY-MM-DD).';
    if (errors.check_in || errors.check_out) return errors;
    const tToday = parseDate(today)!;
    if (tIn! < tToday) errors.check_in = 'Check-in cannot be in the past.';
    else if (tIn! > tToday + MAX_DAYS_AHEAD * 86400000) errors.check_in = 'Check-in can be at most a year ahead.';
    if (tOut! <= tIn!) errors.check_out = 'Check-out must be after check-in.';
    else if ((tOut! - tIn!) / 86400000 > MAX_NIGHTS) errors.check_out = `A stay can be at most ${MAX_NIGHTS} nights.`;
    else if (tOut! > tToday + (MAX_DAYS_AHEAD + 1) * 86400000) errors.check_out = 'Check-out can be at most a year ahead.';
    return errors;
}

/** "Fri 3 Jul 2026" for a YYYY-MM-DD date. */
export function formatDay(date: string, locale = 'en-GB'): string {
    const t = parseDate(date);
    if (t === null) return date;
    return new Intl.DateTimeFormat(locale, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }).format(t);
}

/** A timestamp in the listing's time zone, e.g. "1 Jul 2026, 00:00 (Europe/Paris)". */
export function formatTimestamp(ts: string, timeZone = 'UTC', locale = 'en-GB'): string {
    const d = new Date(ts);
    if (Number.isNaN(d.getTime())) return ts;
    let tz = timeZone;
    try {
        new Intl.DateTimeFormat(locale, { timeZone: tz });
    } catch {
        tz = 'UTC';
    }
    const s = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: tz }).format(d);
    return `${s} (${tz})`;
}

/** The weeks (Monday first) of the month holding `date`, as date strings or null for padding. */
export function monthGrid(year: number, month: number): (string | null)[][] {
    const first = Date.UTC(year, month, 1);
    const days = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    const lead = (new Date(first).getUTCDay() + 6) % 7;
    const cells: (string | null)[] = Array(lead).fill(null);
    for (let d = 1; d <= days; d++) cells.push(formatIsoDate(Date.UTC(year, month, d)));
    while (cells.length % 7) cells.push(null);
    const weeks: (string | null)[][] = [];
    for (let i = 0; i < cells.length; i += 7) weeks.push(cells.slice(i, i + 7));
    return weeks;
}
