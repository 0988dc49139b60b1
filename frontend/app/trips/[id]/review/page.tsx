import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound, redirect } from 'next/navigation';
import { ReviewForm } from '@/components/ReviewForm';
import { api, ApiError, type Booking } from '@/lib/api';
import { accessToken } from '@/lib/auth';
import { formatDay } from '@/lib/dates';
import { reviewedStays } from '@/lib/reviews';
import '@/components/traveller.css';

export const metadata: Metadata = { title: 'Write a review' };

type Params = Promise<{ id: string }>;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export default async function WriteReviewPage({ params }: { params: Params }) {
    const { id } = await params;
    if (!UUID_RE.test(id)) notFound();
    const here = `/trips/${id}/review`;
    const token = await accessToken();
    if (!token) redirect(`/login?next=${encodeURIComponent(here)}`);
    let b: Booking;
    try {
        b = await api.booking(token, id);
    } catch (err) {
        if (err instanceof ApiError && (err.status === 404 || err.status === 403)) notFound();
        if (err instanceof ApiError && err.status === 401) redirect(`/login?next=${encodeURIComponent(here)}`);
        throw err;
    }
    const reviewed = b.status === 'completed' && (await reviewedStays([b])).has(b.id);

    return (
        <article className="container" style={{ maxWidth: '40rem' }}>
            <p>
                <Link href="/trips">← My trips</Link>
            </p>
            <h1 style={{ marginBottom: '.25rem' }}>Review your stay</h1>
            <p className="muted review-context">
                <Link href={`/listings/${b.listing_id}`}>{b.listing_title}</Link> · {formatDay(b.check_in)} to {formatDay(b.check_out)} · booking{' '}
                {b.reference}
            </p>
            {b.status !== 'completed' ? (
                <div className="alert alert-info">
                    {b.status === 'confirmed'
                        ? 'You can review this stay once it is over: when the host marks you checked out, or the day after check-out.'
                        : 'Only completed stays can be reviewed.'}
                </div>
            ) : reviewed ? (
                <div className="alert alert-info">
                    You have already reviewed this stay. Thank you! <Link href={`/listings/${b.listing_id}#reviews`}>See the reviews</Link>
                </div>
            ) : (
                <section className="panel">
                    <p className="muted" style={{ marginTop: 0 }}>
                        Your review is shown with your name as on the booking ({b.guest.name}). Be honest and helpful to other guests.
                    </p>
                    <ReviewForm bookingId={b.id} listingId={b.listing_id} />
                </section>
            )}
        </article>
    );
}
