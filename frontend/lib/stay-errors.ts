// Reserve's 422 answers about the stay, shown next to the listing page's
// date and guests fields. The action passes only field names in the URL;
// the words come from here, so a link cannot put text on the page.
import type { ApiError } from './api';

export type StayField = 'check_in' | 'check_out' | 'guests';

const FIELD_OF: Record<string, StayField> = { check_in: 'check_in', check_out: 'check_out', guests: 'guests', quantity: 'guests' };

export const STAY_ERROR_TEXT: Record<StayField, string> = {
    check_in: "This date cannot be booked here: stays start from today in the listing's time zone, up to 365 days ahead.",
    check_out: 'Check-out must be after check-in, at most 30 nights later.',
    guests: 'Too many guests for this room: choose fewer guests or another room.',
};

/** The stay fields a 422 from POST /bookings is about (none for other answers). */
export function reserveErrorFields(err: ApiError): StayField[] {
    if (err.status !== 422) return [];
    const out = new Set<StayField>();
    for (const e of err.fieldErrors) {
        const f = Object.hasOwn(FIELD_OF, e.field) ? FIELD_OF[e.field] : undefined;
        if (f) out.add(f);
    }
    return [...out];
}

/** The listing page's field errors from its reserve_error query parameter ("check_in,guests"). */
export function stayErrorsFromQuery(value: string | undefined): Partial<Record<StayField, string>> {
    const out: Partial<Record<StayField, string>> = {};
    for (const f of (value ?? '').split(',')) {
        if (Object.hasOwn(STAY_ERROR_TEXT, f)) out[f as StayField] = STAY_ERROR_TEXT[f as StayField];
    }
    return out;
}
