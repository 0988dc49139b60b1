// Money display: amounts are integer minor units (API.md, "Money"); the
// number of minor-unit digits is ISO 4217's, the same table as libs/src/money.c.

export interface Money {
    amount: number;
    currency: string;
}

const EXPONENT: Record<string, number> = {
    BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
    BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0,
    RWF: 0, UGX: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
};

/** Minor-unit digits of an ISO 4217 code (EUR 2, JPY 0, KWD 3). */
export function currencyExponent(currency: string): number {
    return EXPONENT[currency.toUpperCase()] ?? 2;
}

/**
 * The amount as an exact decimal string ("1234.50" for 123450 EUR), built
 * from the integer so that no binary fraction ever rounds it.
 */
export function toDecimalString(amount: number, currency: string): string {
    if (!Number.isSafeInteger(amount)) {
        throw new RangeError(`money amount must be an integer number of minor units, got ${amount}`);
    }
    const exp = currencyExponent(currency);
    const negative = amount < 0;
    const digits = String(Math.abs(amount)).padStart(exp + 1, '0');
    const whole = digits.slice(0, digits.length - exp);
    const frac = exp > 0 ? '.' + digits.slice(digits.length - exp) : '';
    return (negative ? '-' : '') + whole + frac;
}

export interface FormatOptions {
    locale?: string;
    /** Drop a zero fraction ("€120" instead of "€120.00"), for compact cards. */
    trimZeroFraction?: boolean;
}

/** A localized string for money: formatMoney({amount: 123450, currency: 'EUR'}, {locale: 'en-GB'}) is "€1,234.50". */
export function formatMoney(money: Money, options: FormatOptions = {}): string {
    const exp = currencyExponent(money.currency);
    const decimal = toDecimalString(money.amount, money.currency);
    const wholeAmount = money.amount % 10 ** exp === 0;
    const fraction = options.trimZeroFraction && wholeAmount ? 0 : exp;
    const format = new Intl.NumberFormat(options.locale ?? 'en-GB', {
        style: 'currency',
        currency: money.currency.toUpperCase(),
        minimumFractionDigits: fraction,
        maximumFractionDigits: fraction,
    });
    // Intl.NumberFormat formats a decimal string exactly (no float on the way).
    return format.format(decimal as unknown as number);
}

/** Minor units from what a person typed in major units ("120", "99.5"), or null when it is not a price. */
export function parseMajorUnits(text: string, currency: string): number | null {
    const exp = currencyExponent(currency);
    const trimmed = text.trim();
    const match = /^(\d{1,12})(?:[.,](\d*))?$/.exec(trimmed);
    if (!match) return null;
    const frac = match[2] ?? '';
    if (frac.length > exp) return null;
    return Number(match[1]) * 10 ** exp + Number(frac.padEnd(exp, '0') || '0');
}
