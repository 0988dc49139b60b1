'use client';
// A listing's reviews with "More reviews": a link to the next page (works
// without JavaScript), which with JavaScript appends the next page in place
// through the app's /listings/{id}/reviews route instead.
import { useLoadMore } from '@/lib/use-load-more';
import type { Review } from '@/lib/api';
import { formatDay } from '@/lib/dates';

interface Props {
    listingId: string;
    sort: string;
    initial: Review[];
    nextCursor: string | null;
    /** The listing page's URL (its query keeps the chosen dates and sort); the next page without JavaScript
     *  adds reviews_cursor to it. */
    pageHref: string;
}

export function ReviewItem({ r }: { r: Review }) {
    return (
        <li className="review">
            <h3 className="review-title" style={{ fontSize: '1rem', margin: 0 }}>
                <span className="review-stars" aria-hidden="true">
                    {'★'.repeat(r.rating)}
                    {'☆'.repeat(5 - r.rating)}
                </span>{' '}
                <span className="visually-hidden">
                    Rated {r.rating} out of 5:
                </span>{' '}
                {r.title}
            </h3>
            <p className="muted review-meta">
                {r.author_name} · {formatDay(r.created_at.slice(0, 10))}
            </p>
            <p style={{ whiteSpace: 'pre-line' }}>{r.body}</p>
            {r.reply && (
                <div className="reply">
                    <strong>Reply from the host</strong> <span className="muted">· {formatDay(r.reply.created_at.slice(0, 10))}</span>
                    <p style={{ whiteSpace: 'pre-line', margin: '.25rem 0 0' }}>{r.reply.body}</p>
                </div>
            )}
        </li>
    );
}

export function moreReviewsHref(pageHref: string, cursor: string): string {
    return `${pageHref}${pageHref.includes('?') ? '&' : '?'}reviews_cursor=${encodeURIComponent(cursor)}#reviews`;
}

export function ReviewList({ listingId, sort, initial, nextCursor, pageHref }: Props) {
    const { items, cursor, loading, error, more } = useLoadMore(
        initial,
        nextCursor,
        (c) => `/listings/${listingId}/reviews?sort=${encodeURIComponent(sort)}&cursor=${encodeURIComponent(c)}`,
        'More reviews cannot be loaded right now. Please try again.',
    );

    return (
        <>
            <ul className="reviews" aria-label="Reviews">
                {items.map((r) => (
                    <ReviewItem key={r.id} r={r} />
                ))}
            </ul>
            {error && (
                <p className="alert alert-error" role="alert">
                    {error}
                </p>
            )}
            {cursor && (
                <p className="reviews-more">
                    <a href={moreReviewsHref(pageHref, cursor)} onClick={more} className="button button-quiet" aria-busy={loading}>
                        {loading ? 'Loading…' : 'More reviews'}
                    </a>
                </p>
            )}
            <p className="visually-hidden" role="status">
                {items.length} {items.length === 1 ? 'review' : 'reviews'} shown
            </p>
        </>
    );
}
