import type { Metadata, Viewport } from 'next';
import Link from 'next/link';
import { api } from '@/lib/api';
import { accessToken, currentUser } from '@/lib/auth';
import { logOut } from './actions/auth';
import './globals.css';

export const metadata: Metadata = {
    title: { default: 'Roam: stays, tours and things to do', template: '%s · Roam' },
    description: 'Find and book hotels, apartments, tours and activities.',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

async function unreadCount(): Promise<number> {
    const token = await accessToken();
    if (!token) return 0;
    try {
        return (await api.notifications(token, { limit: 1 })).unread_count;
    } catch {
        return 0;
    }
}

async function Header() {
    const user = await currentUser();
    const unread = user ? await unreadCount() : 0;
    return (
        <header className="site-header">
            <div className="container header-inner">
                <Link href="/" className="brand" aria-label="Roam, home">
                    <span aria-hidden="true" className="brand-mark">◆</span> Roam
                </Link>
                <nav aria-label="Account" className="account-nav">
                    {user ? (
                        <>
                            {user.role === 'operator' && (
                                <Link href="/operator" className="button button-quiet">
                                    Dashboard
                                </Link>
                            )}
                            <Link href="/trips" className="button button-quiet">
                                My trips
                            </Link>
                            <Link href="/notifications" className="button button-quiet" aria-label={unread ? `Notifications, ${unread} unread` : 'Notifications'}>
                                Notifications{' '}
                                {unread > 0 && (
                                    <span className="notif-badge" data-testid="unread-badge">
                                        {unread}
                                    </span>
                                )}
                            </Link>
                            <span className="user-name">
                                Signed in as <strong>{user.name}</strong>
                            </span>
                            <form action={logOut}>
                                <button type="submit" className="button button-quiet">
                                    Log out
                                </button>
                            </form>
                        </>
                    ) : (
                        <>
                            <Link href="/login" className="button button-quiet">
                                Log in
                            </Link>
                            <Link href="/signup" className="button button-primary">
                                Sign up
                            </Link>
                        </>
                    )}
                </nav>
            </div>
        </header>
    );
}

export default function RootLayout({ children }: { children: React.ReactNode }) {
    return (
        <html lang="en">
            <body>
                <a href="#main" className="skip-link">
                    Skip to content
                </a>
                <Header />
                <main id="main" tabIndex={-1}>
                    {children}
                </main>
                <footer className="site-footer">
                    <div className="container">Roam · prices include every night of your stay · amounts in the listing’s currency</div>
                </footer>
            </body>
        </html>
    );
}
