'use server';
// Reserve, pay and cancel as server actions. Reserve and pay carry an
// Idempotency-Key made once per form render (a hidden field), so a double
// submit replays the first answer instead of booking or charging twice.
import { redirect } from 'next/navigation';
import { api, ApiError, describeError } from '@/lib/api';
import { accessToken } from '@/lib/auth';
import { cardDigits, checkCard } from '@/lib/card';
import type { FormState } from '@/lib/forms';
import { reserveErrorFields } from '@/lib/stay-errors';

function text(form: FormData, name: string): string {
    const v = form.get(name);
    return typeof v === 'string' ? v : '';
}

function failure(err: unknown, values?: Record<string, string>): FormState {
    const nextKey = crypto.randomUUID();
    if (err instanceof ApiError) return { errors: err.byField(), message: describeError(err), values, nextKey };
    return { errors: {}, message: describeError(err), values, nextKey };
}

export async function reserve(_prev: FormState, form: FormData): Promise<FormState> {
    const token = await accessToken();
    const listingId = text(form, 'listing_id');
    const back = `/listings/${listingId}?check_in=${text(form, 'check_in')}&check_out=${text(form, 'check_out')}&guests=${text(form, 'guests')}`;
    if (!token) redirect(`/login?next=${encodeURIComponent(back)}`);
    const key = text(form, 'idempotency_key');
    let id: string;
    try {
        const b = await api.createBooking(token, key, {
            listing_id: listingId,
            unit_id: text(form, 'unit_id'),
            check_in: text(form, 'check_in'),
            check_out: text(form, 'check_out'),
            guests: Number(text(form, 'guests')) || 1,
            quantity: Number(text(form, 'quantity')) || 1,
        });
        id = b.id;
    } catch (err) {
        if (err instanceof ApiError && err.status === 401) redirect(`/login?next=${encodeURIComponent(back)}`);
        // A 422 about the stay goes back to the listing page, which shows it next to the date or guests field
        // (by field name only: the page words it, so the URL carries no text).
        const fields = err instanceof ApiError ? reserveErrorFields(err) : [];
        if (fields.length) redirect(`${back}&reserve_error=${fields.join(',')}#dates`);
        return failure(err);
    }
    redirect(`/bookings/${id}`);
}

export interface PayState extends FormState {
    paid?: boolean;
}

export async function pay(_prev: PayState, form: FormData): Promise<PayState> {
    const token = await accessToken();
    const bookingId = text(form, 'booking_id');
    if (!token) redirect(`/login?next=${encodeURIComponent(`/bookings/${bookingId}`)}`);
    const card = { number: text(form, 'number'), exp_month: text(form, 'exp_month'), exp_year: text(form, 'exp_year'), cvc: text(form, 'cvc') };
    const values = { exp_month: card.exp_month, exp_year: card.exp_year };
    const errors = checkCard(card);
    if (Object.keys(errors).length) return { errors, message: 'Please check the highlighted fields.', values };
    let year = Number(card.exp_year);
    if (year < 100) year += 2000;
    try {
        const p = await api.pay(token, text(form, 'idempotency_key'), {
            booking_id: bookingId,
            card: { number: cardDigits(card.number), exp_month: Number(card.exp_month), exp_year: year, cvc: card.cvc.trim() },
        });
        if (p.status !== 'succeeded') {
            const msg =
                p.failure_code === 'insufficient_funds'
                    ? 'The card was declined for insufficient funds. Try another card.'
                    : 'The card was declined. Try another card.';
            return { errors: {}, message: msg, values, nextKey: crypto.randomUUID() };
        }
    } catch (err) {
        return failure(err, values);
    }
    return { errors: {}, paid: true };
}

export interface CancelState {
    message?: string;
    cancelled?: boolean;
}

export async function cancelBooking(_prev: CancelState, form: FormData): Promise<CancelState> {
    const token = await accessToken();
    const bookingId = text(form, 'booking_id');
    if (!token) redirect(`/login?next=${encodeURIComponent(`/bookings/${bookingId}`)}`);
    try {
        await api.cancelBooking(token, bookingId);
    } catch (err) {
        return { message: describeError(err) };
    }
    redirect(`/bookings/${bookingId}?cancelled=1`);
}
