import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { SearchResults } from '@/components/SearchResults';
import type { SearchItem } from '@/lib/api';

vi.setConfig({ testTimeout: 30_000 });

const item = (id: string, title: string): SearchItem => ({
    id, title, type: 'hotel', city: 'Lisbon', country: 'PT', rating: { average: null, count: 0 },
    price_from: { amount: 12000, currency: 'EUR' }, free_cancellation: true, thumbnail_url: null,
}) as SearchItem;

const values = { city: 'Lisbon', sort: 'price_asc' };

describe('search results', () => {
    it('appends the next page on "Load more results", skipping a card already shown', async () => {
        const fetchMock = vi.fn(async () =>
            new Response(JSON.stringify({ items: [item('b', 'Second'), item('c', 'Third')], next_cursor: null }), { status: 200 }));
        vi.stubGlobal('fetch', fetchMock);
        try {
            render(<SearchResults initial={[item('a', 'First'), item('b', 'Second')]} nextCursor="c1" values={values} stayQuery="" nights={0} />);
            const more = screen.getByRole('link', { name: 'Load more results' });
            expect(more).toHaveAttribute('href', '/search?city=Lisbon&sort=price_asc&cursor=c1');
            fireEvent.click(more);
            expect(await screen.findByText('Third')).toBeInTheDocument();
            expect(fetchMock).toHaveBeenCalledWith('/search/more?city=Lisbon&sort=price_asc&cursor=c1', { cache: 'no-store' });
            const cards = within(screen.getByRole('list', { name: 'Results' })).getAllByRole('listitem');
            expect(cards).toHaveLength(3);
            expect(screen.queryByRole('link', { name: 'Load more results' })).toBeNull();
        } finally {
            vi.unstubAllGlobals();
        }
    });

    it('keeps the cards and says so when the next page cannot be loaded', async () => {
        vi.stubGlobal('fetch', vi.fn(async () => new Response('{}', { status: 503 })));
        try {
            render(<SearchResults initial={[item('a', 'First')]} nextCursor="c1" values={values} stayQuery="" nights={0} />);
            fireEvent.click(screen.getByRole('link', { name: 'Load more results' }));
            expect(await screen.findByRole('alert')).toHaveTextContent('cannot be loaded');
            expect(screen.getByText('First')).toBeInTheDocument();
            expect(screen.getByRole('link', { name: 'Load more results' })).toBeInTheDocument();
        } finally {
            vi.unstubAllGlobals();
        }
    });
});
