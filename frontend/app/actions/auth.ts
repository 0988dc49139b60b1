'use server';
// Sign up, log in and log out as server actions: the forms post here (they
// work without JavaScript) and the tokens go straight into httpOnly cookies.
import { cookies, headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { api, ApiError, describeError, type TokenPair } from '@/lib/api';
import { validateLogin, validateSignup, type FormState } from '@/lib/forms';
import { ACCESS_COOKIE, REFRESH_COOKIE, sessionCookies } from '@/lib/session';

/** Only same-site paths, so that ?next= cannot send anyone to another site. */
function safeNext(value: FormDataEntryValue | null): string {
    const s = typeof value === 'string' ? value : '';
    return s.startsWith('/') && !s.startsWith('//') && !s.startsWith('/\\') ? s : '/';
}

async function isHttps(): Promise<boolean> {
    const h = await headers();
    return h.get('x-forwarded-proto') === 'https';
}

async function startSession(pair: TokenPair) {
    const jar = await cookies();
    for (const c of sessionCookies(pair, await isHttps())) jar.set(c);
}

function text(form: FormData, name: string): string {
    const v = form.get(name);
    return typeof v === 'string' ? v : '';
}

/** The API's field errors under the form's field names (they are the same, one level deep). */
function failure(err: unknown, values: Record<string, string>): FormState {
    if (err instanceof ApiError) {
        const errors = err.byField();
        if (err.code === 'email_taken') errors.email = 'An account with this email already exists.';
        return { errors, message: describeError(err), values };
    }
    return { errors: {}, message: describeError(err), values };
}

export async function signUp(_prev: FormState, form: FormData): Promise<FormState> {
    const input = { name: text(form, 'name'), email: text(form, 'email'), password: text(form, 'password') };
    const role = text(form, 'role') === 'operator' ? 'operator' : 'traveller';
    const values = { name: input.name, email: input.email, role };
    const errors = validateSignup(input);
    if (Object.keys(errors).length) return { errors, message: 'Please check the highlighted fields.', values };
    try {
        await startSession(await api.register({ ...input, name: input.name.trim(), email: input.email.trim(), role }));
    } catch (err) {
        return failure(err, values);
    }
    redirect(safeNext(form.get('next')));
}

export async function logIn(_prev: FormState, form: FormData): Promise<FormState> {
    const input = { email: text(form, 'email').trim(), password: text(form, 'password') };
    const values = { email: input.email };
    const errors = validateLogin(input);
    if (Object.keys(errors).length) return { errors, message: 'Please check the highlighted fields.', values };
    try {
        await startSession(await api.login(input));
    } catch (err) {
        return failure(err, values);
    }
    redirect(safeNext(form.get('next')));
}

export async function logOut(): Promise<void> {
    const jar = await cookies();
    const access = jar.get(ACCESS_COOKIE)?.value;
    const refresh = jar.get(REFRESH_COOKIE)?.value;
    if (access) {
        try {
            await api.logout(access, refresh);
        } catch {
            // An expired or already revoked token: the session is over either way.
        }
    }
    jar.delete(ACCESS_COOKIE);
    jar.delete(REFRESH_COOKIE);
    redirect('/');
}
