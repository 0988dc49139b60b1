import type { Metadata } from 'next';
import Link from 'next/link';
import { redirect } from 'next/navigation';
import { api, describeError, type Booking } from '@/lib/api';
import { accessToken } from '@/lib/auth';
import { formatDay, todayIso } from '@/lib/dates';
import { formatMoney } from '@/lib/money';
import { reviewedStays } from '@/lib/reviews';
import { groupTrips } from '@/lib/trips';
import '@/components/traveller.css';
import { bookingStatusText } from '@/lib/booking-status';

export const metadata: Metadata = { title: 'My trips' };


function TripList({ title, items, empty, reviewed }: { title: string; items: Booking[]; empty: string; reviewed: Set<string> }) {
    const hid = `trips-${title.toLowerCase().replace(/\W+/g, '-')}`;
    return (
        <section className="panel" aria-labelledby={hid}>
            <h2 id={hid}>{title}</h2>
            {items.length === 0 && <p className="muted">{empty}</p>}
            <ul className="trips">
                {items.map((b) => (
                    <li key={b.id} className="trip-row">
                        <div>
                            <Link href={`/bookings/${b.id}`}>{b.listing_title}</Link> · {formatDay(b.check_in)} to {formatDay(b.check_out)} ·{' '}
                            {formatMoney(b.total)} · <span className={`badge badge-${b.status}`}>{bookingStatusText(b.status)}</span>{' '}
                            <span className="muted">{b.reference}</span>
                        </div>
                        {b.status === 'completed' && (
                            <div className="trip-actions">
                                {reviewed.has(b.id) ? (
                                    <span className="badge badge-reviewed">Reviewed</span>
                                ) : (
                                    <Link href={`/trips/${b.id}/review`} className="button button-quiet" aria-label={`Write a review of ${b.listing_title}`}>
                                        Write a review
                                    </Link>
                                )}
                            </div>
                        )}
                    </li>
                ))}
            </ul>
        </section>
    );
}

type Query = Promise<Record<string, string | string[] | undefined>>;

export default async function TripsPage({ searchParams }: { searchParams: Query }) {
    const sp = await searchParams;
    const token = await accessToken();
    if (!token) redirect('/login?next=/trips');
    const all: Booking[] = [];
    let error: string | null = null;
    try {
        let cursor: string | undefined;
        for (let i = 0; i < 10; i++) {
            const page = await api.bookings(token, { limit: 100, cursor });
            all.push(...page.items);
            if (!page.next_cursor) break;
            cursor = page.next_cursor;
        }
    } catch (err) {
        error = describeError(err);
    }
    const g = groupTrips(all, todayIso());
    const reviewed = await reviewedStays(g.past);
    const justReviewed = typeof sp.reviewed === 'string' ? all.find((b) => b.id === sp.reviewed) : undefined;
    return (
        <article className="container" style={{ maxWidth: '48rem' }}>
            <h1>My trips</h1>
            {error && <div className="alert alert-error">{error}</div>}
            {justReviewed && (
                <div className="alert alert-success" role="status">
                    Thank you! Your review of {justReviewed.listing_title} is posted.{' '}
                    <Link href={`/listings/${justReviewed.listing_id}#reviews`}>See it on the listing</Link>
                </div>
            )}
            <TripList title="Upcoming" items={g.upcoming} empty="No upcoming trips. Time to plan one?" reviewed={reviewed} />
            <TripList title="Past" items={g.past} empty="No past trips yet." reviewed={reviewed} />
            <TripList title="Cancelled and expired" items={g.cancelled} empty="None." reviewed={reviewed} />
        </article>
    );
}
