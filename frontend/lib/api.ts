// The one typed client of the Roam gateway (/api/v1, ../shared/API.md).
// Server-side only: it reads ROAM_GATEWAY_URL at run time, never a
// NEXT_PUBLIC_* variable frozen at build time.
import type { Money } from './money';

export type { Money } from './money';

export type ListingType = 'hotel' | 'apartment' | 'tour' | 'activity';

export interface Rating {
    average: number | null;
    count: number;
}

export interface SearchItem {
    id: string;
    title: string;
    type: ListingType;
    city: string;
    country: string;
    rating: Rating;
    price_from: Money | null;
    free_cancellation: boolean;
    thumbnail_url: string | null;
}

export interface Page<T> {
    items: T[];
    next_cursor: string | null;
}

export interface Suggestion {
    city: string;
    country: string;
    listings: number;
}

export interface CancellationPolicy {
    free_cancellation_hours: number;
    refund_percent_after: number;
}

export interface Unit {
    id: string;
    name: string;
    description: string | null;
    max_guests: number;
    quantity: number;
    base_price: Money;
}

export interface Listing {
    id: string;
    operator_id: string;
    title: string;
    type: ListingType;
    description: string;
    city: string;
    country: string;
    address: string | null;
    latitude: number | null;
    longitude: number | null;
    timezone: string;
    amenities: string[];
    photos: string[];
    currency: string;
    cancellation_policy: CancellationPolicy;
    rating: Rating;
    units: Unit[];
    status: 'active' | 'archived';
    created_at: string;
}

export interface AvailabilityDay {
    unit_id: string;
    date: string;
    available: number;
    price: Money;
    closed: boolean;
}

export interface Quote {
    available: boolean;
    total: Money;
    nights: { date: string; price: Money }[];
    free_cancellation_until: string | null;
}

export interface Review {
    id: string;
    listing_id: string;
    booking_id: string;
    user_id: string;
    author_name: string;
    rating: number;
    title: string;
    body: string;
    reply: { body: string; created_at: string } | null;
    created_at: string;
}

export interface ReviewPage extends Page<Review> {
    summary: { average: number | null; count: number; histogram: Record<'1' | '2' | '3' | '4' | '5', number> };
}

export type Role = 'traveller' | 'operator' | 'admin';

export interface User {
    id: string;
    email: string;
    name: string;
    role: Role;
    created_at: string;
}

export interface TokenPair {
    user: User;
    access_token: string;
    refresh_token: string;
    token_type: 'Bearer';
    expires_in: number;
}

export type BookingStatus = 'pending_payment' | 'payment_failed' | 'confirmed' | 'expired' | 'cancelled' | 'completed';

export interface Booking {
    id: string;
    reference: string;
    user_id: string;
    guest: { name: string; email: string };
    listing_id: string;
    listing_title: string;
    unit_id: string;
    check_in: string;
    check_out: string;
    nights: number;
    guests: number;
    quantity: number;
    status: BookingStatus;
    total: Money;
    price_breakdown: { date: string; price: Money }[];
    cancellation_policy: CancellationPolicy;
    free_cancellation_until: string | null;
    refund_if_cancelled: Money;
    hold_expires_at: string | null;
    created_at: string;
    updated_at: string;
}

export interface FieldError {
    field: string;
    message: string;
}

/** An RFC 9457 problem document as the gateway sends it. */
export interface Problem {
    type: string;
    title: string;
    status: number;
    detail?: string;
    code: string;
    errors?: FieldError[];
}

/** A failed call: the problem's status, stable code and field errors (422). */
export class ApiError extends Error {
    readonly status: number;
    readonly code: string;
    readonly detail: string | undefined;
    readonly fieldErrors: FieldError[];
    readonly retryAfter: number | null;

    constructor(status: number, code: string, message: string, fieldErrors: FieldError[] = [], detail?: string,
        retryAfter: number | null = null) {
        super(message);
        this.name = 'ApiError';
        this.status = status;
        this.code = code;
        this.detail = detail;
        this.fieldErrors = fieldErrors;
        this.retryAfter = retryAfter;
    }

    /** Field errors by dotted path (the first message of each field), for forms. */
    byField(): Record<string, string> {
        const out: Record<string, string> = {};
        for (const e of this.fieldErrors) {
            if (!(e.field in out)) out[e.field] = e.message;
        }
        return out;
    }
}

const FALLBACK_CODES: Record<number, string> = {
    400: 'malformed_json', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed',
    409: 'conflict', 413: 'payload_too_large', 415: 'unsupported_media_type', 422: 'validation_failed',
    429: 'rate_limited', 502: 'upstream_unavailable', 503: 'upstream_unavailable', 504: 'upstream_timeout',
};

/**
 * Maps a non-2xx answer to an ApiError. A problem+json body gives its code,
 * detail and field errors; anything else (a proxy's HTML page, an empty body)
 * still gives a usable code from the status.
 */
export function toApiError(status: number, body: unknown, retryAfterHeader: string | null = null): ApiError {
    const retryAfter = retryAfterHeader !== null && /^\d+$/.test(retryAfterHeader) ? Number(retryAfterHeader) : null;
    const fallback = FALLBACK_CODES[status] ?? (status >= 500 ? 'internal_error' : 'request_failed');
    if (body && typeof body === 'object' && !Array.isArray(body)) {
        const p = body as Partial<Problem>;
        const code = typeof p.code === 'string' && p.code ? p.code : fallback;
        const errors = Array.isArray(p.errors)
            ? p.errors
                  .filter((e): e is FieldError => !!e && typeof e.field === 'string' && typeof e.message === 'string')
                  .map((e) => ({ field: e.field, message: e.message }))
            : [];
        const detail = typeof p.detail === 'string' ? p.detail : undefined;
        const title = typeof p.title === 'string' ? p.title : `HTTP ${status}`;
        return new ApiError(status, code, detail ?? title, errors, detail, retryAfter);
    }
    return new ApiError(status, fallback, `HTTP ${status}`, [], undefined, retryAfter);
}

/** The gateway's base URL, read at run time on the server. */
export function gatewayUrl(): string {
    const url = process.env.ROAM_GATEWAY_URL || 'http://127.0.0.1:8080';
    return url.replace(/\/+$/, '');
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
    method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    query?: Query;
    body?: unknown;
    token?: string;
    headers?: Record<string, string>;
    timeoutMs?: number;
}

export function buildQuery(query: Query | undefined): string {
    if (!query) return '';
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
        if (v === undefined || v === null || v === '') continue;
        params.set(k, String(v));
    }
    const s = params.toString();
    return s ? `?${s}` : '';
}

/** Calls /api/v1{path}; resolves to the JSON body (undefined for 204) or throws ApiError. */
export async function apiRequest<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json, application/problem+json', ...options.headers };
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(options.body);
    }
    let res: Response;
    try {
        res = await fetch(`${gatewayUrl()}/api/v1${path}${buildQuery(options.query)}`, {
            method: options.method ?? 'GET',
            headers,
            body,
            cache: 'no-store',
            signal: AbortSignal.timeout(options.timeoutMs ?? 10000),
        });
    } catch (err) {
        const timedOut = err instanceof Error && err.name === 'TimeoutError';
        throw new ApiError(timedOut ? 504 : 503, timedOut ? 'upstream_timeout' : 'upstream_unavailable',
            timedOut ? 'The Roam service did not answer in time.' : 'The Roam service cannot be reached.');
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text) {
        try {
            parsed = JSON.parse(text);
        } catch {
            parsed = undefined;
        }
    }
    if (!res.ok) throw toApiError(res.status, parsed, res.headers.get('retry-after'));
    if (parsed === undefined) throw new ApiError(502, 'upstream_unavailable', 'The Roam service sent an unreadable answer.');
    return parsed as T;
}

export interface SearchParams {
    q?: string;
    city?: string;
    country?: string;
    type?: string;
    check_in?: string;
    check_out?: string;
    guests?: number;
    min_price?: number;
    max_price?: number;
    currency?: string;
    sort?: string;
    limit?: number;
    cursor?: string;
}

export const api = {
    searchListings: (params: SearchParams) => apiRequest<Page<SearchItem>>('/listings', { query: { ...params } }),
    suggest: (q: string) => apiRequest<{ items: Suggestion[] }>('/listings/suggest', { query: { q } }),
    listing: (id: string) => apiRequest<Listing>(`/listings/${encodeURIComponent(id)}`),
    availability: (id: string, from: string, to: string, unitId?: string) =>
        apiRequest<{ items: AvailabilityDay[] }>(`/listings/${encodeURIComponent(id)}/availability`, {
            query: { from, to, unit_id: unitId },
        }),
    quote: (id: string, q: { unit_id: string; check_in: string; check_out: string; guests: number; quantity?: number }) =>
        apiRequest<Quote>(`/listings/${encodeURIComponent(id)}/quote`, { query: { ...q } }),
    reviews: (id: string, query: { sort?: string; limit?: number; cursor?: string } = {}) =>
        apiRequest<ReviewPage>(`/listings/${encodeURIComponent(id)}/reviews`, { query }),
    register: (body: { email: string; password: string; name: string; role?: 'traveller' | 'operator' }) =>
        apiRequest<TokenPair>('/auth/register', { method: 'POST', body }),
    login: (body: { email: string; password: string }) => apiRequest<TokenPair>('/auth/login', { method: 'POST', body }),
    refresh: (refreshToken: string) =>
        apiRequest<TokenPair>('/auth/refresh', { method: 'POST', body: { refresh_token: refreshToken } }),
    logout: (token: string, refreshToken?: string) =>
        apiRequest<void>('/auth/logout', {
            method: 'POST',
            token,
            body: refreshToken ? { refresh_token: refreshToken } : {},
        }),
    me: (token: string) => apiRequest<User>('/auth/me', { token }),
    bookings: (token: string, query: { status?: string; limit?: number; cursor?: string } = {}) =>
        apiRequest<Page<Booking>>('/bookings', { token, query }),
    booking: (token: string, id: string) => apiRequest<Booking>(`/bookings/${encodeURIComponent(id)}`, { token }),
    createBooking: (token: string, key: string, body: { listing_id: string; unit_id: string; check_in: string; check_out: string; guests: number; quantity?: number }) =>
        apiRequest<Booking>('/bookings', { method: 'POST', token, body, headers: { 'Idempotency-Key': key } }),
    cancelBooking: (token: string, id: string) =>
        apiRequest<Booking & { refund?: Money }>(`/bookings/${encodeURIComponent(id)}/cancel`, { method: 'POST', token, body: {} }),
    notifications: (token: string, query: { unread?: boolean; limit?: number; cursor?: string } = {}) =>
        apiRequest<NotificationPage>('/notifications', { token, query }),
    markRead: (token: string, id: string) =>
        apiRequest<Notification>(`/notifications/${encodeURIComponent(id)}/read`, { method: 'POST', token, body: {} }),
    markAllRead: (token: string) => apiRequest<void>('/notifications/read-all', { method: 'POST', token, body: {} }),
    pay: (token: string, key: string, body: { booking_id: string; card: { number: string; exp_month: number; exp_year: number; cvc: string } }) =>
        apiRequest<Payment>('/payments', { method: 'POST', token, body, headers: { 'Idempotency-Key': key } }),
};

// ---- Operators: listings, units, calendar, bookings on their listings, review replies (API.md "Inventory",
// "Bookings", "Reviews"). Every call needs an operator's token; another operator's objects answer 404.

/** The body of POST /listings; PATCH takes any subset (null resets an optional member). */
export interface ListingInput {
    title: string;
    type: ListingType;
    description: string;
    city: string;
    country: string;
    timezone?: string | null;
    address?: string | null;
    latitude?: number | null;
    longitude?: number | null;
    amenities?: string[] | null;
    photos?: string[] | null;
    currency: string;
    cancellation_policy: CancellationPolicy;
}

export interface UnitInput {
    name: string;
    description?: string | null;
    max_guests: number;
    quantity: number;
    base_price: Money;
}

export interface CalendarChange {
    from: string;
    to: string;
    quantity?: number;
    price?: Money;
    closed?: boolean;
}

/** A booking as the listing's operator sees it (the traveller's note included). */
export interface OperatorBooking extends Booking {
    note?: string | null;
    refund?: Money;
}

export const operatorApi = {
    listings: (token: string, query: { limit?: number; cursor?: string } = {}) =>
        apiRequest<Page<Listing>>('/operator/listings', { token, query }),
    createListing: (token: string, body: ListingInput) => apiRequest<Listing>('/listings', { method: 'POST', token, body }),
    updateListing: (token: string, id: string, body: Partial<ListingInput>) =>
        apiRequest<Listing>(`/listings/${encodeURIComponent(id)}`, { method: 'PATCH', token, body }),
    archiveListing: (token: string, id: string) =>
        apiRequest<void>(`/listings/${encodeURIComponent(id)}`, { method: 'DELETE', token }),
    createUnit: (token: string, listingId: string, body: UnitInput) =>
        apiRequest<Unit>(`/listings/${encodeURIComponent(listingId)}/units`, { method: 'POST', token, body }),
    setCalendar: (token: string, listingId: string, unitId: string, body: CalendarChange) =>
        apiRequest<{ items: AvailabilityDay[] }>(
            `/listings/${encodeURIComponent(listingId)}/units/${encodeURIComponent(unitId)}/calendar`,
            { method: 'PUT', token, body },
        ),
    bookings: (token: string, query: { listing_id?: string; status?: string; limit?: number; cursor?: string } = {}) =>
        apiRequest<Page<OperatorBooking>>('/operator/bookings', { token, query }),
    completeBooking: (token: string, id: string) =>
        apiRequest<OperatorBooking>(`/bookings/${encodeURIComponent(id)}/complete`, { method: 'POST', token, body: {} }),
    reply: (token: string, reviewId: string, body: string) =>
        apiRequest<Review>(`/reviews/${encodeURIComponent(reviewId)}/reply`, { method: 'POST', token, body: { body } }),
};

export interface Notification {
    id: string;
    type: string;
    title: string;
    body: string;
    booking_id: string | null;
    created_at: string;
    read_at: string | null;
}

export interface NotificationPage extends Page<Notification> {
    unread_count: number;
}

export interface Payment {
    id: string;
    booking_id: string;
    status: 'succeeded' | 'failed';
    amount: Money;
    card: { brand: string; last4: string };
    failure_code?: string;
    created_at: string;
}

/** A sentence for a person, by the problem's stable code. */
export function describeError(err: unknown): string {
    if (!(err instanceof ApiError)) return 'Something went wrong on our side. Please try again in a moment.';
    switch (err.code) {
        case 'upstream_unavailable':
        case 'upstream_timeout':
        case 'internal_error':
            return 'Roam is not reachable right now. Please try again in a moment.';
        case 'rate_limited':
            return err.retryAfter
                ? `Too many attempts. Please wait ${err.retryAfter} seconds and try again.`
                : 'Too many attempts. Please wait a moment and try again.';
        case 'invalid_credentials':
            return 'That email and password do not match an account.';
        case 'email_taken':
            return 'An account with this email already exists. Log in instead?';
        case 'not_found':
            return 'We could not find that.';
        case 'sold_out':
            return 'Sorry, this is sold out for your dates. Try other dates or another room.';
        case 'booking_not_payable':
            return 'This booking can no longer be paid: its hold has expired or it is already paid.';
        case 'booking_not_cancellable':
            return 'This booking can no longer be cancelled.';
        case 'unauthorized':
            return 'Please log in to continue.';
        case 'idempotency_request_in_progress':
            return 'Your request is still being processed. Please wait a moment.';
        case 'validation_failed':
            return err.fieldErrors.length ? 'Please check the highlighted fields.' : (err.detail ?? 'Please check your input.');
        default:
            return err.detail ?? err.message;
    }
}

/** Reviews: post one for a completed stay (403 not_eligible, 409 already_reviewed, 422). */
export const reviewApi = {
    create: (token: string, listingId: string, body: { booking_id: string; rating: number; title: string; body: string }) =>
        apiRequest<Review>(`/listings/${encodeURIComponent(listingId)}/reviews`, { method: 'POST', token, body }),
};
