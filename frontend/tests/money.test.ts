import { describe, expect, it } from 'vitest';
import { currencyExponent, formatMoney, parseMajorUnits, toDecimalString } from '@/lib/money';

// Intl puts no-break spaces between symbol and number.
const spaces = (s: string) => s.replace(/\s/g, ' ');

describe('money display', () => {
    it('uses two decimals for EUR', () => {
        expect(formatMoney({ amount: 123450, currency: 'EUR' }, { locale: 'en-GB' })).toBe('€1,234.50');
        expect(formatMoney({ amount: 5, currency: 'EUR' }, { locale: 'en-GB' })).toBe('€0.05');
    });

    it('has no minor unit for JPY', () => {
        expect(currencyExponent('JPY')).toBe(0);
        expect(formatMoney({ amount: 15000, currency: 'JPY' }, { locale: 'en-GB' })).toBe('JP¥15,000');
        expect(formatMoney({ amount: 15000, currency: 'JPY' }, { locale: 'ja-JP' })).toMatch(/15,000/);
    });

    it('has three decimals for KWD and BHD', () => {
        expect(toDecimalString(12345, 'KWD')).toBe('12.345');
        expect(spaces(formatMoney({ amount: 12345, currency: 'KWD' }, { locale: 'en-GB' }))).toBe('KWD 12.345');
        expect(spaces(formatMoney({ amount: 1, currency: 'BHD' }, { locale: 'en-GB' }))).toBe('BHD 0.001');
    });

    it('follows the locale', () => {
        const de = formatMoney({ amount: 123450, currency: 'EUR' }, { locale: 'de-DE' });
        expect(spaces(de)).toBe('1.234,50 €');
    });

    it('is exact for large amounts', () => {
        expect(toDecimalString(99999999999, 'EUR')).toBe('999999999.99');
        expect(formatMoney({ amount: 99999999999, currency: 'USD' }, { locale: 'en-US' })).toBe('$999,999,999.99');
    });

    it('can drop a zero fraction but keeps a real one', () => {
        expect(formatMoney({ amount: 12000, currency: 'EUR' }, { locale: 'en-GB', trimZeroFraction: true })).toBe('€120');
        expect(formatMoney({ amount: 12050, currency: 'EUR' }, { locale: 'en-GB', trimZeroFraction: true })).toBe('€120.50');
    });

    it('refuses floats', () => {
        expect(() => toDecimalString(12.5, 'EUR')).toThrow(RangeError);
    });

    it('parses typed prices into minor units', () => {
        expect(parseMajorUnits('120', 'EUR')).toBe(12000);
        expect(parseMajorUnits('99.5', 'EUR')).toBe(9950);
        expect(parseMajorUnits('1500', 'JPY')).toBe(1500);
        expect(parseMajorUnits('1.5', 'JPY')).toBeNull();
        expect(parseMajorUnits('2.125', 'KWD')).toBe(2125);
        expect(parseMajorUnits('abc', 'EUR')).toBeNull();
        expect(parseMajorUnits('-3', 'EUR')).toBeNull();
    });
});
