'use client';
// The notifications list with "Load more": a link to the next page (works
// without JavaScript), which with JavaScript appends the next page below the
// ones shown through the app's /notifications/more route.
import Link from 'next/link';
import { useState } from 'react';
import { markAllRead, markRead } from '@/app/actions/notifications';
import type { Notification } from '@/lib/api';
import { formatTimestamp } from '@/lib/dates';
import { useLoadMore } from '@/lib/use-load-more';

interface Props {
    initial: Notification[];
    nextCursor: string | null;
    unreadCount: number;
    /** Injected by tests; the server actions otherwise. */
    actions?: { markRead: (form: FormData) => Promise<void>; markAllRead: () => Promise<void> };
}

export function NotificationList({ initial, nextCursor, unreadCount, actions = { markRead, markAllRead } }: Props) {
    const { items, cursor, loading, error, more } = useLoadMore(
        initial,
        nextCursor,
        (c) => `/notifications/more?cursor=${encodeURIComponent(c)}`,
        'More notifications cannot be loaded right now. Please try again.',
    );
    const [readHere, setReadHere] = useState<Set<string>>(new Set());
    const [allRead, setAllRead] = useState(false);

    const isRead = (n: Notification) => allRead || !!n.read_at || readHere.has(n.id);
    const unread = allRead ? 0 : unreadCount;

    return (
        <>
            {unread > 0 && (
                <form action={actions.markAllRead} onSubmit={() => setAllRead(true)}>
                    <button type="submit" className="button">
                        Mark all read ({unread})
                    </button>
                </form>
            )}
            {items.length === 0 && <p className="muted">Nothing yet. We tell you here when a booking changes.</p>}
            <ul className="trips" aria-label="Notifications">
                {items.map((n) => (
                    <li key={n.id} className={isRead(n) ? undefined : 'notif-unread'}>
                        <div>
                            {n.title} <span className="muted">· {formatTimestamp(n.created_at)}</span>
                        </div>
                        <div style={{ fontWeight: 'normal' }}>{n.body}</div>
                        {n.booking_id && <Link href={`/bookings/${n.booking_id}`}>View booking</Link>}
                        {!isRead(n) && (
                            <form action={actions.markRead} onSubmit={() => setReadHere((s) => new Set(s).add(n.id))} style={{ display: 'inline', marginLeft: '1rem' }}>
                                <input type="hidden" name="id" value={n.id} />
                                <button type="submit" className="button button-quiet">
                                    Mark read
                                </button>
                            </form>
                        )}
                    </li>
                ))}
            </ul>
            {error && (
                <p className="alert alert-error" role="alert">
                    {error}
                </p>
            )}
            {cursor && (
                <p>
                    <a href={`/notifications?cursor=${encodeURIComponent(cursor)}`} onClick={more} className="button button-quiet" aria-busy={loading}>
                        {loading ? 'Loading…' : 'Load more'}
                    </a>
                </p>
            )}
        </>
    );
}
