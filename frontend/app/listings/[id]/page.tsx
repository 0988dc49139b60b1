import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { ReserveForm } from '@/components/BookingForms';
import { MonthCalendar } from '@/components/Calendar';
import { RatingText } from '@/components/ListingCard';
import { api, ApiError, describeError, type AvailabilityDay, type Listing, type Quote, type ReviewPage } from '@/lib/api';
import { addDays, formatDay, formatTimestamp, nightsBetween, todayIso, validateStay } from '@/lib/dates';
import { formatMoney } from '@/lib/money';
import { photoUrl } from '@/lib/placeholder';
import { histogramRows } from '@/lib/reviews';
import { stayErrorsFromQuery } from '@/lib/stay-errors';
import { ReviewList } from '@/components/ReviewList';
import '@/components/traveller.css';
import { describePolicy } from '@/lib/policy';

type Params = Promise<{ id: string }>;
type Query = Promise<Record<string, string | string[] | undefined>>;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function loadListing(id: string): Promise<Listing> {
    if (!UUID_RE.test(id)) notFound();
    try {
        return await api.listing(id);
    } catch (err) {
        if (err instanceof ApiError && err.status === 404) notFound();
        throw err;
    }
}

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
    const { id } = await params;
    if (!UUID_RE.test(id)) return { title: 'Not found' };
    try {
        const l = await api.listing(id);
        return { title: `${l.title}, ${l.city}` };
    } catch {
        return { title: 'Listing' };
    }
}

/** How many of a unit a party needs (a room for two, five guests: three rooms). */
const unitsFor = (guests: number, maxGuests: number) => Math.max(1, Math.ceil(guests / Math.max(1, maxGuests)));

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) ?? '';

export default async function ListingPage({ params, searchParams }: { params: Params; searchParams: Query }) {
    const { id } = await params;
    const sp = await searchParams;
    const listing = await loadListing(id);
    const today = todayIso();
    const checkIn = one(sp.check_in);
    const checkOut = one(sp.check_out);
    const guests = Math.max(1, Math.min(50, Number(one(sp.guests)) || 1));
    const stayErrors = validateStay(checkIn || undefined, checkOut || undefined, today);
    const haveStay = !!checkIn && !!checkOut && !stayErrors.check_in && !stayErrors.check_out;
    const reserveErrors = stayErrorsFromQuery(one(sp.reserve_error));

    const reviewSort = ['rating_desc', 'rating_asc'].includes(one(sp.reviews_sort)) ? one(sp.reviews_sort) : 'newest';
    const reviewCursor = one(sp.reviews_cursor) || undefined;
    const pageQuery = new URLSearchParams();
    if (checkIn) pageQuery.set('check_in', checkIn);
    if (checkOut) pageQuery.set('check_out', checkOut);
    if (one(sp.guests)) pageQuery.set('guests', String(guests));
    if (reviewSort !== 'newest') pageQuery.set('reviews_sort', reviewSort);
    const pageHref = `/listings/${listing.id}${pageQuery.size ? `?${pageQuery}` : ''}`;

    let staleCursor = false;
    const calFrom = haveStay ? checkIn.slice(0, 8) + '01' : today.slice(0, 8) + '01';
    const calTo = addDays(calFrom, 62);
    const [reviews, availability, quotes] = await Promise.all([
        api.reviews(id, { limit: 10, sort: reviewSort, cursor: reviewCursor }).catch(async (e: unknown) => {
            // A cursor from an old link (or typed by hand) is refused with 422: show the first page instead.
            if (!reviewCursor || !(e instanceof ApiError) || e.status !== 422) return e as Error;
            staleCursor = true;
            return api.reviews(id, { limit: 10, sort: reviewSort }).catch((e2: unknown) => e2 as Error);
        }),
        api.availability(id, calFrom < today ? today : calFrom, calTo).catch((e: unknown) => e as Error),
        haveStay
            ? Promise.all(
                  listing.units.map((u) =>
                      api.quote(id, { unit_id: u.id, check_in: checkIn, check_out: checkOut, guests, quantity: unitsFor(guests, u.max_guests) }).catch((e: unknown) => e as Error),
                  ),
              )
            : Promise.resolve([] as (Quote | Error)[]),
    ]);

    const days = new Map<string, AvailabilityDay[]>();
    if (!(availability instanceof Error)) {
        for (const d of availability.items) days.set(d.date, [...(days.get(d.date) ?? []), d]);
    }
    const y = Number(calFrom.slice(0, 4));
    const m = Number(calFrom.slice(5, 7)) - 1;
    const photos = listing.photos.length ? listing.photos : [photoUrl(null, listing.id)];
    const nights = haveStay ? nightsBetween(checkIn, checkOut) : 0;
    // The reviews' own summary is current the moment a review is posted; the listing's copy follows within seconds.
    const rating = reviews instanceof Error ? listing.rating : { average: reviews.summary.average, count: reviews.summary.count };
    const perDay = listing.type === 'tour' || listing.type === 'activity';

    return (
        <article className="container">
            <div className="listing-head">
                <p style={{ margin: 0 }}>
                    <Link href={`/search?city=${encodeURIComponent(listing.city)}`}>← More in {listing.city}</Link>
                </p>
                <h1 style={{ marginBottom: '.25rem' }}>{listing.title}</h1>
                <p className="muted" style={{ marginTop: 0 }}>
                    <span className="badge type-badge">{listing.type}</span> {listing.address ? `${listing.address}, ` : ''}
                    {listing.city}, {listing.country} · <RatingText {...rating} />
                </p>
                {listing.status === 'archived' && (
                    <div className="alert alert-info">This listing is no longer offered. Existing bookings are not affected.</div>
                )}
            </div>
            <div className={photos.length > 1 ? 'gallery' : 'gallery gallery-single'}>
                <img src={photos[0]} alt={`${listing.title}: photo 1 of ${photos.length}`} />
                {photos.length > 1 && (
                    <div className="thumbs">
                        {photos.slice(1, 4).map((p, i) => (
                            <img key={p} src={p} alt={`Photo ${i + 2} of ${photos.length}`} loading="lazy" />
                        ))}
                    </div>
                )}
            </div>
            <div className="listing-layout">
                <div>
                    <section className="panel" aria-labelledby="about">
                        <h2 id="about">About this place</h2>
                        {listing.description.split(/\n+/).map((p, i) => (
                            <p key={i}>{p}</p>
                        ))}
                    </section>
                    {listing.amenities.length > 0 && (
                        <section className="panel" aria-labelledby="amenities">
                            <h2 id="amenities">Amenities</h2>
                            <ul className="amenities">
                                {listing.amenities.map((a) => (
                                    <li key={a}>{a.replace(/_/g, ' ')}</li>
                                ))}
                            </ul>
                        </section>
                    )}
                    <section className="panel" aria-labelledby="location">
                        <h2 id="location">Location</h2>
                        <p>
                            {[listing.address, listing.city, listing.country].filter(Boolean).join(', ')}
                            {listing.latitude !== null && listing.longitude !== null && (
                                <>
                                    {' '}
                                    <span className="muted">
                                        ({listing.latitude.toFixed(4)}, {listing.longitude.toFixed(4)})
                                    </span>
                                </>
                            )}
                        </p>
                        <p className="muted">Local time zone: {listing.timezone}</p>
                    </section>
                    <section className="panel" aria-labelledby="availability">
                        <h2 id="availability">Availability</h2>
                        {availability instanceof Error ? (
                            <p className="alert alert-error">{describeError(availability)}</p>
                        ) : (
                            <div className="calendars">
                                <MonthCalendar year={y} month={m} days={days} today={today} chosen={haveStay ? [checkIn, checkOut] : undefined} />
                                <MonthCalendar year={m === 11 ? y + 1 : y} month={(m + 1) % 12} days={days} today={today} chosen={haveStay ? [checkIn, checkOut] : undefined} />
                            </div>
                        )}
                        <p className="muted">Green dates have at least one {perDay ? 'ticket' : 'unit'} left; struck-through dates are closed or sold out.</p>
                    </section>
                    <Reviews reviews={reviews} listingId={listing.id} sort={reviewSort} pageHref={pageHref} later={!!reviewCursor && !staleCursor} />
                </div>
                <aside>
                    <section className="panel" aria-labelledby="dates">
                        <h2 id="dates">Your dates</h2>
                        <form method="get" action={`/listings/${listing.id}`}>
                            <DateInput name="check_in" label={perDay ? 'Date' : 'Check-in'} value={checkIn} min={today} error={stayErrors.check_in ?? reserveErrors.check_in} />
                            <DateInput name="check_out" label={perDay ? 'Until (exclusive)' : 'Check-out'} value={checkOut} min={today} error={stayErrors.check_out ?? reserveErrors.check_out} />
                            <div className={reserveErrors.guests ? 'field field-invalid' : 'field'}>
                                <label htmlFor="ld-guests">Guests</label>
                                <input id="ld-guests" name="guests" type="number" min={1} max={50} defaultValue={guests}
                                    aria-invalid={reserveErrors.guests ? true : undefined} aria-describedby={reserveErrors.guests ? 'ld-guests-error' : undefined} />
                                {reserveErrors.guests && (
                                    <p className="field-error" id="ld-guests-error">
                                        {reserveErrors.guests}
                                    </p>
                                )}
                            </div>
                            <button type="submit" className="button button-primary" style={{ width: '100%' }}>
                                Show prices
                            </button>
                        </form>
                    </section>
                    <section className="panel" aria-labelledby="units">
                        <h2 id="units">{perDay ? 'Tickets' : 'Rooms and units'}</h2>
                        {haveStay && (
                            <p className="muted">
                                {formatDay(checkIn)} to {formatDay(checkOut)} · {nights} {perDay ? (nights === 1 ? 'day' : 'days') : nights === 1 ? 'night' : 'nights'}
                            </p>
                        )}
                        <ul className="units">
                            {listing.units.map((u, i) => {
                                const q = quotes[i];
                                return (
                                    <li key={u.id} className="unit">
                                        <div>
                                            <strong>{u.name}</strong>
                                            <div className="muted">Up to {u.max_guests} {u.max_guests === 1 ? 'guest' : 'guests'}</div>
                                            {u.description && <div>{u.description}</div>}
                                        </div>
                                        <div style={{ textAlign: 'right' }}>
                                            {!haveStay && (
                                                <>
                                                    <span className="price">{formatMoney(u.base_price)}</span>
                                                    <div className="muted">{perDay ? 'per day' : 'per night'}, usually</div>
                                                </>
                                            )}
                                            {haveStay && q instanceof Error && <span className="muted">{q instanceof ApiError && q.status === 422 ? 'Not bookable for these dates' : 'Price unavailable right now'}</span>}
                                            {haveStay && q && !(q instanceof Error) && (
                                                <>
                                                    {unitsFor(guests, u.max_guests) > 1 && <div className="muted">{unitsFor(guests, u.max_guests)} × {u.name} for {guests} guests</div>}
                                                    {q.available ? (
                                                        <>
                                                            <span className="price">{formatMoney(q.total)}</span>
                                                            <div className="muted">total for your stay</div>
                                                            {q.free_cancellation_until && <div className="badge">Free cancellation until {formatTimestamp(q.free_cancellation_until, listing.timezone)}</div>}
                                                            {listing.status === 'active' && (
                                                                <ReserveForm listingId={listing.id} unitId={u.id} checkIn={checkIn} checkOut={checkOut} guests={guests}
                                                                    quantity={unitsFor(guests, u.max_guests)} idempotencyKey={crypto.randomUUID()} />
                                                            )}
                                                        </>
                                                    ) : (
                                                        <span className="muted">Sold out for these dates</span>
                                                    )}
                                                </>
                                            )}
                                        </div>
                                    </li>
                                );
                            })}
                            {listing.units.length === 0 && <li className="muted">Nothing is on sale here yet.</li>}
                        </ul>
                        {!haveStay && <p className="muted">Choose dates to see the total price for your stay.</p>}
                    </section>
                    <section className="panel" aria-labelledby="cancellation">
                        <h2 id="cancellation">Cancellation</h2>
                        <p>{describePolicy(listing)}</p>
                    </section>
                </aside>
            </div>
        </article>
    );
}

function DateInput({ name, label, value, min, error }: { name: string; label: string; value: string; min: string; error?: string }) {
    const id = `ld-${name}`;
    return (
        <div className={error ? 'field field-invalid' : 'field'}>
            <label htmlFor={id}>{label}</label>
            <input id={id} name={name} type="date" min={min} defaultValue={value} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined} />
            {error && (
                <p className="field-error" id={`${id}-error`}>
                    {error}
                </p>
            )}
        </div>
    );
}

const REVIEW_SORTS: { value: string; label: string }[] = [
    { value: 'newest', label: 'Newest' },
    { value: 'rating_desc', label: 'Highest rated' },
    { value: 'rating_asc', label: 'Lowest rated' },
];

function Reviews({ reviews, listingId, sort, pageHref, later }: { reviews: ReviewPage | Error; listingId: string; sort: string; pageHref: string; later: boolean }) {
    if (reviews instanceof Error) {
        return (
            <section className="panel" aria-labelledby="reviews">
                <h2 id="reviews">Reviews</h2>
                <p className="alert alert-error">Reviews cannot be shown right now. {describeError(reviews)}</p>
            </section>
        );
    }
    const { summary, items } = reviews;
    const sortHref = (value: string) => {
        const u = new URL(pageHref, 'http://x');
        u.searchParams.delete('reviews_cursor');
        if (value === 'newest') u.searchParams.delete('reviews_sort');
        else u.searchParams.set('reviews_sort', value);
        return `${u.pathname}${u.search}#reviews`;
    };
    return (
        <section className="panel" aria-labelledby="reviews">
            <h2 id="reviews">Reviews</h2>
            {summary.count === 0 ? (
                <p className="muted">No reviews yet. Guests can review after their stay.</p>
            ) : (
                <>
                    <p data-testid="review-summary">
                        <strong style={{ fontSize: '1.5rem' }}>{summary.average?.toFixed(1)}</strong> out of 5 · {summary.count}{' '}
                        {summary.count === 1 ? 'review' : 'reviews'}
                    </p>
                    <ul className="histogram" aria-label="Ratings by stars">
                        {histogramRows(summary.histogram, summary.count).map((row) => (
                            <li key={row.stars}>
                                <span className="visually-hidden">{row.label}</span>
                                <span aria-hidden="true">
                                    {row.stars} {row.stars === 1 ? 'star' : 'stars'}
                                </span>
                                <span className="bar" aria-hidden="true">
                                    <span style={{ width: `${row.percent}%` }} />
                                </span>
                                <span aria-hidden="true">{row.count}</span>
                            </li>
                        ))}
                    </ul>
                    <nav aria-label="Sort reviews" className="review-sorts">
                        Sort:{' '}
                        {REVIEW_SORTS.map((o, i) => (
                            <span key={o.value}>
                                {i > 0 && ' · '}
                                {o.value === sort ? (
                                    <strong aria-current="true">{o.label}</strong>
                                ) : (
                                    <Link href={sortHref(o.value)} scroll={false}>
                                        {o.label}
                                    </Link>
                                )}
                            </span>
                        ))}
                    </nav>
                    {later && (
                        <p className="muted">
                            Showing later reviews. <Link href={sortHref(sort)}>Back to the first ones</Link>
                        </p>
                    )}
                </>
            )}
            <ReviewList key={`${sort}:${later}`} listingId={listingId} sort={sort} initial={items} nextCursor={reviews.next_cursor} pageHref={pageHref} />
        </section>
    );
}
