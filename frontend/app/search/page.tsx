import type { Metadata } from 'next';
import Link from 'next/link';
import { SearchForm } from '@/components/SearchForm';
import { SearchResults } from '@/components/SearchResults';
import { api, ApiError, describeError, type Page, type SearchItem } from '@/lib/api';
import { nightsBetween, todayIso } from '@/lib/dates';
import { CURRENCIES, LISTING_TYPES, SORTS, parseSearch, searchHref, type RawQuery } from '@/lib/search';

export async function generateMetadata({ searchParams }: { searchParams: Promise<RawQuery> }): Promise<Metadata> {
    const sp = await searchParams;
    const city = typeof sp.city === 'string' && sp.city ? sp.city : null;
    return { title: city ? `Stays and things to do in ${city}` : 'Search' };
}

export default async function SearchPage({ searchParams }: { searchParams: Promise<RawQuery> }) {
    const today = todayIso();
    const { values, params, errors } = parseSearch(await searchParams, today);
    const hasErrors = Object.keys(errors).length > 0;

    let page: Page<SearchItem> | null = null;
    let failure: ApiError | Error | null = null;
    const apiErrors: Record<string, string> = {};
    if (!hasErrors) {
        try {
            page = await api.searchListings(params);
        } catch (err) {
            failure = err instanceof Error ? err : new Error(String(err));
            if (err instanceof ApiError) Object.assign(apiErrors, err.byField());
        }
    }
    const fieldErrors = { ...apiErrors, ...errors };
    const nights = params.check_in && params.check_out ? nightsBetween(params.check_in, params.check_out) : 0;
    const stay = new URLSearchParams();
    if (params.check_in && params.check_out) {
        stay.set('check_in', params.check_in);
        stay.set('check_out', params.check_out);
    }
    if (params.guests) stay.set('guests', String(params.guests));
    const stayQuery = stay.size ? `?${stay}` : '';
    const where = values.city || values.q;

    return (
        <div className="container">
            <div style={{ paddingTop: '1.25rem' }}>
                <SearchForm values={values} errors={fieldErrors} today={today} />
            </div>
            <div className="results-layout">
                <form action="/search" method="get" className="filters" aria-label="Filters" id="filters">
                    {['city', 'q', 'check_in', 'check_out', 'guests'].map((k) =>
                        values[k] && !fieldErrors[k] ? <input key={k} type="hidden" name={k} value={values[k]} /> : null,
                    )}
                    <h2 style={{ margin: 0, fontSize: '1.1rem' }}>Filters</h2>
                    <div className="field">
                        <label htmlFor="ft-type">Type</label>
                        <select id="ft-type" name="type" defaultValue={values.type ?? ''}>
                            <option value="">Any</option>
                            {LISTING_TYPES.map((t) => (
                                <option key={t} value={t}>
                                    {t[0].toUpperCase() + t.slice(1)}
                                </option>
                            ))}
                        </select>
                    </div>
                    <fieldset className="field">
                        <legend>Price for the stay</legend>
                        <FilterInput name="min_price" label="Minimum" value={values.min_price} error={fieldErrors.min_price} />
                        <FilterInput name="max_price" label="Maximum" value={values.max_price} error={fieldErrors.max_price} />
                        <label htmlFor="ft-currency">Currency</label>
                        <select id="ft-currency" name="currency" defaultValue={values.currency?.toUpperCase() ?? ''} aria-describedby={fieldErrors.currency ? 'ft-currency-error' : undefined} aria-invalid={fieldErrors.currency ? true : undefined}>
                            <option value="">Any currency</option>
                            {CURRENCIES.map((c) => (
                                <option key={c} value={c}>
                                    {c}
                                </option>
                            ))}
                        </select>
                        {fieldErrors.currency && (
                            <p className="field-error" id="ft-currency-error">
                                {fieldErrors.currency}
                            </p>
                        )}
                    </fieldset>
                    <div className="field">
                        <label htmlFor="ft-sort">Sort by</label>
                        <select id="ft-sort" name="sort" defaultValue={values.sort ?? ''}>
                            <option value="">{values.q ? 'Relevance' : 'Price: low to high'}</option>
                            {Object.entries(SORTS).map(([k, label]) => (
                                <option key={k} value={k}>
                                    {label}
                                </option>
                            ))}
                        </select>
                    </div>
                    <button type="submit" className="button button-primary">
                        Apply filters
                    </button>
                    <Link href={searchHref({ city: values.city ?? '', check_in: values.check_in ?? '', check_out: values.check_out ?? '', guests: values.guests ?? '' })}>
                        Clear filters
                    </Link>
                </form>
                <section aria-labelledby="results-title" aria-live="polite">
                    <div className="results-head">
                        <h1 id="results-title" style={{ fontSize: '1.4rem', margin: 0 }}>
                            {where ? `Places in ${where}` : 'All places'}
                        </h1>
                        <a href="#filters" className="to-filters">
                            Filter and sort
                        </a>
                        {nights > 0 && (
                            <span className="muted">
                                {nights} {nights === 1 ? 'night' : 'nights'} · {params.guests ?? 1} {(params.guests ?? 1) === 1 ? 'guest' : 'guests'} · prices for the whole stay
                            </span>
                        )}
                    </div>
                    {hasErrors && (
                        <div className="alert alert-error" role="alert">
                            Some of your search needs fixing: {Object.values(errors).join(' ')}
                        </div>
                    )}
                    {failure && (
                        <div className="alert alert-error" role="alert">
                            {failure instanceof ApiError && failure.code === 'validation_failed'
                                ? `Please check your search: ${failure.fieldErrors.map((e) => e.message).join(' ') || failure.detail || ''}`
                                : `${describeError(failure)} Your search is kept in the address bar; reload the page to try again.`}
                        </div>
                    )}
                    {page && page.items.length === 0 && (
                        <div className="empty">
                            <h2 style={{ marginTop: 0 }}>Nothing matches this search</h2>
                            <p>Try other dates, fewer guests, a wider price range or another type of place.</p>
                            {values.cursor ? <Link href={searchHref(values, { cursor: undefined })}>Back to the first results</Link> : null}
                        </div>
                    )}
                    {values.cursor && page && page.items.length > 0 && (
                        <p>
                            <Link href={searchHref(values, { cursor: undefined })}>Back to the first results</Link>
                        </p>
                    )}
                    {page && page.items.length > 0 && (
                        // A new search (other filters, another cursor in the URL) starts a new list.
                        <SearchResults
                            key={searchHref(values)}
                            initial={page.items}
                            nextCursor={page.next_cursor}
                            values={values}
                            stayQuery={stayQuery}
                            nights={nights}
                        />
                    )}
                </section>
            </div>
        </div>
    );
}

function FilterInput({ name, label, value, error }: { name: string; label: string; value?: string; error?: string }) {
    const id = `ft-${name}`;
    return (
        <>
            <label htmlFor={id}>{label}</label>
            <input id={id} name={name} inputMode="decimal" defaultValue={value} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined} />
            {error && (
                <p className="field-error" id={`${id}-error`}>
                    {error}
                </p>
            )}
        </>
    );
}
