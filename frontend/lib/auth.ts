// The signed-in user for a server component, from the session cookie.
import { cookies } from 'next/headers';
import { cache } from 'react';
import { api, ApiError, type User } from './api';
import { ACCESS_COOKIE } from './session';

export async function accessToken(): Promise<string | undefined> {
    return (await cookies()).get(ACCESS_COOKIE)?.value;
}

/** The current user, or null when logged out (or when auth cannot say). Cached per request. */
export const currentUser = cache(async (): Promise<User | null> => {
    const token = await accessToken();
    if (!token) return null;
    try {
        return await api.me(token);
    } catch (err) {
        if (err instanceof ApiError) return null;
        throw err;
    }
});
