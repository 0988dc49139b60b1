// Silent refresh: before a page renders, an expired (or nearly expired)
// access token is swapped for a new pair with /auth/refresh, and the page
// sees the new cookie in the same request. A refresh token the auth service
// no longer accepts ends the session (both cookies are cleared).
import { NextResponse, type NextRequest } from 'next/server';
import { ACCESS_COOKIE, REFRESH_COOKIE, needsRefresh, refreshOnce, sessionCookies } from './lib/session';

export async function proxy(request: NextRequest) {
    const refresh = request.cookies.get(REFRESH_COOKIE)?.value;
    const access = request.cookies.get(ACCESS_COOKIE)?.value;
    if (!refresh || !needsRefresh(access)) return NextResponse.next();

    let pair;
    try {
        pair = await refreshOnce(refresh);
    } catch {
        // Auth is unreachable: keep the cookies and let the page show the visitor as logged out for now.
        return NextResponse.next();
    }
    const secure = request.nextUrl.protocol === 'https:' || request.headers.get('x-forwarded-proto') === 'https';
    if (!pair) {
        request.cookies.delete(ACCESS_COOKIE);
        request.cookies.delete(REFRESH_COOKIE);
        const res = NextResponse.next({ request: { headers: request.headers } });
        res.cookies.delete(ACCESS_COOKIE);
        res.cookies.delete(REFRESH_COOKIE);
        return res;
    }
    const cookies = sessionCookies(pair, secure);
    for (const c of cookies) request.cookies.set(c.name, c.value);
    const res = NextResponse.next({ request: { headers: request.headers } });
    for (const c of cookies) res.cookies.set(c);
    return res;
}

export const config = {
    // Pages only: not static files, the placeholder photos or Next's internals.
    matcher: ['/((?!_next/|demo/|favicon\\.ico|icon\\.svg).*)'],
};
