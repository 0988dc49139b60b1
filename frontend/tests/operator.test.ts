import { describe, expect, it } from 'vitest';
import { calendarRows } from '@/components/operator/calendar';
import {
    canMarkCheckedOut, checkCalendarRange, LISTING_FIELDS, listingBody, mapFieldErrors, parseAmenities, priceToMinor, todayIn,
} from '@/components/operator/forms';
import type { AvailabilityDay } from '@/lib/api';

describe('priceToMinor: major units typed by a person, in the currency’s exponent', () => {
    it('converts with two, zero and three decimals', () => {
        expect(priceToMinor('120', 'EUR')).toEqual({ amount: 12000 });
        expect(priceToMinor('99.5', 'EUR')).toEqual({ amount: 9950 });
        expect(priceToMinor('0.07', 'USD')).toEqual({ amount: 7 });
        expect(priceToMinor('15000', 'JPY')).toEqual({ amount: 15000 });
        expect(priceToMinor('1.234', 'KWD')).toEqual({ amount: 1234 });
        expect(priceToMinor('12,5', 'EUR')).toEqual({ amount: 1250 });
    });

    it('never goes through a binary fraction', () => {
        // 0.29 * 100 is 28.999999999999996 as a float.
        expect(priceToMinor('0.29', 'EUR')).toEqual({ amount: 29 });
        expect(priceToMinor('1234567.89', 'EUR')).toEqual({ amount: 123456789 });
    });

    it('accepts thousands separators and spaces', () => {
        expect(priceToMinor('1,200', 'EUR')).toEqual({ amount: 120000 });
        expect(priceToMinor('1,200.50', 'EUR')).toEqual({ amount: 120050 });
        expect(priceToMinor(' 1 200 ', 'JPY')).toEqual({ amount: 1200 });
    });

    it('refuses decimals the currency does not have, with a reason', () => {
        expect(priceToMinor('15000.5', 'JPY')).toEqual({ error: 'JPY has no minor unit: enter a whole amount.' });
        expect(priceToMinor('95.505', 'EUR')).toEqual({ error: 'EUR has 2 decimal places: enter at most 2 digits after the point.' });
    });

    it('refuses what is not a price', () => {
        for (const bad of ['', 'abc', '-5', '12.3.4', '1e3', '€12']) expect(priceToMinor(bad, 'EUR')).toHaveProperty('error');
        expect(priceToMinor('1000000000000', 'EUR')).toHaveProperty('error');
    });
});

describe('checkCalendarRange: From and To both included, today to today + 365', () => {
    const today = '2026-03-10';

    it('turns the inclusive range into the API’s half-open one', () => {
        expect(checkCalendarRange('2026-03-10', '2026-03-10', today)).toEqual({ from: '2026-03-10', to: '2026-03-11' });
        expect(checkCalendarRange('2026-03-12', '2026-03-18', today)).toEqual({ from: '2026-03-12', to: '2026-03-19' });
        expect(checkCalendarRange('2026-12-31', '2027-01-01', today)).toEqual({ from: '2026-12-31', to: '2027-01-02' });
    });

    it('refuses To before From', () => {
        expect(checkCalendarRange('2026-03-12', '2026-03-11', today)).toEqual({ errors: { to: 'The last date cannot be before the first.' } });
    });

    it('refuses the past and more than 365 days ahead', () => {
        expect(checkCalendarRange('2026-03-09', '2026-03-12', today)).toEqual({ errors: { from: 'The range cannot start in the past.' } });
        expect(checkCalendarRange('2026-03-10', '2027-03-10', today)).toEqual({ from: '2026-03-10', to: '2027-03-11' });
        expect(checkCalendarRange('2026-03-10', '2027-03-11', today)).toEqual({ errors: { to: 'The calendar can be set up to 365 days ahead.' } });
    });

    it('refuses dates that do not exist or are missing', () => {
        expect(checkCalendarRange('2026-02-30', '', today)).toEqual({
            errors: { from: 'Enter a real date (YYYY-MM-DD).', to: 'Enter the last date.' },
        });
    });
});

describe('mapFieldErrors: the API’s 422 paths on the form’s fields', () => {
    it('puts exact and nested paths at their field and keeps the first message of each', () => {
        const { byField, other } = mapFieldErrors(
            [
                { field: 'timezone', message: 'must be an IANA time zone name such as "Europe/Paris" or "UTC"' },
                { field: 'amenities.2', message: 'must be a lower-case slug' },
                { field: 'amenities.3', message: 'must be a lower-case slug too' },
                { field: 'cancellation_policy.refund_percent_after', message: 'must be an integer from 0 to 100' },
                { field: 'title', message: 'is required' },
            ],
            LISTING_FIELDS,
        );
        expect(byField).toEqual({
            timezone: 'Must be an IANA time zone name such as "Europe/Paris" or "UTC".',
            amenities: 'Must be a lower-case slug.',
            'cancellation_policy.refund_percent_after': 'Must be an integer from 0 to 100.',
            title: 'This field is required.',
        });
        expect(other).toEqual([]);
    });

    it('sends paths that name no field to the general message', () => {
        const { byField, other } = mapFieldErrors(
            [
                { field: '', message: 'at least one of quantity, price and closed is required' },
                { field: 'base_price.currency', message: 'must be the listing currency' },
                { field: 'unknown_thing', message: 'is odd' },
            ],
            ['from', 'to', 'price', 'quantity', 'base_price'],
        );
        expect(byField).toEqual({ base_price: 'Must be the listing currency.' });
        expect(other).toEqual(['At least one of quantity, price and closed is required.', 'unknown thing: This field is odd.']);
    });
});

describe('listingBody: the listing form to the API body', () => {
    const base = {
        title: ' Casa ', type: 'apartment', description: 'Nice', city: 'Porto', country: 'PT', timezone: '', address: '',
        currency: 'eur', latitude: '', longitude: '', amenities: 'WiFi, pool, wifi,  free parking', photos: '/a.svg\nhttps://x.example/b.jpg',
        'cancellation_policy.free_cancellation_hours': '48', 'cancellation_policy.refund_percent_after': '50',
    };

    it('builds the body, leaving empty optional members out on create', () => {
        const r = listingBody(base, 'create');
        expect(r).toEqual({
            body: {
                title: 'Casa', type: 'apartment', description: 'Nice', city: 'Porto', country: 'PT', currency: 'EUR',
                cancellation_policy: { free_cancellation_hours: 48, refund_percent_after: 50 },
                amenities: ['wifi', 'pool', 'free-parking'], photos: ['/a.svg', 'https://x.example/b.jpg'],
            },
        });
    });

    it('clears emptied optional members on update', () => {
        const r = listingBody({ ...base, amenities: '', photos: '' }, 'update');
        expect(r).toHaveProperty('body');
        const body = (r as unknown as { body: Record<string, unknown> }).body;
        expect(body).toMatchObject({ timezone: null, address: null, latitude: null, longitude: null, amenities: [], photos: [] });
    });

    it('wants both coordinates or neither, as numbers in range', () => {
        expect(listingBody({ ...base, latitude: '41.14' }, 'create')).toEqual({ errors: { longitude: 'Enter the longitude too, or neither.' } });
        expect(listingBody({ ...base, latitude: '91', longitude: '0' }, 'create')).toEqual({ errors: { latitude: 'The latitude is between -90 and 90.' } });
        expect(listingBody({ ...base, latitude: '41,14', longitude: '-8.61' }, 'create')).toMatchObject({ body: { latitude: 41.14, longitude: -8.61 } });
    });

    it('checks the policy numbers', () => {
        const r = listingBody({ ...base, 'cancellation_policy.refund_percent_after': '150' }, 'create');
        expect(r).toEqual({ errors: { 'cancellation_policy.refund_percent_after': 'Enter the percentage from 0 to 100.' } });
    });

    it('dedupes amenities case-insensitively', () => {
        expect(parseAmenities('Pool, pool,\nSea view')).toEqual(['pool', 'sea-view']);
    });
});

describe('operator dates', () => {
    it('knows today in the listing’s time zone', () => {
        const t = new Date('2026-03-10T23:30:00Z');
        expect(todayIn('UTC', t)).toBe('2026-03-10');
        expect(todayIn('Europe/Lisbon', t)).toBe('2026-03-10');
        expect(todayIn('Europe/Helsinki', t)).toBe('2026-03-11');
        expect(todayIn('America/New_York', new Date('2026-03-11T02:00:00Z'))).toBe('2026-03-10');
        expect(todayIn('Not/AZone', t)).toBe('2026-03-10');
    });

    it('offers "Mark checked out" on a confirmed booking from its check-in date', () => {
        expect(canMarkCheckedOut({ status: 'confirmed', check_in: '2026-03-10' }, '2026-03-10')).toBe(true);
        expect(canMarkCheckedOut({ status: 'confirmed', check_in: '2026-03-11' }, '2026-03-10')).toBe(false);
        expect(canMarkCheckedOut({ status: 'pending_payment', check_in: '2026-03-01' }, '2026-03-10')).toBe(false);
        expect(canMarkCheckedOut({ status: 'completed', check_in: '2026-03-01' }, '2026-03-10')).toBe(false);
    });
});

describe('calendarRows: held and booked from the bookings, quantity = available + held + booked', () => {
    const eur = (amount: number) => ({ amount, currency: 'EUR' });
    const day = (date: string, available: number, closed = false): AvailabilityDay => ({ unit_id: 'u1', date, available, price: eur(9000), closed });
    const now = Date.parse('2026-03-10T12:00:00Z');

    it('counts each booking on its nights, by status and hold', () => {
        const rows = calendarRows(
            [day('2026-03-12', 1), day('2026-03-11', 3), day('2026-03-13', 4, true), { ...day('2026-03-11', 9), unit_id: 'u2' }],
            [
                { unit_id: 'u1', status: 'confirmed', hold_expires_at: null, check_in: '2026-03-11', check_out: '2026-03-13', quantity: 1 },
                { unit_id: 'u1', status: 'pending_payment', hold_expires_at: '2026-03-10T12:10:00Z', check_in: '2026-03-12', check_out: '2026-03-13', quantity: 2 },
                // A hold that ran out and a cancelled stay occupy nothing; another unit is not counted.
                { unit_id: 'u1', status: 'pending_payment', hold_expires_at: '2026-03-10T11:50:00Z', check_in: '2026-03-11', check_out: '2026-03-14', quantity: 5 },
                { unit_id: 'u1', status: 'cancelled', hold_expires_at: null, check_in: '2026-03-11', check_out: '2026-03-14', quantity: 5 },
                { unit_id: 'u2', status: 'confirmed', hold_expires_at: null, check_in: '2026-03-11', check_out: '2026-03-14', quantity: 5 },
            ],
            'u1',
            now,
        );
        expect(rows.map((r) => [r.date, r.quantity, r.held, r.booked, r.available, r.closed])).toEqual([
            ['2026-03-11', 4, 0, 1, 3, false],
            ['2026-03-12', 4, 2, 1, 1, false],
            ['2026-03-13', 4, 0, 0, 4, true],
        ]);
    });
});
