import { describe, expect, it } from 'vitest';
import { addDays, monthGrid, nightsBetween, parseDate, validateStay } from '@/lib/dates';

const today = '2026-03-10';

describe('date range picking', () => {
    it('accepts a normal stay and counts its nights', () => {
        expect(validateStay('2026-03-12', '2026-03-15', today)).toEqual({});
        expect(nightsBetween('2026-03-12', '2026-03-15')).toBe(3);
    });

    it('accepts no dates at all (browsing without a stay)', () => {
        expect(validateStay(undefined, undefined, today)).toEqual({});
        expect(validateStay('', '', today)).toEqual({});
    });

    it('asks for the other date when only one is given', () => {
        expect(validateStay('2026-03-12', undefined, today)).toEqual({ check_out: 'Choose a check-out date too.' });
        expect(validateStay(undefined, '2026-03-12', today)).toEqual({ check_in: 'Choose a check-in date too.' });
    });

    it('refuses dates that do not exist', () => {
        expect(parseDate('2026-02-30')).toBeNull();
        expect(parseDate('2026-13-01')).toBeNull();
        expect(parseDate('12/03/2026')).toBeNull();
        expect(validateStay('2026-02-30', '2026-03-02', today).check_in).toMatch(/real date/);
        expect(parseDate('2028-02-29')).not.toBeNull();
    });

    it('needs check-out after check-in', () => {
        expect(validateStay('2026-03-12', '2026-03-12', today).check_out).toMatch(/after check-in/);
        expect(validateStay('2026-03-12', '2026-03-11', today).check_out).toMatch(/after check-in/);
    });

    it('refuses the past, stays over 30 nights and dates over a year ahead', () => {
        expect(validateStay('2026-03-09', '2026-03-11', today).check_in).toMatch(/past/);
        expect(validateStay('2026-03-10', '2026-03-11', today)).toEqual({});
        expect(validateStay('2026-04-01', '2026-05-01', today)).toEqual({});
        expect(validateStay('2026-04-01', '2026-05-02', today).check_out).toMatch(/30 nights/);
        expect(validateStay('2027-03-11', '2027-03-12', today).check_in).toMatch(/year ahead/);
    });

    it('adds days across months and leap years', () => {
        expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
        expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
        expect(nightsBetween('2026-03-28', '2026-03-30')).toBe(2); // DST in Europe does not matter: dates are UTC
    });

    it('lays a month out in Monday-first weeks', () => {
        const weeks = monthGrid(2026, 2); // March 2026 starts on a Sunday
        expect(weeks[0].slice(0, 6)).toEqual([null, null, null, null, null, null]);
        expect(weeks[0][6]).toBe('2026-03-01');
        expect(weeks.flat().filter(Boolean)).toHaveLength(31);
        expect(weeks.every((w) => w.length === 7)).toBe(true);
    });
});
