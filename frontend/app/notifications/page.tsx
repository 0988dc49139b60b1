import type { Metadata } from 'next';
import Link from 'next/link';
import { redirect } from 'next/navigation';
import { api, describeError, type NotificationPage } from '@/lib/api';
import { accessToken } from '@/lib/auth';
import { formatTimestamp } from '@/lib/dates';
import { markAllRead, markRead } from '../actions/notifications';

export const metadata: Metadata = { title: 'Notifications' };

export default async function NotificationsPage() {
    const token = await accessToken();
    if (!token) redirect('/login?next=/notifications');
    let page: NotificationPage | null = null;
    let error: string | null = null;
    try {
        page = await api.notifications(token, { limit: 50 });
    } catch (err) {
        error = describeError(err);
    }
    return (
        <article className="container" style={{ maxWidth: '44rem' }}>
            <h1>Notifications</h1>
            {error && <div className="alert alert-error">{error}</div>}
            {page && page.unread_count > 0 && (
                <form action={markAllRead}>
                    <button type="submit" className="button">
                        Mark all read ({page.unread_count})
                    </button>
                </form>
            )}
            {page && page.items.length === 0 && <p className="muted">Nothing yet. We tell you here when a booking changes.</p>}
            <ul className="trips">
                {page?.items.map((n) => (
                    <li key={n.id} className={n.read_at ? undefined : 'notif-unread'}>
                        <div>
                            {n.title} <span className="muted">· {formatTimestamp(n.created_at)}</span>
                        </div>
                        <div style={{ fontWeight: 'normal' }}>{n.body}</div>
                        {n.booking_id && <Link href={`/bookings/${n.booking_id}`}>View booking</Link>}
                        {!n.read_at && (
                            <form action={markRead} style={{ display: 'inline', marginLeft: '1rem' }}>
                                <input type="hidden" name="id" value={n.id} />
                                <button type="submit" className="button button-quiet">
                                    Mark read
                                </button>
                            </form>
                        )}
                    </li>
                ))}
            </ul>
        </article>
    );
}
