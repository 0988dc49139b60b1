import { describe, expect, it } from 'vitest';
import { cardBrand, checkCard, luhnValid } from '@/lib/card';
import { formatCountdown, msLeft } from '@/lib/countdown';
import { groupTrips } from '@/lib/trips';

describe('hold countdown', () => {
    it('formats minutes and seconds, rounding up to the second', () => {
        expect(formatCountdown(15 * 60 * 1000)).toBe('15:00');
        expect(formatCountdown(65_001)).toBe('1:06');
        expect(formatCountdown(9_000)).toBe('0:09');
        expect(formatCountdown(3_723_000)).toBe('1:02:03');
    });
    it('stops at zero once the hold has expired', () => {
        const now = Date.parse('2026-11-24T08:00:00Z');
        expect(msLeft('2026-11-24T08:01:30Z', now)).toBe(90_000);
        expect(msLeft('2026-11-24T07:59:00Z', now)).toBe(0);
        expect(formatCountdown(-5000)).toBe('0:00');
        expect(msLeft('not a time', now)).toBe(0);
    });
});

describe('card form checks', () => {
    const now = new Date('2026-11-24T08:00:00Z');
    const ok = { number: '4242 4242 4242 4242', exp_month: '12', exp_year: '2030', cvc: '123' };

    it('accepts the sandbox cards and rejects a broken Luhn sum', () => {
        expect(luhnValid('4242424242424242')).toBe(true);
        expect(luhnValid('4000000000000002')).toBe(true);
        expect(luhnValid('4242424242424241')).toBe(false);
        expect(luhnValid('42424')).toBe(false);
        expect(checkCard(ok, now)).toEqual({});
        expect(checkCard({ ...ok, number: '4242 4242 4242 4241' }, now)['card.number']).toMatch(/not valid/);
        expect(checkCard({ ...ok, number: '' }, now)['card.number']).toMatch(/Enter/);
    });
    it('treats the expiry month as valid to its end', () => {
        expect(checkCard({ ...ok, exp_month: '11', exp_year: '2026' }, now)).toEqual({});
        expect(checkCard({ ...ok, exp_month: '10', exp_year: '2026' }, now)['card.exp_year']).toMatch(/expired/);
        expect(checkCard({ ...ok, exp_month: '13' }, now)['card.exp_month']).toBeDefined();
        expect(checkCard({ ...ok, exp_year: '30' }, now)).toEqual({});
    });
    it('wants four CVC digits for amex and three otherwise', () => {
        expect(cardBrand('378282246310005')).toBe('amex');
        expect(cardBrand('5555555555554444')).toBe('mastercard');
        expect(checkCard({ ...ok, cvc: '12' }, now)['card.cvc']).toMatch(/3-digit/);
        const amex = { number: '3782 822463 10005', exp_month: '1', exp_year: '2031', cvc: '123' };
        expect(checkCard(amex, now)['card.cvc']).toMatch(/4-digit/);
        expect(checkCard({ ...amex, cvc: '1234' }, now)).toEqual({});
    });
});

describe('trip grouping', () => {
    const b = (id: string, status: string, check_in: string, check_out: string) => ({ id, status, check_in, check_out });
    it('groups by status and dates, soonest upcoming first', () => {
        const g = groupTrips(
            [
                b('a', 'confirmed', '2027-01-10', '2027-01-12'),
                b('b', 'confirmed', '2026-12-01', '2026-12-03'),
                b('c', 'completed', '2026-10-01', '2026-10-02'),
                b('d', 'cancelled', '2027-02-01', '2027-02-02'),
                b('e', 'expired', '2027-03-01', '2027-03-02'),
                b('f', 'confirmed', '2026-11-20', '2026-11-24'),
                b('g', 'confirmed', '2026-11-23', '2026-11-25'),
                b('h', 'pending_payment', '2026-12-20', '2026-12-21'),
            ],
            '2026-11-24',
        );
        expect(g.upcoming.map((x) => x.id)).toEqual(['g', 'b', 'h', 'a']);
        expect(g.past.map((x) => x.id)).toEqual(['f', 'c']);
        expect(g.cancelled.map((x) => x.id)).toEqual(['e', 'd']);
    });
});
