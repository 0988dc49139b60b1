import type { Metadata } from 'next';
import Link from 'next/link';
import { archiveListing } from '@/app/actions/operator';
import { Forbidden, operatorContext, ownListing } from '@/components/operator/guard';
import { UnitForm } from '@/components/operator/UnitForm';
import { formatMoney } from '@/lib/money';
import { describePolicy } from '@/lib/policy';

export const metadata: Metadata = { title: 'Listing' };

type Params = Promise<{ id: string }>;
type Query = Promise<Record<string, string | string[] | undefined>>;

const ARCHIVE_ERRORS: Record<string, string> = {
    not_found: 'We could not find that listing among yours.',
    unauthorized: 'Your session has ended. Please log in again.',
    forbidden: 'Only operators can archive listings.',
    rate_limited: 'Too many attempts. Please wait a moment and try again.',
    internal_error: 'The listing could not be archived right now. Please try again in a moment.',
};

export default async function OperatorListingPage({ params, searchParams }: { params: Params; searchParams: Query }) {
    const { id } = await params;
    const ctx = await operatorContext(`/operator/listings/${id}`);
    if (!ctx) return <Forbidden />;
    const sp = await searchParams;
    const l = await ownListing(id, ctx.user.id);
    // Only a known code is worded: a link must not be able to put its own text on the page.
    const error = typeof sp.error === 'string' ? (ARCHIVE_ERRORS[sp.error] ?? ARCHIVE_ERRORS.internal_error) : null;
    return (
        <div className="container op-page">
            <p>
                <Link href="/operator">← Your listings</Link>
            </p>
            <div className="op-head">
                <h1>{l.title}</h1>
                <div className="op-actions">
                    <Link href={`/operator/listings/${l.id}/edit`} className="button button-quiet">
                        Edit listing
                    </Link>
                    <Link href={`/listings/${l.id}`} className="button button-quiet">
                        View as a traveller
                    </Link>
                </div>
            </div>
            {sp.created && (
                <div className="alert alert-success" role="status">
                    Your listing is created. Add a unit with its price so that travellers can book it.
                </div>
            )}
            {sp.saved && (
                <div className="alert alert-success" role="status">
                    Your changes are saved.
                </div>
            )}
            {sp.archived && (
                <div className="alert alert-success" role="status">
                    The listing is archived: it is out of search and takes no new bookings. Existing bookings are unchanged.
                </div>
            )}
            {error && (
                <div className="alert alert-error" role="alert">
                    {error}
                </div>
            )}
            <section className="panel" aria-labelledby="details">
                <h2 id="details">Details</h2>
                <dl className="op-details">
                    <div>
                        <dt>Status</dt>
                        <dd>
                            <span className={`badge status-${l.status}`} data-testid="listing-status">
                                {l.status === 'active' ? 'Active' : 'Archived'}
                            </span>
                        </dd>
                    </div>
                    <div>
                        <dt>Type</dt>
                        <dd className="type-badge badge">{l.type}</dd>
                    </div>
                    <div>
                        <dt>Location</dt>
                        <dd>
                            {l.address ? `${l.address}, ` : ''}
                            {l.city}, {l.country}
                            {l.latitude !== null && l.longitude !== null ? ` (${l.latitude}, ${l.longitude})` : ''}
                        </dd>
                    </div>
                    <div>
                        <dt>Time zone · currency</dt>
                        <dd>
                            {l.timezone} · {l.currency}
                        </dd>
                    </div>
                    <div>
                        <dt>Rating</dt>
                        <dd>{l.rating.count ? `${l.rating.average?.toFixed(1)} out of 5 (${l.rating.count})` : 'No reviews yet'}</dd>
                    </div>
                    <div>
                        <dt>Cancellation policy</dt>
                        <dd>{describePolicy(l)}</dd>
                    </div>
                    <div>
                        <dt>Amenities</dt>
                        <dd>{l.amenities.length ? l.amenities.join(', ') : 'None listed'}</dd>
                    </div>
                    <div>
                        <dt>Photos</dt>
                        <dd>{l.photos.length}</dd>
                    </div>
                </dl>
                <p style={{ whiteSpace: 'pre-line' }}>{l.description}</p>
            </section>

            <section className="panel" aria-labelledby="units">
                <h2 id="units">Units</h2>
                {l.units.length === 0 ? (
                    <p className="muted">No units yet: travellers cannot book this listing until it has one.</p>
                ) : (
                    <table className="op-table" data-testid="units">
                        <thead>
                            <tr>
                                <th scope="col">Unit</th>
                                <th scope="col" className="num">Max guests</th>
                                <th scope="col" className="num">Quantity</th>
                                <th scope="col" className="num">Base price</th>
                                <th scope="col">Calendar</th>
                            </tr>
                        </thead>
                        <tbody>
                            {l.units.map((u) => (
                                <tr key={u.id}>
                                    <td data-label="Unit">
                                        {u.name}
                                        {u.description && <div className="muted">{u.description}</div>}
                                    </td>
                                    <td data-label="Max guests" className="num">{u.max_guests}</td>
                                    <td data-label="Quantity" className="num">{u.quantity}</td>
                                    <td data-label="Base price" className="num">{formatMoney(u.base_price)}</td>
                                    <td data-label="Calendar">
                                        <Link href={`/operator/listings/${l.id}/units/${u.id}/calendar`} aria-label={`Calendar of ${u.name}`}>
                                            Prices and availability
                                        </Link>
                                    </td>
                                </tr>
                            ))}
                        </tbody>
                    </table>
                )}
                <h3 id="add-unit">Add a unit</h3>
                <UnitForm listingId={l.id} currency={l.currency} />
            </section>

            {l.status === 'active' && (
                <section className="panel" aria-labelledby="archive-heading">
                    <h2 id="archive-heading">Take it off sale</h2>
                    <p>Archiving takes the listing out of search for good; bookings already made stay as they are.</p>
                    <details className="op-confirm">
                        <summary className="button button-quiet">Archive</summary>
                        <form action={archiveListing}>
                            <input type="hidden" name="listing_id" value={l.id} />
                            <p>
                                <strong>Archive “{l.title}”?</strong> This cannot be undone.
                            </p>
                            <button type="submit" className="button button-primary">
                                Yes, archive this listing
                            </button>
                        </form>
                    </details>
                </section>
            )}
        </div>
    );
}
