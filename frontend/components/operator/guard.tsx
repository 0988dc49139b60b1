// Who may see the operator pages: a signed-in operator. Anonymous visitors
// are sent to log in (and back here afterwards); travellers see a clear 403.
import Link from 'next/link';
import { notFound, redirect } from 'next/navigation';
import { api, ApiError, type Listing, type User } from '@/lib/api';
import { accessToken, currentUser } from '@/lib/auth';

export interface OperatorContext {
    token: string;
    user: User;
}

/** The operator's token and user, null for a signed-in non-operator; redirects to log in when there is no session. */
export async function operatorContext(next: string): Promise<OperatorContext | null> {
    const token = await accessToken();
    const user = token ? await currentUser() : null;
    if (!token || !user) redirect(`/login?next=${encodeURIComponent(next)}`);
    return user.role === 'operator' ? { token, user } : null;
}

export function Forbidden() {
    return (
        <div className="container op-page">
            <h1>Operators only</h1>
            <div className="alert alert-error" role="alert">
                <strong>403 · Forbidden.</strong> These pages are for operators who list stays and tours on Roam. You are signed in with a traveller
                account.
            </div>
            <p>
                <Link href="/">Search stays</Link> · <Link href="/trips">My trips</Link> · To list your own property,{' '}
                <Link href="/signup">create an operator account</Link> after logging out.
            </p>
        </div>
    );
}


const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
    return UUID_RE.test(s);
}

/** The operator's own listing, or notFound(): another operator's listing answers 404, as the API does. */
export async function ownListing(id: string, operatorId: string): Promise<Listing> {
    if (!UUID_RE.test(id)) notFound();
    let l: Listing;
    try {
        l = await api.listing(id);
    } catch (err) {
        if (err instanceof ApiError && err.status === 404) notFound();
        throw err;
    }
    if (l.operator_id !== operatorId) notFound();
    return l;
}
