'use server';
// The operator's changes as server actions: plain forms post here (they work
// without JavaScript), the token stays in its httpOnly cookie, and each action
// revalidates the pages that show what it changed.
import { revalidatePath } from 'next/cache';
import { redirect } from 'next/navigation';
import { ApiError, describeError, operatorApi, type Listing } from '@/lib/api';
import { accessToken } from '@/lib/auth';
import type { FormState } from '@/lib/forms';
import {
    CALENDAR_FIELDS, checkCalendarRange, LISTING_FIELDS, listingBody, mapFieldErrors, priceToMinor, todayIn,
    UNIT_FIELDS, wholeNumber, type ListingValues,
} from '@/components/operator/forms';

function text(form: FormData, name: string): string {
    const v = form.get(name);
    return typeof v === 'string' ? v : '';
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function operatorToken(back: string): Promise<string> {
    const token = await accessToken();
    if (!token) redirect(`/login?next=${encodeURIComponent(back)}`);
    return token;
}

/** A failed call as form state: 422 field errors at their fields, anything else as one sentence. */
function failure(err: unknown, fields: readonly string[], values?: Record<string, string>, messages: Record<string, string> = {}): FormState {
    if (err instanceof ApiError) {
        if (err.status === 401) return { errors: {}, message: 'Your session has ended. Please log in again.', values };
        if (err.status === 403) return { errors: {}, message: 'Only operators can do this. Log in with your operator account.', values };
        const custom = messages[err.code];
        if (custom) return { errors: {}, message: custom, values };
        if (err.status === 422 && err.fieldErrors.length) {
            const { byField, other } = mapFieldErrors(err.fieldErrors, fields);
            const message = other.length ? `Please check the highlighted fields. ${other.join(' ')}` : 'Please check the highlighted fields.';
            return { errors: byField, message, values };
        }
    }
    return { errors: {}, message: describeError(err), values };
}

function listingValues(form: FormData): ListingValues {
    const v = {} as ListingValues;
    for (const f of LISTING_FIELDS) v[f] = text(form, f);
    return v;
}

export async function createListing(_prev: FormState, form: FormData): Promise<FormState> {
    const token = await operatorToken('/operator/listings/new');
    const values = listingValues(form);
    const parsed = listingBody(values, 'create');
    if ('errors' in parsed) return { errors: parsed.errors, message: 'Please check the highlighted fields.', values };
    let listing: Listing;
    try {
        listing = await operatorApi.createListing(token, parsed.body);
    } catch (err) {
        return failure(err, LISTING_FIELDS, values);
    }
    revalidatePath('/operator');
    redirect(`/operator/listings/${listing.id}?created=1`);
}

export async function updateListing(_prev: FormState, form: FormData): Promise<FormState> {
    const id = text(form, 'listing_id');
    const token = await operatorToken(`/operator/listings/${id}/edit`);
    const values = listingValues(form);
    if (!UUID_RE.test(id)) return { errors: {}, message: 'We could not find that listing.', values };
    const parsed = listingBody(values, 'update');
    if ('errors' in parsed) return { errors: parsed.errors, message: 'Please check the highlighted fields.', values };
    try {
        await operatorApi.updateListing(token, id, parsed.body);
    } catch (err) {
        return failure(err, LISTING_FIELDS, values, { not_found: 'We could not find that listing among yours.' });
    }
    revalidatePath('/operator');
    revalidatePath(`/operator/listings/${id}`);
    redirect(`/operator/listings/${id}?saved=1`);
}

export async function archiveListing(form: FormData): Promise<void> {
    const id = text(form, 'listing_id');
    const token = await operatorToken(`/operator/listings/${id}`);
    if (!UUID_RE.test(id)) redirect('/operator');
    try {
        await operatorApi.archiveListing(token, id);
    } catch (err) {
        const code = err instanceof ApiError ? err.code : 'internal_error';
        redirect(`/operator/listings/${id}?error=${encodeURIComponent(code)}`);
    }
    revalidatePath('/operator');
    redirect(`/operator/listings/${id}?archived=1`);
}

export async function addUnit(_prev: FormState, form: FormData): Promise<FormState> {
    const listingId = text(form, 'listing_id');
    const token = await operatorToken(`/operator/listings/${listingId}`);
    const currency = text(form, 'currency');
    const values: Record<string, string> = {};
    for (const f of UNIT_FIELDS) values[f] = text(form, f);
    const errors: Record<string, string> = {};
    if (!values.name.trim()) errors.name = 'Enter a name, such as "Double room".';
    const guests = wholeNumber(values.max_guests, 1, 50, 'the number of guests');
    const quantity = wholeNumber(values.quantity, 0, 1000, 'the quantity');
    const price = priceToMinor(values.base_price, currency);
    if ('error' in guests) errors.max_guests = guests.error;
    if ('error' in quantity) errors.quantity = quantity.error;
    if ('error' in price) errors.base_price = price.error;
    if (Object.keys(errors).length || 'error' in guests || 'error' in quantity || 'error' in price) {
        return { errors, message: 'Please check the highlighted fields.', values };
    }
    try {
        await operatorApi.createUnit(token, listingId, {
            name: values.name.trim(),
            description: values.description.trim() || undefined,
            max_guests: guests.value,
            quantity: quantity.value,
            base_price: { amount: price.amount, currency },
        });
    } catch (err) {
        return failure(err, UNIT_FIELDS, values);
    }
    revalidatePath(`/operator/listings/${listingId}`);
    revalidatePath('/operator');
    return { errors: {}, message: `Added “${values.name.trim()}”.` };
}

export interface CalendarState extends FormState {
    changed?: number;
}

export async function setCalendar(_prev: CalendarState, form: FormData): Promise<CalendarState> {
    const listingId = text(form, 'listing_id');
    const unitId = text(form, 'unit_id');
    const page = `/operator/listings/${listingId}/units/${unitId}/calendar`;
    const token = await operatorToken(page);
    const currency = text(form, 'currency');
    const values: Record<string, string> = {};
    for (const f of CALENDAR_FIELDS) values[f] = text(form, f);
    values.closed = form.get('closed') ? 'on' : '';
    const range = checkCalendarRange(values.from, values.to, todayIn(text(form, 'timezone') || 'UTC'));
    const errors: Record<string, string> = 'errors' in range ? { ...range.errors } : {};
    const change: { quantity?: number; price?: { amount: number; currency: string }; closed: boolean } = { closed: !!values.closed };
    if (values.price.trim()) {
        const p = priceToMinor(values.price, currency);
        if ('error' in p) errors.price = p.error;
        else change.price = { amount: p.amount, currency };
    }
    if (values.quantity.trim()) {
        const q = wholeNumber(values.quantity, 0, 1000, 'the quantity');
        if ('error' in q) errors.quantity = q.error;
        else change.quantity = q.value;
    }
    if (Object.keys(errors).length || 'errors' in range) return { errors, message: 'Please check the highlighted fields.', values };
    let changed: number;
    try {
        changed = (await operatorApi.setCalendar(token, listingId, unitId, { from: range.from, to: range.to, ...change })).items.length;
    } catch (err) {
        return failure(err, CALENDAR_FIELDS, values, {
            calendar_conflict:
                'Nothing was changed: on some of these dates more units are already held or booked than the quantity you asked for. ' +
                'Set a quantity of at least the held plus booked units shown in the table, or choose other dates.',
            not_found: 'We could not find that unit among your listings.',
        });
    }
    revalidatePath(page);
    return { errors: {}, message: `Updated ${changed} ${changed === 1 ? 'date' : 'dates'}.`, values, changed };
}

export interface RowState {
    message?: string;
    done?: boolean;
}

export async function completeBooking(_prev: RowState, form: FormData): Promise<RowState> {
    const id = text(form, 'booking_id');
    const token = await operatorToken('/operator/bookings');
    try {
        await operatorApi.completeBooking(token, id);
    } catch (err) {
        if (err instanceof ApiError && err.code === 'booking_not_completable') {
            return { message: 'This booking cannot be marked checked out: only a confirmed booking can, from its check-in date on.' };
        }
        return { message: describeError(err) };
    }
    revalidatePath('/operator/bookings');
    return { done: true };
}

export async function replyToReview(_prev: FormState, form: FormData): Promise<FormState> {
    const id = text(form, 'review_id');
    const token = await operatorToken('/operator/reviews');
    const body = text(form, 'body');
    const values = { body };
    const chars = Array.from(body.trim()).length;
    if (chars === 0) return { errors: { body: 'Write your reply first.' }, values };
    if (chars > 5000) return { errors: { body: 'A reply has at most 5000 characters.' }, values };
    try {
        await operatorApi.reply(token, id, body.trim());
    } catch (err) {
        return failure(err, ['body'], values, {
            already_replied: 'This review already has a reply; a review gets one reply.',
            not_found: 'We could not find that review on your listings.',
        });
    }
    revalidatePath('/operator/reviews');
    return { errors: {}, message: 'Your reply is posted.' };
}
