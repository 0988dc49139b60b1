'use client';
// The result cards with "Load more results": a link to the next page (works
// without JavaScript), which with JavaScript fetches that page from
// /search/more and appends its cards, keeping the ones already shown.

import { useState, type MouseEvent } from 'react';
import { ListingCard } from '@/components/ListingCard';
import type { SearchItem } from '@/lib/api';
import { searchHref } from '@/lib/search';

type Props = {
    initial: SearchItem[];
    nextCursor: string | null;
    /** The search as the page's URL holds it (without the cursor). */
    values: Record<string, string>;
    stayQuery: string;
    nights: number;
};

export function SearchResults({ initial, nextCursor, values, stayQuery, nights }: Props) {
    const [items, setItems] = useState(initial);
    const [cursor, setCursor] = useState(nextCursor);
    const [loading, setLoading] = useState(false);
    const [error, setError] = useState<string | null>(null);
    const { cursor: _first, ...base } = values; // the page's own cursor, if any, is not the next one

    const more = async (e: MouseEvent<HTMLAnchorElement>) => {
        if (!cursor || e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return; // a new tab gets the link
        e.preventDefault();
        setLoading(true);
        setError(null);
        try {
            const res = await fetch(searchHref(base, { cursor }).replace(/^\/search/, '/search/more'), { cache: 'no-store' });
            if (!res.ok) throw new Error(String(res.status));
            const page = (await res.json()) as { items: SearchItem[]; next_cursor: string | null };
            const seen = new Set(items.map((i) => i.id));
            setItems([...items, ...page.items.filter((i) => !seen.has(i.id))]);
            setCursor(page.next_cursor);
        } catch {
            setError('More results cannot be loaded right now. Please try again.');
        } finally {
            setLoading(false);
        }
    };

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
