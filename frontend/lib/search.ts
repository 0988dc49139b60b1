// The results page's query string <-> the API's search parameters. The URL
// holds the whole search; prices in it are in major units as people type
// them (min_price=80), and are sent to the API in minor units.
import type { SearchParams } from './api';
import { validateStay } from './dates';
import { parseMajorUnits } from './money';

export const LISTING_TYPES = ['hotel', 'apartment', 'tour', 'activity'] as const;
export const SORTS = { price_asc: 'Price: low to high', price_desc: 'Price: high to low', rating: 'Best rated' } as const;
export const CURRENCIES = ['EUR', 'GBP', 'USD', 'CHF', 'CZK', 'DKK', 'HUF', 'ISK', 'JPY', 'KRW', 'NOK', 'PLN', 'SEK', 'AED', 'AUD', 'BRL', 'CAD', 'COP', 'MAD', 'MXN', 'NZD', 'SGD', 'THB', 'TRY', 'ZAR'];

export type RawQuery = Record<string, string | string[] | undefined>;

export interface ParsedSearch {
    values: Record<string, string>;
    params: SearchParams;
    errors: Record<string, string>;
}

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.trim() ?? '';

export function parseSearch(raw: RawQuery, today?: string): ParsedSearch {
    const keys = ['q', 'city', 'check_in', 'check_out', 'guests', 'type', 'min_price', 'max_price', 'currency', 'sort', 'cursor'];
    const values: Record<string, string> = {};
    for (const k of keys) {
        const v = one(raw[k]);
        if (v) values[k] = v;
    }
    const errors: Record<string, string> = {};
    const params: SearchParams = { limit: 12 };
    if (values.q) params.q = values.q;
    if (values.city) params.city = values.city;
    Object.assign(errors, validateStay(values.check_in, values.check_out, today));
    if (values.check_in && values.check_out && !errors.check_in && !errors.check_out) {
        params.check_in = values.check_in;
        params.check_out = values.check_out;
    }
    if (values.guests) {
        const g = Number(values.guests);
        if (!/^\d+$/.test(values.guests) || g < 1 || g > 50) errors.guests = 'Guests must be a whole number from 1 to 50.';
        else params.guests = g;
    }
    if (values.type) {
        if ((LISTING_TYPES as readonly string[]).includes(values.type)) params.type = values.type;
        else errors.type = 'Choose hotel, apartment, tour or activity.';
    }
    if (values.sort) {
        if (values.sort in SORTS || values.sort === 'relevance') params.sort = values.sort;
        else errors.sort = 'Unknown sort order.';
    }
    const currency = values.currency?.toUpperCase();
    if (currency) {
        if (/^[A-Z]{3}$/.test(currency)) params.currency = currency;
        else errors.currency = 'Choose a currency.';
    }
    for (const k of ['min_price', 'max_price'] as const) {
        if (!values[k]) continue;
        if (!currency) {
            errors.currency = 'Choose the currency of your price range.';
            continue;
        }
        const minor = parseMajorUnits(values[k], currency);
        if (minor === null) errors[k] = 'Enter an amount like 120 or 99.50.';
        else params[k] = minor;
    }
    if (params.min_price !== undefined && params.max_price !== undefined && params.min_price > params.max_price) {
        errors.max_price = 'The maximum must not be below the minimum.';
    }
    if (values.cursor) params.cursor = values.cursor;
    return { values, params, errors };
}

/** The results URL for these values with some replaced (undefined removes one). */
export function searchHref(values: Record<string, string>, changes: Record<string, string | undefined> = {}): string {
    const merged: Record<string, string | undefined> = { ...values, ...changes };
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(merged)) if (v) q.set(k, v);
    const s = q.toString();
    return s ? `/search?${s}` : '/search';
}
