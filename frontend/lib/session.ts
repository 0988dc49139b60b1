// Session cookies: the access and refresh tokens live only in httpOnly,
// SameSite=Lax cookies (Secure over https), never in the browser's storage.
import { api, type TokenPair } from './api';

export const ACCESS_COOKIE = 'roam_at';
export const REFRESH_COOKIE = 'roam_rt';
/** Refresh this long before the access token's exp, so a request never carries a token about to die. */
export const EXPIRY_MARGIN_SECONDS = 30;
const REFRESH_LIFETIME_SECONDS = 30 * 24 * 3600;

export interface CookieSpec {
    name: string;
    value: string;
    httpOnly: true;
    sameSite: 'lax';
    secure: boolean;
    path: '/';
    maxAge: number;
}

/** The two cookies that carry a token pair. */
export function sessionCookies(pair: Pick<TokenPair, 'access_token' | 'refresh_token' | 'expires_in'>, secure: boolean): CookieSpec[] {
    const base = { httpOnly: true as const, sameSite: 'lax' as const, secure, path: '/' as const };
    return [
        { ...base, name: ACCESS_COOKIE, value: pair.access_token, maxAge: Math.max(60, pair.expires_in) },
        { ...base, name: REFRESH_COOKIE, value: pair.refresh_token, maxAge: REFRESH_LIFETIME_SECONDS },
    ];
}

/** The `exp` claim (seconds) of a JWT, without verifying it (the gateway does that), or null. */
export function tokenExpiry(token: string | undefined): number | null {
    if (!token) return null;
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    try {
        const json = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { exp?: unknown };
        return typeof json.exp === 'number' ? json.exp : null;
    } catch {
        return null;
    }
}

export function needsRefresh(access: string | undefined, nowSeconds: number = Date.now() / 1000): boolean {
    const exp = tokenExpiry(access);
    return exp === null || exp - EXPIRY_MARGIN_SECONDS <= nowSeconds;
}

// One refresh at a time per session: concurrent requests of one browser that
// all find the access token expired share one call to /auth/refresh (the
// auth service's reuse interval covers several server processes).
const inflight = new Map<string, Promise<TokenPair | null>>();

/** A new pair for this refresh token, or null when the session is over (401). Throws ApiError when auth is down. */
export function refreshOnce(refreshToken: string): Promise<TokenPair | null> {
    const running = inflight.get(refreshToken);
    if (running) return running;
    const p = api
        .refresh(refreshToken)
        .catch((err: unknown) => {
            if (err && typeof err === 'object' && 'status' in err && (err.status === 401 || err.status === 422)) return null;
            throw err;
        })
        .finally(() => {
            // Keep the answer a little while for requests that started with the same cookie.
            setTimeout(() => inflight.delete(refreshToken), 5000).unref?.();
        });
    inflight.set(refreshToken, p);
    return p;
}
