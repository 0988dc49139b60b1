import type { Metadata } from 'next';
import Link from 'next/link';
import { redirect } from 'next/navigation';
import { NotificationList } from '@/components/NotificationList';
import { api, describeError, type NotificationPage } from '@/lib/api';
import { accessToken } from '@/lib/auth';

export const metadata: Metadata = { title: 'Notifications' };

type Query = Promise<Record<string, string | string[] | undefined>>;

export default async function NotificationsPage({ searchParams }: { searchParams: Query }) {
    const sp = await searchParams;
    const token = await accessToken();
    if (!token) redirect('/login?next=/notifications');
    // Without JavaScript "Load more" is a link to the next page (?cursor=); with it, pages are appended in place.
    const cursor = typeof sp.cursor === 'string' && sp.cursor ? sp.cursor : undefined;
    let page: NotificationPage | null = null;
    let error: string | null = null;
    try {
        page = await api.notifications(token, { limit: 20, cursor });
    } catch (err) {
        error = describeError(err);
    }
    return (
        <article className="container" style={{ maxWidth: '44rem' }}>
            <h1>Notifications</h1>
            {error && <div className="alert alert-error">{error}</div>}
            {cursor && (
                <p className="muted">
                    Showing older notifications. <Link href="/notifications">Back to the newest</Link>
                </p>
            )}
            {page && <NotificationList key={cursor ?? 'first'} initial={page.items} nextCursor={page.next_cursor} unreadCount={page.unread_count} />}
        </article>
    );
}
