import type { Metadata } from 'next';
import Link from 'next/link';
import { RatingText } from '@/components/ListingCard';
import { Forbidden, operatorContext } from '@/components/operator/guard';
import { describeError, operatorApi, type Listing, type Page } from '@/lib/api';

export const metadata: Metadata = { title: 'Dashboard' };

type Query = Promise<Record<string, string | string[] | undefined>>;

export default async function OperatorDashboard({ searchParams }: { searchParams: Query }) {
    const ctx = await operatorContext('/operator');
    if (!ctx) return <Forbidden />;
    const sp = await searchParams;
    const cursor = typeof sp.cursor === 'string' ? sp.cursor : undefined;
    let page: Page<Listing> | null = null;
    let error: string | null = null;
    try {
        page = await operatorApi.listings(ctx.token, { limit: 50, cursor });
    } catch (err) {
        error = describeError(err);
    }
    return (
        <div className="container op-page">
            <div className="op-head">
                <h1>Your listings</h1>
                <Link href="/operator/listings/new" className="button button-primary">
                    New listing
                </Link>
            </div>
            {error && (
                <div className="alert alert-error" role="alert">
                    {error}
                </div>
            )}
            {page && page.items.length === 0 && !cursor && (
                <div className="empty">
                    <p>
                        <strong>No listings yet.</strong> Create your first listing, add a room or ticket type with its price, and it appears in search
                        at once.
                    </p>
                    <Link href="/operator/listings/new" className="button button-primary">
                        Create a listing
                    </Link>
                </div>
            )}
            {page && page.items.length > 0 && (
                <table className="op-table" data-testid="operator-listings">
                    <caption className="visually-hidden">Your listings, newest first</caption>
                    <thead>
                        <tr>
                            <th scope="col">Listing</th>
                            <th scope="col">Status</th>
                            <th scope="col">City</th>
                            <th scope="col">Rating</th>
                            <th scope="col" className="num">
                                Units
                            </th>
                        </tr>
                    </thead>
                    <tbody>
                        {page.items.map((l) => (
                            <tr key={l.id}>
                                <td data-label="Listing">
                                    <Link href={`/operator/listings/${l.id}`}>{l.title}</Link>
                                    <br />
                                    <span className="badge type-badge">{l.type}</span> <span className="muted">{l.currency}</span>
                                    <div className="op-actions" style={{ fontSize: '.9rem', marginTop: '.25rem' }}>
                                        <Link href={`/operator/bookings?listing_id=${l.id}`} aria-label={`Bookings of ${l.title}`}>
                                            Bookings
                                        </Link>
                                        <Link href={`/operator/reviews?listing_id=${l.id}`} aria-label={`Reviews of ${l.title}`}>
                                            Reviews
                                        </Link>
                                    </div>
                                </td>
                                <td data-label="Status">
                                    <span className={`badge status-${l.status}`}>{l.status === 'active' ? 'Active' : 'Archived'}</span>
                                </td>
                                <td data-label="City">
                                    {l.city}, {l.country}
                                </td>
                                <td data-label="Rating">
                                    <RatingText average={l.rating.average} count={l.rating.count} />
                                </td>
                                <td data-label="Units" className="num">
                                    {l.units.length === 0 ? (
                                        <Link href={`/operator/listings/${l.id}#add-unit`}>Add a unit</Link>
                                    ) : (
                                        l.units.length
                                    )}
                                </td>
                            </tr>
                        ))}
                    </tbody>
                </table>
            )}
            {page?.next_cursor && (
                <p className="pager">
                    <Link href={`/operator?cursor=${encodeURIComponent(page.next_cursor)}`} className="button button-quiet">
                        More listings
                    </Link>
                </p>
            )}
            {cursor && (
                <p>
                    <Link href="/operator">Back to the newest</Link>
                </p>
            )}
        </div>
    );
}
