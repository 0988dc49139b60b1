'use client';
// "Apply to range": sets price, quantity and closed over From..To (both
// included). Empty Price or Quantity keeps each date's own; Closed is applied
// as shown (ticked stops sales, unticked opens the dates).
import { useActionState, useState, type FormEvent } from 'react';
import { setCalendar, type CalendarState } from '@/app/actions/operator';
import { Field } from '@/components/Field';
import type { FieldErrors } from '@/lib/forms';
import { addDays } from '@/lib/dates';
import { currencyExponent } from '@/lib/money';
import { CALENDAR_DAYS_AHEAD, checkCalendarRange, priceToMinor } from './forms';
import { useFocusFirstError } from './useFocusFirstError';
import { FormMessage } from './inputs';

interface Props {
    listingId: string;
    unitId: string;
    currency: string;
    timezone: string;
    today: string;
    defaultFrom: string;
    defaultTo: string;
    action?: typeof setCalendar;
}

export function CalendarForm({ listingId, unitId, currency, timezone, today, defaultFrom, defaultTo, action = setCalendar }: Props) {
    const [state, formAction, pending] = useActionState(action, { errors: {} } as CalendarState);
    const formRef = useFocusFirstError(state);
    const [clientErrors, setClientErrors] = useState<FieldErrors | null>(null);
    const v = state.values ?? { from: defaultFrom, to: defaultTo };
    const errors = clientErrors && Object.keys(clientErrors).length ? clientErrors : state.errors;
    const exp = currencyExponent(currency);
    const last = addDays(today, CALENDAR_DAYS_AHEAD);

    const onSubmit = (e: FormEvent<HTMLFormElement>) => {
        const f = new FormData(e.currentTarget);
        const s = (k: string) => String(f.get(k) ?? '');
        const range = checkCalendarRange(s('from'), s('to'), today);
        const errs: FieldErrors = 'errors' in range ? { ...range.errors } : {};
        if (s('price').trim()) {
            const p = priceToMinor(s('price'), currency);
            if ('error' in p) errs.price = p.error;
        }
        if (s('quantity').trim() && !/^\d+$/.test(s('quantity').trim())) errs.quantity = 'Enter the quantity as a whole number.';
        setClientErrors(errs);
        if (Object.keys(errs).length) e.preventDefault();
    };

    const ok = state.changed !== undefined;
    return (
        <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate className="op-form" aria-labelledby="range-heading" key={JSON.stringify(state)}>
            <h2 id="range-heading">Change a range of dates</h2>
            <FormMessage message={clientErrors && Object.keys(clientErrors).length ? 'Please check the highlighted fields.' : state.message} ok={ok} />
            <input type="hidden" name="listing_id" value={listingId} />
            <input type="hidden" name="unit_id" value={unitId} />
            <input type="hidden" name="currency" value={currency} />
            <input type="hidden" name="timezone" value={timezone} />
            <div className="op-grid">
                <Field name="from" label="From" type="date" defaultValue={v.from} error={errors.from} min={today} max={last} required hint="First date changed." />
                <Field name="to" label="To" type="date" defaultValue={v.to} error={errors.to} min={today} max={last} required hint="Last date changed (included)." />
                <Field
                    name="price"
                    label="Price"
                    defaultValue={v.price}
                    error={errors.price}
                    inputMode="decimal"
                    hint={`${currency} per night or day${exp === 0 ? ', whole amounts' : ''}. Empty keeps each date’s price.`}
                />
                <Field name="quantity" label="Quantity" defaultValue={v.quantity} error={errors.quantity} inputMode="numeric" hint="Units to sell per date. Empty keeps each date’s." />
            </div>
            <label className="op-check">
                <input type="checkbox" name="closed" defaultChecked={v.closed === 'on'} aria-describedby="closed-hint" /> Closed
            </label>
            <p className="field-hint" id="closed-hint" style={{ marginTop: '-.6rem', marginBottom: '.9rem' }}>
                Ticked stops sales on these dates; unticked opens them.
            </p>
            <button type="submit" className="button button-primary" disabled={pending} aria-busy={pending}>
                {pending ? 'Applying…' : 'Apply to range'}
            </button>
        </form>
    );
}
