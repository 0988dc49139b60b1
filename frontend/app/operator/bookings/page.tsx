import type { Metadata } from 'next';
import Link from 'next/link';
import { CompleteButton } from '@/components/operator/CompleteButton';
import { canMarkCheckedOut, todayIn } from '@/components/operator/forms';
import { Forbidden, isUuid, operatorContext } from '@/components/operator/guard';
import { BOOKING_STATUS_TEXT } from '@/lib/booking-status';
import { buildQuery, describeError, operatorApi, type Listing, type OperatorBooking, type Page } from '@/lib/api';
import { formatDay } from '@/lib/dates';
import { formatMoney } from '@/lib/money';

export const metadata: Metadata = { title: 'Bookings' };

type Query = Promise<Record<string, string | string[] | undefined>>;

const STATUSES = ['confirmed', 'pending_payment', 'payment_failed', 'completed', 'cancelled', 'expired'];

async function allListings(token: string): Promise<Listing[]> {
    const out: Listing[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 5; i++) {
        const page = await operatorApi.listings(token, { limit: 100, cursor });
        out.push(...page.items);
        if (!page.next_cursor) break;
        cursor = page.next_cursor;
    }
    return out;
}

export default async function OperatorBookingsPage({ searchParams }: { searchParams: Query }) {
    const sp = await searchParams;
    const one = (k: string) => (typeof sp[k] === 'string' && sp[k] ? (sp[k] as string) : undefined);
    const listingId = one('listing_id') && isUuid(one('listing_id')!) ? one('listing_id') : undefined;
    const status = STATUSES.includes(one('status') ?? '') ? one('status') : undefined;
    const cursor = one('cursor');
    const ctx = await operatorContext(`/operator/bookings${buildQuery({ listing_id: listingId, status })}`);
    if (!ctx) return <Forbidden />;

    let listings: Listing[] = [];
    let page: Page<OperatorBooking> | null = null;
    let error: string | null = null;
    try {
        [listings, page] = await Promise.all([allListings(ctx.token), operatorApi.bookings(ctx.token, { listing_id: listingId, status, cursor, limit: 25 })]);
    } catch (err) {
        error = describeError(err);
    }
    const byId = new Map(listings.map((l) => [l.id, l]));
    const now = new Date();
    const filters = buildQuery({ listing_id: listingId, status });

    return (
        <div className="container op-page">
            <h1>Bookings</h1>
            <form method="get" action="/operator/bookings" className="op-actions" aria-label="Filter bookings" style={{ alignItems: 'end', marginBottom: '1rem' }}>
                <div className="field" style={{ margin: 0 }}>
                    <label htmlFor="f-listing">Listing</label>
                    <select id="f-listing" name="listing_id" defaultValue={listingId ?? ''}>
                        <option value="">All listings</option>
                        {listings.map((l) => (
                            <option key={l.id} value={l.id}>
                                {l.title}
                            </option>
                        ))}
                    </select>
                </div>
                <div className="field" style={{ margin: 0 }}>
                    <label htmlFor="f-status">Status</label>
                    <select id="f-status" name="status" defaultValue={status ?? ''}>
                        <option value="">Any status</option>
                        {STATUSES.map((s) => (
                            <option key={s} value={s}>
                                {BOOKING_STATUS_TEXT[s]}
                            </option>
                        ))}
                    </select>
                </div>
                <button type="submit" className="button button-quiet">
                    Show
                </button>
            </form>
            {error && (
                <div className="alert alert-error" role="alert">
                    {error}
                </div>
            )}
            {page && page.items.length === 0 && (
                <div className="empty">
                    <p>{filters ? 'No bookings match these filters.' : 'No bookings yet. They appear here as soon as a traveller reserves.'}</p>
                </div>
            )}
            {page && page.items.length > 0 && (
                <table className="op-table" data-testid="operator-bookings">
                    <caption className="visually-hidden">Bookings on your listings, newest first</caption>
                    <thead>
                        <tr>
                            <th scope="col">Reference</th>
                            <th scope="col">Guest</th>
                            <th scope="col">Listing</th>
                            <th scope="col">Dates</th>
                            <th scope="col">Status</th>
                            <th scope="col" className="num">Total</th>
                            <th scope="col">Action</th>
                        </tr>
                    </thead>
                    <tbody>
                        {page.items.map((b) => {
                            const tz = byId.get(b.listing_id)?.timezone ?? 'UTC';
                            return (
                                <tr key={b.id} data-reference={b.reference}>
                                    <td data-label="Reference">
                                        <strong>{b.reference}</strong>
                                    </td>
                                    <td data-label="Guest">
                                        {b.guest.name}
                                        <br />
                                        <a href={`mailto:${b.guest.email}`}>{b.guest.email}</a>
                                        {b.note && <div className="muted">“{b.note}”</div>}
                                    </td>
                                    <td data-label="Listing">
                                        <Link href={`/operator/listings/${b.listing_id}`}>{b.listing_title}</Link>
                                    </td>
                                    <td data-label="Dates">
                                        {formatDay(b.check_in)} to {formatDay(b.check_out)}
                                        <div className="muted">
                                            {b.nights} {b.nights === 1 ? 'night' : 'nights'} · {b.guests} {b.guests === 1 ? 'guest' : 'guests'}
                                            {b.quantity > 1 ? ` · ${b.quantity} units` : ''}
                                        </div>
                                    </td>
                                    <td data-label="Status">
                                        <span className={`badge status-${b.status}`}>{BOOKING_STATUS_TEXT[b.status] ?? b.status}</span>
                                    </td>
                                    <td data-label="Total" className="num">
                                        {formatMoney(b.total)}
                                        {b.refund && <div className="muted">refunded {formatMoney(b.refund)}</div>}
                                    </td>
                                    <td data-label="Action">
                                        {canMarkCheckedOut(b, todayIn(tz, now)) ? (
                                            <CompleteButton bookingId={b.id} reference={b.reference} />
                                        ) : b.status === 'confirmed' ? (
                                            <span className="muted">From {formatDay(b.check_in)}</span>
                                        ) : null}
                                    </td>
                                </tr>
                            );
                        })}
                    </tbody>
                </table>
            )}
            <nav aria-label="Pages" className="op-actions pager">
                {cursor && (
                    <Link href={`/operator/bookings${filters}`} className="button button-quiet">
                        Newest bookings
                    </Link>
                )}
                {page?.next_cursor && (
                    <Link
                        href={`/operator/bookings${buildQuery({ listing_id: listingId, status, cursor: page.next_cursor })}`}
                        className="button button-quiet"
                    >
                        Older bookings
                    </Link>
                )}
            </nav>
        </div>
    );
}
