// The operator pages' form logic, free of React and of the network so that
// Vitest can check it: prices typed in major units, calendar ranges, and the
// API's 422 field paths mapped onto the form's fields.
import { addDays, parseDate } from '@/lib/dates';
import type { FieldErrors } from '@/lib/forms';
import { currencyExponent, parseMajorUnits } from '@/lib/money';
import type { FieldError, Listing, ListingInput, ListingType } from '@/lib/api';

export const LISTING_TYPES: { value: ListingType; label: string }[] = [
    { value: 'hotel', label: 'Hotel' },
    { value: 'apartment', label: 'Apartment' },
    { value: 'tour', label: 'Tour' },
    { value: 'activity', label: 'Activity' },
];

/** The largest amount the API accepts (10^11 minor units, docs/conventions.md "Inventory"). */
export const MAX_MINOR_UNITS = 100_000_000_000;

/**
 * Minor units from a price a person typed in major units, in the currency's
 * exponent: "120" EUR is 12000, "99.5" EUR is 9950, "15000" JPY is 15000,
 * "1.234" KWD is 1234. Thousands separators and spaces are tolerated
 * ("1 200", "1,200.50"); a decimal comma only when it is the one separator
 * and followed by at most the currency's digits.
 */
export function priceToMinor(text: string, currency: string): { amount: number } | { error: string } {
    const exp = currencyExponent(currency);
    let t = text.trim().replace(/[\s\u00a0\u202f]/g, '');
    if (!t) return { error: 'Enter a price.' };
    if (t.startsWith('-')) return { error: 'A price cannot be negative.' };
    // "1,200.50" or "1,200": commas group thousands when a dot follows or when exactly three digits follow each.
    if (/^\d{1,3}(,\d{3})+(\.\d*)?$/.test(t)) t = t.replace(/,/g, '');
    const amount = parseMajorUnits(t, currency);
    if (amount === null) {
        if (/^\d+[.,]\d+$/.test(t)) {
            return {
                error: exp === 0
                    ? `${currency} has no minor unit: enter a whole amount.`
                    : `${currency} has ${exp} decimal places: enter at most ${exp} digits after the point.`,
            };
        }
        return { error: exp === 0 ? 'Enter a price as a whole number, like 15000.' : 'Enter a price like 120 or 99.50.' };
    }
    if (amount > MAX_MINOR_UNITS) return { error: 'That price is too high.' };
    return { amount };
}

/** A whole number in [min, max] from a form field, or an error message. */
export function wholeNumber(text: string, min: number, max: number, what: string): { value: number } | { error: string } {
    const t = text.trim();
    if (!/^\d+$/.test(t)) return { error: `Enter ${what} as a whole number.` };
    const value = Number(t);
    if (value < min || value > max) return { error: `Enter ${what} from ${min} to ${max}.` };
    return { value };
}

function dayNumber(date: string): number | null {
    const t = parseDate(date);
    return t === null ? null : t / 86_400_000;
}

/** How far ahead the calendar can be set: the last date is today + 365 (the API's bookable horizon). */
export const CALENDAR_DAYS_AHEAD = 365;

/**
 * Checks a calendar range as the operator types it: "From" and "To" are both
 * included (1 to 7 December is seven dates), From is not before today and
 * To at most 365 days after today. Returns the API's half-open range
 * `[from, to)` (to = To + 1 day) or the errors by field.
 */
export function checkCalendarRange(from: string, to: string, today: string): { from: string; to: string } | { errors: FieldErrors } {
    const errors: FieldErrors = {};
    const f = dayNumber(from.trim());
    const t = dayNumber(to.trim());
    const now = dayNumber(today);
    if (now === null) throw new RangeError(`not a date: ${today}`);
    if (f === null) errors.from = from.trim() ? 'Enter a real date (YYYY-MM-DD).' : 'Enter the first date.';
    if (t === null) errors.to = to.trim() ? 'Enter a real date (YYYY-MM-DD).' : 'Enter the last date.';
    if (f !== null && f < now) errors.from = 'The range cannot start in the past.';
    if (t !== null && t > now + CALENDAR_DAYS_AHEAD) errors.to = `The calendar can be set up to ${CALENDAR_DAYS_AHEAD} days ahead.`;
    if (f !== null && t !== null && t < f && !errors.to) errors.to = 'The last date cannot be before the first.';
    if (Object.keys(errors).length) return { errors };
    return { from: from.trim(), to: addDays(to.trim(), 1) };
}

/**
 * The API's 422 field paths on the form's fields: an exact match first, else
 * the longest form field that the path starts with ("amenities.2" is shown at
 * "amenities", "base_price.amount" at "base_price"); a path naming no field
 * (or `""`) goes to the form's general message. The API's half-open `to` is
 * the form's inclusive "To", so its errors stay at "to".
 */
export function mapFieldErrors(errors: FieldError[], fields: readonly string[]): { byField: FieldErrors; other: string[] } {
    const byField: FieldErrors = {};
    const other: string[] = [];
    const sorted = [...fields].sort((a, b) => b.length - a.length);
    for (const e of errors) {
        const target = fields.includes(e.field)
            ? e.field
            : sorted.find((f) => e.field.startsWith(`${f}.`) || e.field.startsWith(`${f}[`));
        const message = humanise(e.message);
        if (target === undefined) other.push(e.field ? `${e.field.replace(/_/g, ' ')}: ${message}` : message);
        else if (!(target in byField)) byField[target] = message;
    }
    return { byField, other };
}

function humanise(message: string): string {
    const m = message.trim();
    if (!m) return 'This value is not valid.';
    // The API says "is required" or "must be ..." of its field; next to the field, a sentence reads better.
    const sentence = /^is\b/.test(m) ? `This field ${m}` : m.charAt(0).toUpperCase() + m.slice(1);
    return sentence + (/[.!?]$/.test(m) ? '' : '.');
}

/** Form field names of the listing form (the API's member names, the policy's members dotted). */
export const LISTING_FIELDS = [
    'title', 'type', 'description', 'address', 'city', 'country', 'timezone', 'currency', 'latitude', 'longitude',
    'amenities', 'photos', 'cancellation_policy', 'cancellation_policy.free_cancellation_hours',
    'cancellation_policy.refund_percent_after',
] as const;

export const UNIT_FIELDS = ['name', 'description', 'max_guests', 'quantity', 'base_price'] as const;
export const CALENDAR_FIELDS = ['from', 'to', 'price', 'quantity', 'closed'] as const;

/** Amenities typed as a comma or line separated list: trimmed, lower-cased, spaces to "-", duplicates dropped. */
export function parseAmenities(text: string): string[] {
    const out: string[] = [];
    for (const raw of text.split(/[,\n]/)) {
        const a = raw.trim().toLowerCase().replace(/\s+/g, '-');
        if (a && !out.includes(a)) out.push(a);
    }
    return out;
}

/** Photo URLs, one per line (or separated by spaces). */
export function parsePhotos(text: string): string[] {
    return text.split(/\s+/).map((s) => s.trim()).filter(Boolean);
}

export type ListingValues = Record<(typeof LISTING_FIELDS)[number], string>;

function coordinate(text: string, limit: number, what: string): { value: number | null } | { error: string } {
    const t = text.trim().replace(',', '.');
    if (!t) return { value: null };
    if (!/^[-+]?\d{1,3}(\.\d+)?$/.test(t)) return { error: `Enter the ${what} in decimal degrees, like ${limit === 90 ? '38.7071' : '-9.1355'}.` };
    const v = Number(t);
    if (Math.abs(v) > limit) return { error: `The ${what} is between -${limit} and ${limit}.` };
    return { value: v };
}

/**
 * The API body from the listing form, or the errors a person can fix before
 * a round trip (numbers that are not numbers, half a coordinate pair). The
 * rest (lengths, time zone, currency code) is left to the API, whose 422 is
 * shown at the same fields. For PATCH, empty optional fields become null
 * (cleared), as the form shows the listing's whole state.
 */
export function listingBody(v: Partial<ListingValues>, mode: 'create' | 'update'): { body: ListingInput } | { errors: FieldErrors } {
    const s = (k: keyof ListingValues) => (v[k] ?? '').trim();
    const errors: FieldErrors = {};
    const lat = coordinate(s('latitude'), 90, 'latitude');
    const lon = coordinate(s('longitude'), 180, 'longitude');
    if ('error' in lat) errors.latitude = lat.error;
    if ('error' in lon) errors.longitude = lon.error;
    if ('value' in lat && 'value' in lon && (lat.value === null) !== (lon.value === null)) {
        if (lat.value === null) errors.latitude = 'Enter the latitude too, or neither.';
        else errors.longitude = 'Enter the longitude too, or neither.';
    }
    const hours = wholeNumber(s('cancellation_policy.free_cancellation_hours') || '0', 0, 8760, 'the hours');
    const percent = wholeNumber(s('cancellation_policy.refund_percent_after') || '0', 0, 100, 'the percentage');
    if ('error' in hours) errors['cancellation_policy.free_cancellation_hours'] = hours.error;
    if ('error' in percent) errors['cancellation_policy.refund_percent_after'] = percent.error;
    if (!LISTING_TYPES.some((t) => t.value === s('type'))) errors.type = 'Choose a type.';
    if (Object.keys(errors).length) return { errors };
    const optional = (text: string) => (text ? text : mode === 'update' ? null : undefined);
    const amenities = parseAmenities(v.amenities ?? '');
    const photos = parsePhotos(v.photos ?? '');
    const body: ListingInput = {
        title: s('title'),
        type: s('type') as ListingType,
        description: s('description'),
        city: s('city'),
        country: s('country'),
        timezone: optional(s('timezone')),
        address: optional(s('address')),
        currency: s('currency').toUpperCase(),
        cancellation_policy: {
            free_cancellation_hours: (hours as { value: number }).value,
            refund_percent_after: (percent as { value: number }).value,
        },
    };
    const la = (lat as { value: number | null }).value;
    const lo = (lon as { value: number | null }).value;
    if (la !== null && lo !== null) {
        body.latitude = la;
        body.longitude = lo;
    } else if (mode === 'update') {
        body.latitude = null;
        body.longitude = null;
    }
    if (amenities.length || mode === 'update') body.amenities = amenities;
    if (photos.length || mode === 'update') body.photos = photos;
    for (const k of ['timezone', 'address'] as const) if (body[k] === undefined) delete body[k];
    return { body };
}

/** Today's date (YYYY-MM-DD) in an IANA time zone; UTC when the zone is unknown to this runtime. */
export function todayIn(timeZone: string, now: Date = new Date()): string {
    try {
        const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(now);
        const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
        return `${get('year')}-${get('month')}-${get('day')}`;
    } catch {
        return now.toISOString().slice(0, 10);
    }
}

/** Whether "Mark checked out" applies: a confirmed booking from its check-in date on (listing time). */
export function canMarkCheckedOut(b: { status: string; check_in: string }, today: string): boolean {
    return b.status === 'confirmed' && b.check_in <= today;
}

/** The form's text values for a listing (the edit form starts from these). */
export function listingToValues(l: Listing): ListingValues {
    return {
        title: l.title,
        type: l.type,
        description: l.description,
        address: l.address ?? '',
        city: l.city,
        country: l.country,
        timezone: l.timezone,
        currency: l.currency,
        latitude: l.latitude === null ? '' : String(l.latitude),
        longitude: l.longitude === null ? '' : String(l.longitude),
        amenities: l.amenities.join(', '),
        photos: l.photos.join('\n'),
        cancellation_policy: '',
        'cancellation_policy.free_cancellation_hours': String(l.cancellation_policy.free_cancellation_hours),
        'cancellation_policy.refund_percent_after': String(l.cancellation_policy.refund_percent_after),
    };
}
