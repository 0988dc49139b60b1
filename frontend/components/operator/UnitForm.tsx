'use client';
// "Add unit": a room type or ticket type with its capacity, how many are
// sold per date and the price per night (or per day) typed in major units.
import { useActionState } from 'react';
import { addUnit } from '@/app/actions/operator';
import { Field } from '@/components/Field';
import type { FormState } from '@/lib/forms';
import { currencyExponent } from '@/lib/money';
import { useFocusFirstError } from './useFocusFirstError';
import { FormMessage } from './inputs';

export function UnitForm({ listingId, currency, action = addUnit }: { listingId: string; currency: string; action?: typeof addUnit }) {
    const [state, formAction, pending] = useActionState(action, { errors: {} } as FormState);
    const formRef = useFocusFirstError(state);
    const v = state.values ?? {};
    const exp = currencyExponent(currency);
    const ok = !!state.message && !state.values;
    return (
        <form ref={formRef} action={formAction} noValidate className="op-form" aria-labelledby="add-unit" key={JSON.stringify(state)}>
            <FormMessage message={state.message} ok={ok} />
            <input type="hidden" name="listing_id" value={listingId} />
            <input type="hidden" name="currency" value={currency} />
            <div className="op-grid">
                <Field name="name" id="f-unit-name" label="Unit name" defaultValue={v.name} error={state.errors.name} hint="e.g. Double room, Morning tour ticket." required />
                <Field name="description" id="f-unit-description" label="Unit description" defaultValue={v.description} error={state.errors.description} hint="Optional." />
            </div>
            <div className="op-grid-4">
                <Field name="max_guests" label="Max guests" defaultValue={v.max_guests ?? '2'} error={state.errors.max_guests} inputMode="numeric" hint="Per unit." />
                <Field name="quantity" id="f-unit-quantity" label="Quantity" defaultValue={v.quantity ?? '1'} error={state.errors.quantity} inputMode="numeric" hint="Sold per date." />
                <Field
                    name="base_price"
                    label="Base price"
                    defaultValue={v.base_price}
                    error={state.errors.base_price}
                    inputMode="decimal"
                    hint={exp === 0 ? `${currency}, whole amounts, per night or day.` : `${currency} per night or day, e.g. ${exp === 3 ? '12.500' : '120.00'}.`}
                    required
                />
            </div>
            <button type="submit" className="button button-primary" disabled={pending} aria-busy={pending}>
                {pending ? 'Adding…' : 'Add unit'}
            </button>
        </form>
    );
}
