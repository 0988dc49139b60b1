'use server';
// Post a review of a completed stay. The form checks the same rules first;
// the review service has the last word (eligibility, one review per booking).
import { revalidatePath } from 'next/cache';
import { redirect } from 'next/navigation';
import { ApiError, reviewApi } from '@/lib/api';
import { accessToken } from '@/lib/auth';
import type { FormState } from '@/lib/forms';
import { normaliseBreaks, reviewFailureMessage, trimAscii, validateReview } from '@/lib/reviews';

function text(form: FormData, name: string): string {
    const v = form.get(name);
    return typeof v === 'string' ? v : '';
}

export async function postReview(_prev: FormState, form: FormData): Promise<FormState> {
    const bookingId = text(form, 'booking_id');
    const listingId = text(form, 'listing_id');
    const back = `/trips/${bookingId}/review`;
    const token = await accessToken();
    if (!token) redirect(`/login?next=${encodeURIComponent(back)}`);
    const input = { rating: text(form, 'rating'), title: text(form, 'title'), body: text(form, 'body') };
    const values = { rating: input.rating, title: input.title, body: input.body };
    const errors = validateReview(input);
    if (Object.keys(errors).length) return { errors, message: 'Please check the highlighted fields.', values };
    try {
        await reviewApi.create(token, listingId, {
            booking_id: bookingId,
            rating: Number(input.rating),
            title: trimAscii(input.title),
            body: trimAscii(normaliseBreaks(input.body)),
        });
    } catch (err) {
        if (err instanceof ApiError && err.status === 401) redirect(`/login?next=${encodeURIComponent(back)}`);
        return { errors: err instanceof ApiError ? err.byField() : {}, message: reviewFailureMessage(err), values };
    }
    revalidatePath(`/listings/${listingId}`);
    redirect(`/trips?reviewed=${encodeURIComponent(bookingId)}`);
}
