'use client';
// "Load more" for a list the server rendered: the link to the next page
// works without JavaScript; with it, the next page is fetched as JSON
// ({items, next_cursor}) and appended under the items shown, each item once.

import { useState, type MouseEvent } from 'react';

export function useLoadMore<T extends { id: string }>(
    first: T[],
    nextCursor: string | null,
    pageUrl: (cursor: string) => string,
    failure: string,
) {
    const [extra, setExtra] = useState<T[]>([]);
    const [cursor, setCursor] = useState(nextCursor);
    const [loading, setLoading] = useState(false);
    const [error, setError] = useState<string | null>(null);

    const more = async (e: MouseEvent<HTMLAnchorElement>) => {
        if (!cursor || e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return; // a new tab follows the link
        e.preventDefault();
        if (loading) return;
        setLoading(true);
        setError(null);
        try {
            const res = await fetch(pageUrl(cursor), { cache: 'no-store' });
            if (!res.ok) throw new Error(String(res.status));
            const page = (await res.json()) as { items: T[]; next_cursor: string | null };
            setExtra((prev) => [...prev, ...page.items]);
            setCursor(page.next_cursor);
        } catch {
            setError(failure);
        } finally {
            setLoading(false);
        }
    };

    // The first page comes from the server on every render (it may change, e.g. after a mark-read).
    const seen = new Set<string>();
    const items = [...first, ...extra].filter((i) => !seen.has(i.id) && !!seen.add(i.id));
    return { items, cursor, loading, error, more };
}
