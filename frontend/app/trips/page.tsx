import type { Metadata } from 'next';
import Link from 'next/link';
import { redirect } from 'next/navigation';
import { api, describeError, type Booking } from '@/lib/api';
import { accessToken } from '@/lib/auth';
import { formatDay, todayIso } from '@/lib/dates';
import { formatMoney } from '@/lib/money';
import { groupTrips } from '@/lib/trips';

export const metadata: Metadata = { title: 'My trips' };

const STATUS_TEXT: Record<string, string> = {
    pending_payment: 'Awaiting payment',
    payment_failed: 'Payment failed',
    confirmed: 'Confirmed',
    expired: 'Expired',
    cancelled: 'Cancelled',
    completed: 'Completed',
};

function TripList({ title, items, empty }: { title: string; items: Booking[]; empty: string }) {
    const hid = `trips-${title.toLowerCase().replace(/\W+/g, '-')}`;
    return (
        <section className="panel" aria-labelledby={hid}>
            <h2 id={hid}>{title}</h2>
            {items.length === 0 && <p className="muted">{empty}</p>}
            <ul className="trips">
                {items.map((b) => (
                    <li key={b.id}>
                        <Link href={`/bookings/${b.id}`}>{b.listing_title}</Link> · {formatDay(b.check_in)} to {formatDay(b.check_out)} ·{' '}
                        {formatMoney(b.total)} · <span className="badge">{STATUS_TEXT[b.status] ?? b.status}</span>{' '}
                        <span className="muted">{b.reference}</span>
                    </li>
                ))}
            </ul>
        </section>
    );
}

export default async function TripsPage() {
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
    return (
        <article className="container" style={{ maxWidth: '48rem' }}>
            <h1>My trips</h1>
            {error && <div className="alert alert-error">{error}</div>}
            <TripList title="Upcoming" items={g.upcoming} empty="No upcoming trips. Time to plan one?" />
            <TripList title="Past" items={g.past} empty="No past trips yet." />
            <TripList title="Cancelled and expired" items={g.cancelled} empty="None." />
        </article>
    );
}
