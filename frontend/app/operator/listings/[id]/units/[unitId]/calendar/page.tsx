import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { calendarRows, type CalendarRow } from '@/components/operator/calendar';
import { CalendarForm } from '@/components/operator/CalendarForm';
import { CALENDAR_DAYS_AHEAD, todayIn } from '@/components/operator/forms';
import { Forbidden, isUuid, operatorContext, ownListing } from '@/components/operator/guard';
import { api, describeError, operatorApi, type OperatorBooking } from '@/lib/api';
import { addDays, formatDay, parseDate } from '@/lib/dates';
import { formatMoney } from '@/lib/money';

export const metadata: Metadata = { title: 'Calendar' };

type Params = Promise<{ id: string; unitId: string }>;
type Query = Promise<Record<string, string | string[] | undefined>>;

const WEEKS = 8;
const MAX_BOOKING_PAGES = 10;

/** The listing's bookings that may occupy dates in [from, to): newest first, at most 1000. */
async function bookingsOn(token: string, listingId: string): Promise<OperatorBooking[]> {
    const out: OperatorBooking[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < MAX_BOOKING_PAGES; i++) {
        const page = await operatorApi.bookings(token, { listing_id: listingId, limit: 100, cursor });
        out.push(...page.items);
        if (!page.next_cursor) break;
        cursor = page.next_cursor;
    }
    return out;
}

export default async function CalendarPage({ params, searchParams }: { params: Params; searchParams: Query }) {
    const { id, unitId } = await params;
    const path = `/operator/listings/${id}/units/${unitId}/calendar`;
    const ctx = await operatorContext(path);
    if (!ctx) return <Forbidden />;
    if (!isUuid(unitId)) notFound();
    const l = await ownListing(id, ctx.user.id);
    const unit = l.units.find((u) => u.id === unitId);
    if (!unit) notFound();
    const sp = await searchParams;
    const today = todayIn(l.timezone);
    const last = addDays(today, CALENDAR_DAYS_AHEAD);
    const asked = typeof sp.from === 'string' && parseDate(sp.from) !== null ? sp.from : today;
    const from = asked < today ? today : asked > last ? last : asked;
    const span = WEEKS * 7;
    const to = addDays(from, span) > addDays(last, 1) ? addDays(last, 1) : addDays(from, span);

    let rows: CalendarRow[] = [];
    let error: string | null = null;
    try {
        const [avail, bookings] = await Promise.all([api.availability(l.id, from, to, unit.id), bookingsOn(ctx.token, l.id)]);
        rows = calendarRows(avail.items, bookings, unit.id);
    } catch (err) {
        error = describeError(err);
    }
    const earlier = from > today ? (addDays(from, -span) < today ? today : addDays(from, -span)) : null;
    const later = to <= last ? to : null;

    return (
        <div className="container op-page">
            <p>
                <Link href={`/operator/listings/${l.id}`}>← {l.title}</Link>
            </p>
            <h1>Calendar: {unit.name}</h1>
            <p className="muted">
                {l.title} · base price {formatMoney(unit.base_price)} · {unit.quantity} to sell per date by default · dates in {l.timezone} (today is{' '}
                {formatDay(today)})
            </p>
            <CalendarForm
                listingId={l.id}
                unitId={unit.id}
                currency={l.currency}
                timezone={l.timezone}
                today={today}
                defaultFrom={from}
                defaultTo={addDays(from, 6)}
            />
            <h2 id="dates-heading">
                {formatDay(from)} to {formatDay(addDays(to, -1))}
            </h2>
            {error && (
                <div className="alert alert-error" role="alert">
                    {error}
                </div>
            )}
            <nav aria-label="Weeks" className="op-actions pager">
                {earlier && (
                    <Link href={`${path}?from=${earlier}`} className="button button-quiet">
                        ← Earlier weeks
                    </Link>
                )}
                {from !== today && (
                    <Link href={path} className="button button-quiet">
                        From today
                    </Link>
                )}
                {later && (
                    <Link href={`${path}?from=${later}`} className="button button-quiet">
                        Later weeks →
                    </Link>
                )}
            </nav>
            <div className="op-scroll" tabIndex={0} role="region" aria-labelledby="dates-heading">
                <table className="op-table op-table-wide" aria-labelledby="dates-heading" data-testid="calendar">
                    <thead>
                        <tr>
                            <th scope="col">Date</th>
                            <th scope="col" className="num">Price</th>
                            <th scope="col" className="num">Quantity</th>
                            <th scope="col" className="num">Held</th>
                            <th scope="col" className="num">Booked</th>
                            <th scope="col" className="num">Left to sell</th>
                            <th scope="col">Sales</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows.map((r) => {
                            const dow = new Date(`${r.date}T00:00:00Z`).getUTCDay();
                            const cls = [r.closed ? 'closed' : '', dow === 0 || dow === 6 ? 'weekend' : ''].filter(Boolean).join(' ') || undefined;
                            return (
                                <tr key={r.date} className={cls} data-date={r.date}>
                                    <th scope="row" data-label="Date" style={{ fontWeight: 'inherit' }}>
                                        {formatDay(r.date).replace(/ \d{4}$/, '')}
                                    </th>
                                    <td data-label="Price" className="num">{formatMoney(r.price)}</td>
                                    <td data-label="Quantity" className="num">{r.quantity}</td>
                                    <td data-label="Held" className="num">{r.held}</td>
                                    <td data-label="Booked" className="num">{r.booked}</td>
                                    <td data-label="Left to sell" className="num">{r.available}</td>
                                    <td data-label="Sales">{r.closed ? 'Closed' : 'Open'}</td>
                                </tr>
                            );
                        })}
                    </tbody>
                </table>
            </div>
            <p className="field-hint">
                Held: units in bookings awaiting payment (released when the 15-minute hold runs out). Booked: confirmed and completed stays. A
                date&rsquo;s quantity cannot go below its held plus booked units.
            </p>
        </div>
    );
}
