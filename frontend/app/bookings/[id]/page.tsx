import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound, redirect } from 'next/navigation';
import { CancelForm, HoldCountdown, PayForm } from '@/components/BookingForms';
import { api, ApiError, type Booking } from '@/lib/api';
import { accessToken } from '@/lib/auth';
import { formatDay, formatTimestamp } from '@/lib/dates';
import { formatMoney } from '@/lib/money';
import { reviewedStays } from '@/lib/reviews';
import '@/components/traveller.css';
import { bookingStatusText } from '@/lib/booking-status';

export const metadata: Metadata = { title: 'Your booking' };

type Params = Promise<{ id: string }>;
type Query = Promise<Record<string, string | string[] | undefined>>;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;


export default async function BookingPage({ params, searchParams }: { params: Params; searchParams: Query }) {
    const { id } = await params;
    const sp = await searchParams;
    if (!UUID_RE.test(id)) notFound();
    const token = await accessToken();
    if (!token) redirect(`/login?next=${encodeURIComponent(`/bookings/${id}`)}`);
    let b: Booking;
    try {
        b = await api.booking(token, id);
    } catch (err) {
        if (err instanceof ApiError && (err.status === 404 || err.status === 403)) notFound();
        if (err instanceof ApiError && err.status === 401) redirect(`/login?next=${encodeURIComponent(`/bookings/${id}`)}`);
        throw err;
    }
    const payable = (b.status === 'pending_payment' || b.status === 'payment_failed') && b.hold_expires_at !== null && Date.parse(b.hold_expires_at) > Date.now();
    const cancellable = b.status === 'pending_payment' || b.status === 'payment_failed' || b.status === 'confirmed';
    const refund = (b as Booking & { refund?: { amount: number; currency: string } }).refund;
    const policy = b.cancellation_policy;
    const reviewed = b.status === 'completed' && (await reviewedStays([b])).has(b.id);

    return (
        <article className="container" style={{ maxWidth: '44rem' }}>
            <p>
                <Link href="/trips">← My trips</Link>
            </p>
            <h1 style={{ marginBottom: '.25rem' }}>{b.listing_title}</h1>
            <p className="muted" style={{ marginTop: 0 }}>
                Booking {b.reference} · <span className="badge" data-testid="booking-status">{bookingStatusText(b.status)}</span>
            </p>
            {sp.cancelled && b.status === 'cancelled' && (
                <div className="alert alert-success" role="status">
                    Your booking is cancelled.{refund ? ` You will be refunded ${formatMoney(refund)}.` : ''}
                </div>
            )}
            {b.status === 'confirmed' && !sp.cancelled && (
                <div className="alert alert-success" role="status">
                    <strong>Confirmed</strong>. Your booking is confirmed; the confirmation is in your email and in your notifications.
                </div>
            )}
            {b.status === 'expired' && <div className="alert alert-error">This hold expired before payment and the room went back on sale. Please book again.</div>}
            <section className="panel" aria-labelledby="stay">
                <h2 id="stay">Your stay</h2>
                <p>
                    {formatDay(b.check_in)} to {formatDay(b.check_out)} · {b.nights} {b.nights === 1 ? 'night' : 'nights'} · {b.guests}{' '}
                    {b.guests === 1 ? 'guest' : 'guests'}
                    {b.quantity > 1 ? ` · ${b.quantity} units` : ''}
                </p>
                <ul className="breakdown" aria-label="Price breakdown">
                    {b.price_breakdown.map((d) => (
                        <li key={d.date}>
                            <span>{formatDay(d.date)}</span>
                            <span>{formatMoney(d.price)}</span>
                        </li>
                    ))}
                    <li>
                        <strong>Total</strong>
                        <strong data-testid="booking-total">{formatMoney(b.total)}</strong>
                    </li>
                </ul>
                <h3>Cancellation policy</h3>
                <p>
                    {policy.free_cancellation_hours > 0 || policy.refund_percent_after === 100
                        ? `Free cancellation up to ${policy.free_cancellation_hours} hours before check-in`
                        : 'No free cancellation'}
                    {b.free_cancellation_until ? ` (until ${formatTimestamp(b.free_cancellation_until)})` : ''}; after that, {policy.refund_percent_after}% is
                    refunded.
                </p>
            </section>
            {payable && (
                <section className="panel" aria-labelledby="pay-heading">
                    <h2 id="pay-heading">Pay</h2>
                    {b.status === 'payment_failed' && <div className="alert alert-error">The last payment attempt failed. You can try another card.</div>}
                    {b.hold_expires_at && <HoldCountdown expiresAt={b.hold_expires_at} />}
                    <PayForm bookingId={b.id} idempotencyKey={crypto.randomUUID()} amount={formatMoney(b.total)} status={b.status} />
                </section>
            )}
            {!payable && (b.status === 'pending_payment' || b.status === 'payment_failed') && (
                <div className="alert alert-error">Your hold has expired and the room is back on sale. Please book again.</div>
            )}
            {b.status === 'completed' && (
                <section className="panel" aria-labelledby="review-heading">
                    <h2 id="review-heading">Your review</h2>
                    {reviewed ? (
                        <p>
                            <span className="badge">Reviewed</span> Thank you! <Link href={`/listings/${b.listing_id}#reviews`}>See it on the listing</Link>
                        </p>
                    ) : (
                        <p>
                            How was your stay? <Link href={`/trips/${b.id}/review`} className="button button-primary">Write a review</Link>
                        </p>
                    )}
                </section>
            )}
            {cancellable && (
                <section className="panel" aria-labelledby="cancel-heading">
                    <h2 id="cancel-heading">Cancel</h2>
                    <CancelForm bookingId={b.id} refund={formatMoney(b.refund_if_cancelled)} />
                </section>
            )}
        </article>
    );
}
