import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, apiRequest, buildQuery, describeError, toApiError } from '@/lib/api';
import { needsRefresh, sessionCookies, tokenExpiry } from '@/lib/session';

describe('API client error mapping', () => {
    it('keeps the problem code, detail and field errors of a 422', () => {
        const err = toApiError(422, {
            type: 'urn:roam:problem:validation_failed',
            title: 'Validation failed',
            status: 422,
            code: 'validation_failed',
            detail: 'The request has invalid fields.',
            errors: [
                { field: 'password', message: 'must be 10 to 128 characters' },
                { field: 'card.number', message: 'fails the Luhn check' },
                { field: 'password', message: 'second message' },
            ],
        });
        expect(err).toBeInstanceOf(ApiError);
        expect(err.status).toBe(422);
        expect(err.code).toBe('validation_failed');
        expect(err.byField()).toEqual({ password: 'must be 10 to 128 characters', 'card.number': 'fails the Luhn check' });
        expect(describeError(err)).toBe('Please check the highlighted fields.');
    });

    it('maps stable codes to sentences for people', () => {
        expect(describeError(toApiError(409, { code: 'email_taken', title: 'Email taken', status: 409 }))).toMatch(/already exists/);
        expect(describeError(toApiError(401, { code: 'invalid_credentials', status: 401 }))).toMatch(/do not match/);
        expect(describeError(toApiError(429, { code: 'rate_limited', status: 429 }, '30'))).toMatch(/30 seconds/);
    });

    it('still gives a code when the body is not a problem', () => {
        expect(toApiError(502, undefined).code).toBe('upstream_unavailable');
        expect(toApiError(404, '<html>').code).toBe('not_found');
        expect(toApiError(500, [1, 2]).code).toBe('internal_error');
        expect(toApiError(422, { errors: [{ field: 1 }, null, { field: 'email', message: 'bad' }] }).fieldErrors).toEqual([
            { field: 'email', message: 'bad' },
        ]);
    });

    it('leaves out empty query parameters', () => {
        expect(buildQuery({ city: 'Zürich', guests: 2, cursor: '', type: undefined })).toBe('?city=Z%C3%BCrich&guests=2');
        expect(buildQuery({})).toBe('');
    });
});

describe('apiRequest against a local HTTP server', () => {
    afterEach(() => {
        vi.unstubAllEnvs();
    });

    it('throws ApiError with the server problem, and upstream_unavailable when nothing listens', async () => {
        const http = await import('node:http');
        const server = http.createServer((req, res) => {
            if (req.url?.startsWith('/api/v1/auth/login')) {
                res.writeHead(401, { 'Content-Type': 'application/problem+json' });
                res.end(JSON.stringify({ type: 'urn:roam:problem:invalid_credentials', title: 'Invalid credentials', status: 401, code: 'invalid_credentials' }));
            } else {
                res.writeHead(200, { 'Content-Type': 'application/json' });
                res.end(JSON.stringify({ items: [], next_cursor: null, url: req.url, auth: req.headers.authorization ?? null }));
            }
        });
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        const port = (server.address() as { port: number }).port;
        vi.stubEnv('ROAM_GATEWAY_URL', `http://127.0.0.1:${port}/`);
        try {
            const ok = await apiRequest<{ url: string; auth: string }>('/listings', { query: { city: 'Rome' }, token: 'tok' });
            expect(ok.url).toBe('/api/v1/listings?city=Rome');
            expect(ok.auth).toBe('Bearer tok');
            await expect(apiRequest('/auth/login', { method: 'POST', body: {} })).rejects.toMatchObject({ status: 401, code: 'invalid_credentials' });
        } finally {
            await new Promise((r) => server.close(r));
        }
        await expect(apiRequest('/listings')).rejects.toMatchObject({ status: 503, code: 'upstream_unavailable' });
    });
});

describe('session cookies', () => {
    const jwt = (claims: object) => `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`;

    it('are httpOnly and SameSite=Lax, Secure only over https', () => {
        const cookies = sessionCookies({ access_token: 'a', refresh_token: 'r', expires_in: 900 }, false);
        expect(cookies.every((c) => c.httpOnly && c.sameSite === 'lax' && c.path === '/' && !c.secure)).toBe(true);
        expect(sessionCookies({ access_token: 'a', refresh_token: 'r', expires_in: 900 }, true).every((c) => c.secure)).toBe(true);
    });

    it('refresh an access token that expired or is about to', () => {
        const now = 1_800_000_000;
        expect(tokenExpiry(jwt({ exp: now + 600 }))).toBe(now + 600);
        expect(needsRefresh(jwt({ exp: now + 600 }), now)).toBe(false);
        expect(needsRefresh(jwt({ exp: now + 10 }), now)).toBe(true);
        expect(needsRefresh(jwt({ exp: now - 1 }), now)).toBe(true);
        expect(needsRefresh(undefined, now)).toBe(true);
        expect(needsRefresh('garbage', now)).toBe(true);
    });
});

describe('silent refresh', () => {
    afterEach(() => {
        vi.unstubAllEnvs();
    });

    it('sends one /auth/refresh for concurrent requests of one session, and ends a refused session', async () => {
        const { refreshOnce } = await import('@/lib/session');
        const http = await import('node:http');
        let calls = 0;
        const server = http.createServer((req, res) => {
            let body = '';
            req.on('data', (c) => (body += c));
            req.on('end', () => {
                calls++;
                const token = JSON.parse(body).refresh_token as string;
                setTimeout(() => {
                    if (token === 'revoked') {
                        res.writeHead(401, { 'Content-Type': 'application/problem+json' });
                        res.end(JSON.stringify({ code: 'unauthorized', status: 401, title: 'Unauthorized' }));
                        return;
                    }
                    res.writeHead(200, { 'Content-Type': 'application/json' });
                    res.end(JSON.stringify({ access_token: `at-${calls}`, refresh_token: `rt-${calls}`, expires_in: 900, token_type: 'Bearer' }));
                }, 50);
            });
        });
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        vi.stubEnv('ROAM_GATEWAY_URL', `http://127.0.0.1:${(server.address() as { port: number }).port}`);
        try {
            const answers = await Promise.all([refreshOnce('rt-a'), refreshOnce('rt-a'), refreshOnce('rt-a')]);
            expect(calls).toBe(1);
            expect(answers.map((a) => a?.access_token)).toEqual(['at-1', 'at-1', 'at-1']);
            await refreshOnce('rt-b');
            expect(calls).toBe(2);
            expect(await refreshOnce('revoked')).toBeNull();
        } finally {
            await new Promise((r) => server.close(r));
        }
    });
});
