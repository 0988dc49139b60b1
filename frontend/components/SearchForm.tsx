// The search form: a plain GET form to /search, so the whole search lives in
// the URL and works without JavaScript.
import { DestinationInput } from './DestinationInput';

export interface SearchValues {
    city?: string;
    check_in?: string;
    check_out?: string;
    guests?: string;
}

export function SearchForm({ values = {}, errors = {}, today }: { values?: SearchValues; errors?: Record<string, string>; today: string }) {
    return (
        <form action="/search" method="get" className="search-form" role="search" aria-label="Search stays and experiences">
            <DestinationInput defaultValue={values.city} error={errors.city} />
            <DateField name="check_in" label="Check-in" value={values.check_in} min={today} error={errors.check_in} />
            <DateField name="check_out" label="Check-out" value={values.check_out} min={today} error={errors.check_out} />
            <div className="field">
                <label htmlFor="guests">Guests</label>
                <input id="guests" name="guests" type="number" min={1} max={50} inputMode="numeric" defaultValue={values.guests || '2'} />
            </div>
            <button type="submit" className="button button-primary">
                Search
            </button>
        </form>
    );
}

function DateField({ name, label, value, min, error }: { name: string; label: string; value?: string; min: string; error?: string }) {
    const id = `sf-${name}`;
    return (
        <div className={error ? 'field field-invalid' : 'field'}>
            <label htmlFor={id}>{label}</label>
            <input id={id} name={name} type="date" min={min} defaultValue={value} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined} />
            {error && (
                <p className="field-error" id={`${id}-error`}>
                    {error}
                </p>
            )}
        </div>
    );
}
