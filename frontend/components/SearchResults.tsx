'use client';
// The result cards with "Load more results": a link to the next page (works
// without JavaScript), which with JavaScript fetches that page from
// /search/more and appends its cards, keeping the ones already shown.

import { ListingCard } from '@/components/ListingCard';
import type { SearchItem } from '@/lib/api';
import { searchHref } from '@/lib/search';
import { useLoadMore } from '@/lib/use-load-more';

type Props = {
    initial: SearchItem[];
    nextCursor: string | null;
    /** The search as the page's URL holds it (without the cursor). */
    values: Record<string, string>;
    stayQuery: string;
    nights: number;
};

export function SearchResults({ initial, nextCursor, values, stayQuery, nights }: Props) {
    const { cursor: _page, ...base } = values; // the page's own cursor, if any, is not the next one
    const { items, cursor, loading, error, more } = useLoadMore(
        initial,
        nextCursor,
        (c) => searchHref(base, { cursor: c }).replace(/^\/search/, '/search/more'),
        'More results cannot be loaded right now. Please try again.',
    );

    return (
        <>
            <ul className="cards" aria-label="Results">
                {items.map((item) => (
                    <ListingCard key={item.id} item={item} stayQuery={stayQuery} nights={nights} />
                ))}
            </ul>
            {error && (
                <div className="alert alert-error" role="alert">
                    {error}
                </div>
            )}
            {cursor && (
                <nav className="pager" aria-label="More results">
                    <a className="button button-quiet" href={searchHref(base, { cursor })} rel="next" onClick={more} aria-busy={loading}>
                        {loading ? 'Loading…' : 'Load more results'}
                    </a>
                </nav>
            )}
        </>
    );
}
