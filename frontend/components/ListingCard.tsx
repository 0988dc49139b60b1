import Link from 'next/link';
import type { SearchItem } from '@/lib/api';
import { formatMoney } from '@/lib/money';
import { photoUrl } from '@/lib/placeholder';

export function RatingText({ average, count }: { average: number | null; count: number }) {
    if (!count || average === null) return <span className="muted">No reviews yet</span>;
    return (
        <span>
            <span className="rating" aria-hidden="true">★ {average.toFixed(1)}</span>
            <span className="visually-hidden">Rated {average.toFixed(1)} out of 5</span>{' '}
            <span className="muted">({count} {count === 1 ? 'review' : 'reviews'})</span>
        </span>
    );
}

export function ListingCard({ item, stayQuery, nights }: { item: SearchItem; stayQuery: string; nights: number }) {
    const href = `/listings/${item.id}${stayQuery}`;
    return (
        <li className="card">
            <img src={photoUrl(item.thumbnail_url, item.id)} alt="" loading="lazy" />
            <div className="card-body">
                <h3>
                    <Link href={href}>{item.title}</Link>
                </h3>
                <p className="muted" style={{ margin: '0 0 .4rem' }}>
                    {item.city}, {item.country}
                </p>
                <p style={{ margin: 0, display: 'flex', gap: '.5rem', flexWrap: 'wrap', alignItems: 'center' }}>
                    <span className="badge type-badge">{item.type}</span>
                    {item.free_cancellation && <span className="badge">Free cancellation</span>}
                    <RatingText {...item.rating} />
                </p>
            </div>
            <div className="card-price">
                {item.price_from ? (
                    nights > 0 ? (
                        <>
                            <span className="price">{formatMoney(item.price_from)}</span>
                            <span className="muted">
                                for {nights} {nights === 1 ? (item.type === 'tour' || item.type === 'activity' ? 'day' : 'night') : item.type === 'tour' || item.type === 'activity' ? 'days' : 'nights'}
                            </span>
                        </>
                    ) : (
                        <>
                            <span className="muted">from</span>
                            <span className="price">{formatMoney(item.price_from)}</span>
                            <span className="muted">{item.type === 'tour' || item.type === 'activity' ? 'per day' : 'per night'}</span>
                        </>
                    )
                ) : (
                    <span className="muted">No open dates</span>
                )}
            </div>
        </li>
    );
}
