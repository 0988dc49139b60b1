import { describe, expect, it } from 'vitest';
import { validateEmail, validateLogin, validateSignup } from '@/lib/forms';
import { parseSearch, searchHref } from '@/lib/search';

describe('sign-up validation mirrors the API', () => {
    it('accepts a valid account', () => {
        expect(validateSignup({ name: 'Ada Lovelace', email: 'ada@example.com', password: 'correct horse' })).toEqual({});
    });

    it('names every wrong field', () => {
        const errors = validateSignup({ name: '   ', email: 'ada@', password: 'short' });
        expect(Object.keys(errors).sort()).toEqual(['email', 'name', 'password']);
    });

    it('counts characters, not bytes', () => {
        expect(validateSignup({ name: 'é'.repeat(100), email: 'a@b.co', password: '🔑'.repeat(10) })).toEqual({});
        expect(validateSignup({ name: 'é'.repeat(101), email: 'a@b.co', password: '🔑'.repeat(9) })).toEqual({
            name: 'A name has at most 100 characters.',
            password: 'Use at least 10 characters.',
        });
    });

    it('checks emails as the auth service does', () => {
        expect(validateEmail('name@example.com')).toBeUndefined();
        expect(validateEmail('a@@b.com')).toBeDefined();
        expect(validateEmail('a@localhost')).toBeDefined();
        expect(validateEmail('a@b..com')).toBeDefined();
        expect(validateEmail('a b@c.com')).toBeDefined();
    });

    it('only needs both fields to log in', () => {
        expect(validateLogin({ email: '', password: '' })).toEqual({ email: 'Enter your email address.', password: 'Enter your password.' });
        expect(validateLogin({ email: 'x', password: 'y' })).toEqual({});
    });
});

describe('search URL', () => {
    const today = '2026-03-10';

    it('turns typed prices into minor units of the chosen currency', () => {
        const { params, errors } = parseSearch({ city: 'Tokyo', min_price: '8000', max_price: '20000', currency: 'jpy' }, today);
        expect(errors).toEqual({});
        expect(params).toMatchObject({ city: 'Tokyo', min_price: 8000, max_price: 20000, currency: 'JPY' });
        expect(parseSearch({ min_price: '80.5', currency: 'EUR' }, today).params.min_price).toBe(8050);
    });

    it('needs a currency for a price range, as the API does', () => {
        expect(parseSearch({ min_price: '80' }, today).errors.currency).toMatch(/currency/);
    });

    it('refuses a maximum below the minimum and bad guests', () => {
        expect(parseSearch({ min_price: '90', max_price: '80', currency: 'EUR' }, today).errors.max_price).toBeDefined();
        expect(parseSearch({ guests: '0' }, today).errors.guests).toBeDefined();
        expect(parseSearch({ guests: 'two' }, today).errors.guests).toBeDefined();
    });

    it('sends dates only when the stay is valid', () => {
        expect(parseSearch({ check_in: '2026-03-12', check_out: '2026-03-14' }, today).params.check_in).toBe('2026-03-12');
        const bad = parseSearch({ check_in: '2026-03-14', check_out: '2026-03-12' }, today);
        expect(bad.params.check_in).toBeUndefined();
        expect(bad.errors.check_out).toBeDefined();
    });

    it('builds links that keep the search and replace one part', () => {
        const href = searchHref({ city: 'Zürich', guests: '2', cursor: 'abc' }, { cursor: 'next_1', sort: 'rating' });
        const url = new URL(href, 'http://x');
        expect(url.pathname).toBe('/search');
        expect(url.searchParams.get('city')).toBe('Zürich');
        expect(url.searchParams.get('cursor')).toBe('next_1');
        expect(url.searchParams.get('sort')).toBe('rating');
        expect(new URL(searchHref({ city: 'Rome', cursor: 'abc' }, { cursor: undefined }), 'http://x').searchParams.has('cursor')).toBe(false);
    });
});
