import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { NotificationList } from '@/components/NotificationList';
import type { Notification } from '@/lib/api';

// Rendering is slow on a busy machine (the first render of a file starts jsdom): no flakes from the 5 s default.
vi.setConfig({ testTimeout: 30_000 });

const n = (id: string, read = false): Notification => ({
    id, type: 'booking_confirmed', title: `Title ${id}`, body: `Body ${id}`, booking_id: null,
    created_at: '2026-11-20T10:00:00Z', read_at: read ? '2026-11-20T11:00:00Z' : null,
});

const actions = { markRead: vi.fn(async () => {}), markAllRead: vi.fn(async () => {}) };

describe('notifications list', () => {
    it('appends the next page on "Load more" instead of replacing the list', async () => {
        const fetchMock = vi.fn(async () => new Response(JSON.stringify({ items: [n('3'), n('4', true)], next_cursor: null }), { status: 200 }));
        vi.stubGlobal('fetch', fetchMock);
        try {
            render(<NotificationList initial={[n('1'), n('2')]} nextCursor="c1" unreadCount={3} actions={actions} />);
            const more = screen.getByRole('link', { name: 'Load more' });
            expect(more).toHaveAttribute('href', '/notifications?cursor=c1');
            fireEvent.click(more);
            expect(await screen.findByText('Title 4')).toBeInTheDocument();
            const list = screen.getByRole('list', { name: 'Notifications' });
            expect(within(list).getAllByRole('listitem').map((li) => li.textContent?.slice(0, 7))).toEqual(['Title 1', 'Title 2', 'Title 3', 'Title 4']);
            expect(fetchMock).toHaveBeenCalledWith('/notifications/more?cursor=c1', { cache: 'no-store' });
            expect(screen.queryByRole('link', { name: 'Load more' })).toBeNull();
            // Read ones have no "Mark read" button: three unread, three buttons.
            expect(screen.getAllByRole('button', { name: 'Mark read' })).toHaveLength(3);
            expect(screen.getByRole('button', { name: 'Mark all read (3)' })).toBeInTheDocument();
        } finally {
            vi.unstubAllGlobals();
        }
    });

    it('says so when the next page cannot be loaded, and keeps the list', async () => {
        vi.stubGlobal('fetch', vi.fn(async () => new Response('{}', { status: 503 })));
        try {
            render(<NotificationList initial={[n('1')]} nextCursor="c1" unreadCount={1} actions={actions} />);
            fireEvent.click(screen.getByRole('link', { name: 'Load more' }));
            expect(await screen.findByRole('alert')).toHaveTextContent('cannot be loaded');
            expect(screen.getByText('Title 1')).toBeInTheDocument();
            expect(screen.getByRole('link', { name: 'Load more' })).toBeInTheDocument();
        } finally {
            vi.unstubAllGlobals();
        }
    });
});
