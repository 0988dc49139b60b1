import type { Metadata } from 'next';
import Link from 'next/link';
import { ReplyForm } from '@/components/operator/ReplyForm';
import { Forbidden, isUuid, operatorContext } from '@/components/operator/guard';
import { api, buildQuery, describeError, operatorApi, type Listing, type ReviewPage } from '@/lib/api';
import { formatTimestamp } from '@/lib/dates';

export const metadata: Metadata = { title: 'Reviews' };

type Query = Promise<Record<string, string | string[] | undefined>>;

interface Group {
    listing: Listing;
    page: ReviewPage | null;
    error: string | null;
}

const PER_LISTING = 10;

export default async function OperatorReviewsPage({ searchParams }: { searchParams: Query }) {
    const sp = await searchParams;
    const one = (k: string) => (typeof sp[k] === 'string' && sp[k] ? (sp[k] as string) : undefined);
    const only = one('listing_id') && isUuid(one('listing_id')!) ? one('listing_id') : undefined;
    const cursor = only ? one('cursor') : undefined;
    const ctx = await operatorContext(`/operator/reviews${buildQuery({ listing_id: only })}`);
    if (!ctx) return <Forbidden />;

    let listings: Listing[] = [];
    let error: string | null = null;
    try {
        listings = (await operatorApi.listings(ctx.token, { limit: 100 })).items;
    } catch (err) {
        error = describeError(err);
    }
    if (only) listings = listings.filter((l) => l.id === only);
    const groups: Group[] = await Promise.all(
        listings.map(async (listing) => {
            try {
                return { listing, page: await api.reviews(listing.id, { limit: only ? 20 : PER_LISTING, cursor }), error: null };
            } catch (err) {
                return { listing, page: null, error: describeError(err) };
            }
        }),
    );
    const withReviews = groups.filter((g) => g.error || (g.page && g.page.items.length > 0));
    const unanswered = groups.reduce((n, g) => n + (g.page?.items.filter((r) => !r.reply).length ?? 0), 0);

    return (
        <div className="container op-page">
            <h1>Reviews</h1>
            {only && (
                <p>
                    <Link href="/operator/reviews">← All listings</Link>
                </p>
            )}
            {error && (
                <div className="alert alert-error" role="alert">
                    {error}
                </div>
            )}
            {!error && withReviews.length === 0 && (
                <div className="empty">
                    <p>No reviews yet. Guests can review a stay once it is completed.</p>
                </div>
            )}
            {unanswered > 0 && (
                <p className="muted" role="status">
                    {unanswered} {unanswered === 1 ? 'review is' : 'reviews are'} waiting for your reply.
                </p>
            )}
            {withReviews.map(({ listing, page, error: e }) => (
                <section key={listing.id} aria-labelledby={`l-${listing.id}`} className="section" style={{ paddingTop: '1rem' }}>
                    <h2 id={`l-${listing.id}`}>
                        {listing.title}{' '}
                        {page && page.summary.count > 0 && (
                            <span className="muted" style={{ fontSize: '1rem', fontWeight: 400 }}>
                                ★ {page.summary.average?.toFixed(1)} · {page.summary.count} {page.summary.count === 1 ? 'review' : 'reviews'}
                            </span>
                        )}
                    </h2>
                    {e && (
                        <div className="alert alert-error" role="alert">
                            {e}
                        </div>
                    )}
                    {page?.items.map((r) => (
                        <article key={r.id} className="op-review" aria-labelledby={`r-${r.id}`}>
                            <h3 id={`r-${r.id}`}>{r.title}</h3>
                            <p className="muted" style={{ margin: 0 }}>
                                <span aria-hidden="true">{'★'.repeat(r.rating)}{'☆'.repeat(5 - r.rating)}</span>
                                <span className="visually-hidden">Rated {r.rating} out of 5</span> · {r.author_name} · {formatTimestamp(r.created_at, listing.timezone)}
                            </p>
                            <p style={{ whiteSpace: 'pre-line' }}>{r.body}</p>
                            {r.reply ? (
                                <div className="reply">
                                    <strong>Your reply</strong> <span className="muted">· {formatTimestamp(r.reply.created_at, listing.timezone)}</span>
                                    <p style={{ whiteSpace: 'pre-line', margin: '.25rem 0 0' }}>{r.reply.body}</p>
                                </div>
                            ) : (
                                <ReplyForm reviewId={r.id} />
                            )}
                        </article>
                    ))}
                    {page?.next_cursor && (
                        <p className="pager">
                            <Link
                                href={`/operator/reviews${buildQuery({ listing_id: listing.id, cursor: page.next_cursor })}`}
                                className="button button-quiet"
                            >
                                More reviews of {listing.title}
                            </Link>
                        </p>
                    )}
                </section>
            ))}
        </div>
    );
}
