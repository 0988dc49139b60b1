// Reviews in the web app: the checks a review passes before it is sent (the
// review service's 422 rules, docs/conventions.md "Reviews"), the summary
// histogram in words, and which of a traveller's stays are already reviewed.

import { api, ApiError, describeError } from './api';
import type { FieldErrors } from './forms';

export const TITLE_MAX = 120;
export const BODY_MAX = 5000;

/** The review service trims ASCII whitespace only (not Unicode spaces): so do we, so that counts agree. */
export function trimAscii(s: string): string {
    return s.replace(/^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g, '');
}

/** A textarea posts line breaks as CRLF; one break is one character to a person, so it is sent as LF. */
export function normaliseBreaks(s: string): string {
    return s.replace(/\r\n?/g, '\n');
}

/** Characters as the service counts them: Unicode code points, after trimming. */
export function charCount(s: string): number {
    return Array.from(trimAscii(normaliseBreaks(s))).length;
}

export interface ReviewInput {
    rating: string;
    title: string;
    body: string;
}

/** Field errors keyed like the API's (rating, title, body); empty when the review can be sent. */
export function validateReview(input: ReviewInput): FieldErrors {
    const errors: FieldErrors = {};
    if (!/^[1-5]$/.test(input.rating.trim())) errors.rating = 'Choose a rating from 1 to 5 stars.';
    const title = trimAscii(input.title);
    const titleLen = Array.from(title).length;
    if (titleLen === 0) errors.title = 'Give your review a title.';
    else if (titleLen > TITLE_MAX) errors.title = `Use at most ${TITLE_MAX} characters (now ${titleLen}).`;
    else if (/[\u0000-\u001f\u007f]/.test(title)) errors.title = 'A title is one line of text.';
    const body = trimAscii(normaliseBreaks(input.body));
    const bodyLen = Array.from(body).length;
    if (bodyLen === 0) errors.body = 'Tell other guests about your stay.';
    else if (bodyLen > BODY_MAX) errors.body = `Use at most ${BODY_MAX} characters (now ${bodyLen}).`;
    else if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(body)) errors.body = 'Remove the special control characters.';
    return errors;
}

export type Histogram = Record<'1' | '2' | '3' | '4' | '5', number>;

export interface HistogramRow {
    stars: 1 | 2 | 3 | 4 | 5;
    count: number;
    /** Share of all reviews, whole percent (rounded to nearest), 0 when there are none. */
    percent: number;
    /** What a screen reader says for the row, e.g. "5 stars: 3 reviews (60%)". */
    label: string;
}

/** The histogram's rows from five stars down to one, each with its share and a sentence. */
export function histogramRows(histogram: Partial<Histogram>, count: number): HistogramRow[] {
    return ([5, 4, 3, 2, 1] as const).map((stars) => {
        const n = histogram[String(stars) as keyof Histogram] ?? 0;
        const percent = count > 0 ? Math.round((n * 100) / count) : 0;
        const label = `${stars} ${stars === 1 ? 'star' : 'stars'}: ${n} ${n === 1 ? 'review' : 'reviews'} (${percent}%)`;
        return { stars, count: n, percent, label };
    });
}

/** "4.5 out of 5" with one decimal, as the API rounds it; "No rating yet" when there is none. */
export function averageText(average: number | null): string {
    return average === null ? 'No rating yet' : `${average.toFixed(1)} out of 5`;
}

interface ReviewLike {
    booking_id: string;
    created_at: string;
}

interface PageLike<T> {
    items: T[];
    next_cursor: string | null;
}

/**
 * The ids of `bookingIds` that have a review on one listing. The API has no
 * "reviewed" flag on a booking, so this reads the listing's reviews newest
 * first and stops at the first review older than `since` (a booking can only
 * be reviewed once completed, so nothing older can be one of its reviews) or
 * after `maxPages` pages. A hidden review is not listed: its stay shows as not
 * reviewed, and posting again answers already_reviewed.
 */
export async function findReviewed(
    bookingIds: readonly string[],
    since: string,
    fetchPage: (cursor: string | undefined) => Promise<PageLike<ReviewLike>>,
    maxPages = 5,
): Promise<Set<string>> {
    const wanted = new Set(bookingIds);
    const found = new Set<string>();
    // A second of slack: both timestamps are written to the second.
    const sinceMs = Date.parse(since) - 1000;
    let cursor: string | undefined;
    for (let i = 0; i < maxPages && found.size < wanted.size; i++) {
        const page = await fetchPage(cursor);
        let older = false;
        for (const r of page.items) {
            if (wanted.has(r.booking_id)) found.add(r.booking_id);
            if (Date.parse(r.created_at) < sinceMs) older = true;
        }
        if (older || !page.next_cursor) break;
        cursor = page.next_cursor;
    }
    return found;
}

/** The sentence shown above the review form for an answer of the review service. */
export function reviewFailureMessage(err: unknown): string {
    if (err instanceof ApiError) {
        if (err.code === 'not_eligible') {
            return 'This stay cannot be reviewed yet: a review is possible for your own stays once the host has marked them checked out (or the day after check-out).';
        }
        if (err.code === 'already_reviewed') return 'You have already reviewed this stay. Thank you!';
        if (err.code === 'validation_failed') return 'Please check the highlighted fields.';
    }
    return describeError(err);
}

interface StayLike {
    id: string;
    listing_id: string;
    status: string;
    updated_at: string;
}

/**
 * Which of a traveller's completed stays already have a review, one scan per
 * listing (see findReviewed). A listing whose reviews cannot be read counts as
 * not reviewed: the form then says so if the stay was.
 */
export async function reviewedStays(bookings: readonly StayLike[]): Promise<Set<string>> {
    const byListing = new Map<string, StayLike[]>();
    for (const b of bookings) {
        if (b.status !== 'completed') continue;
        byListing.set(b.listing_id, [...(byListing.get(b.listing_id) ?? []), b]);
    }
    const sets = await Promise.all(
        [...byListing].map(([listingId, stays]) => {
            const since = stays.reduce((min, b) => (b.updated_at < min ? b.updated_at : min), stays[0].updated_at);
            return findReviewed(stays.map((b) => b.id), since, (cursor) => api.reviews(listingId, { sort: 'newest', limit: 100, cursor }))
                .catch(() => new Set<string>());
        }),
    );
    return new Set(sets.flatMap((s) => [...s]));
}
