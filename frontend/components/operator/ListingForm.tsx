'use client';
// Create or edit a listing. The form posts to a server action (it works
// without JavaScript); with JavaScript the obvious mistakes are shown before
// the round trip. The API's 422 errors come back at the field they name, and
// what the operator typed is kept.
import { useActionState, useState, type FormEvent } from 'react';
import { createListing, updateListing } from '@/app/actions/operator';
import { Field } from '@/components/Field';
import type { FieldErrors, FormState } from '@/lib/forms';
import { LISTING_FIELDS, LISTING_TYPES, listingBody, type ListingValues } from './forms';
import { useFocusFirstError } from './useFocusFirstError';
import { FormMessage, Select, TextArea } from './inputs';

const COMMON_CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF', 'JPY', 'SEK', 'NOK', 'DKK', 'PLN', 'CZK', 'AUD', 'CAD', 'KWD'];

const EMPTY: Partial<ListingValues> = {
    type: 'hotel',
    timezone: 'UTC',
    currency: 'EUR',
    'cancellation_policy.free_cancellation_hours': '24',
    'cancellation_policy.refund_percent_after': '0',
};

interface Props {
    mode: 'create' | 'update';
    listingId?: string;
    initial?: ListingValues;
    timeZones: string[];
    hasUnits?: boolean;
    action?: (prev: FormState, form: FormData) => Promise<FormState>;
}

export function ListingForm({ mode, listingId, initial, timeZones, hasUnits = false, action }: Props) {
    const serverAction = action ?? (mode === 'create' ? createListing : updateListing);
    const [state, formAction, pending] = useActionState(serverAction, { errors: {} } as FormState);
    const formRef = useFocusFirstError(state);
    const [clientErrors, setClientErrors] = useState<FieldErrors | null>(null);
    const v: Partial<ListingValues> = (state.values as Partial<ListingValues> | undefined) ?? initial ?? EMPTY;
    const errors = clientErrors && Object.keys(clientErrors).length ? clientErrors : state.errors;
    const policyError = errors['cancellation_policy'];

    const onSubmit = (e: FormEvent<HTMLFormElement>) => {
        const f = new FormData(e.currentTarget);
        const values = {} as ListingValues;
        for (const k of LISTING_FIELDS) values[k] = String(f.get(k) ?? '');
        const parsed = listingBody(values, mode);
        const errs = 'errors' in parsed ? parsed.errors : {};
        for (const k of ['title', 'description', 'city', 'country', 'currency'] as const) {
            if (!values[k].trim()) errs[k] = 'This field is required.';
        }
        setClientErrors(errs);
        if (Object.keys(errs).length) {
            e.preventDefault();
            // The first field in the form's order that has a mistake.
            const first = Array.from(e.currentTarget.elements).find((el) => (el as HTMLInputElement).name in errs);
            (first as HTMLElement | undefined)?.focus();
        }
    };

    // A new key after each answer remounts the fields, so their defaults are what the operator typed.
    return (
        <form ref={formRef} action={formAction} onSubmit={onSubmit} noValidate className="op-form" key={JSON.stringify(state.values ?? null)}>
            <FormMessage message={clientErrors && Object.keys(clientErrors).length ? 'Please check the highlighted fields.' : state.message} />
            {listingId && <input type="hidden" name="listing_id" value={listingId} />}
            <Field name="title" label="Title" defaultValue={v.title} error={errors.title} required maxLength={200} />
            <Select name="type" label="Type" defaultValue={v.type ?? 'hotel'} error={errors.type} options={LISTING_TYPES} />
            <TextArea name="description" label="Description" defaultValue={v.description} error={errors.description} required rows={5} />
            <Field name="address" label="Address" defaultValue={v.address} error={errors.address} autoComplete="street-address" hint="Optional." />
            <div className="op-grid">
                <Field name="city" label="City" defaultValue={v.city} error={errors.city} required autoComplete="address-level2" />
                <Field
                    name="country"
                    label="Country"
                    defaultValue={v.country}
                    error={errors.country}
                    required
                    hint="As travellers search for it: a name (Portugal) or an ISO code (PT)."
                />
                <Field
                    name="timezone"
                    label="Time zone"
                    defaultValue={v.timezone}
                    error={errors.timezone}
                    list="op-timezones"
                    hint="An IANA name such as Europe/Lisbon; “today” and cancellation deadlines use it."
                />
                <Field
                    name="currency"
                    label="Currency"
                    defaultValue={v.currency}
                    error={errors.currency}
                    required
                    list="op-currencies"
                    maxLength={3}
                    autoCapitalize="characters"
                    hint={hasUnits ? 'Fixed once the listing has units: their prices are in it.' : 'ISO 4217 code (EUR, USD, JPY); every price of the listing is in it.'}
                    readOnly={hasUnits}
                />
                <Field name="latitude" label="Latitude" defaultValue={v.latitude} error={errors.latitude} inputMode="decimal" hint="Optional, e.g. 38.7071." />
                <Field name="longitude" label="Longitude" defaultValue={v.longitude} error={errors.longitude} inputMode="decimal" hint="Optional, e.g. -9.1355." />
            </div>
            <datalist id="op-timezones">
                {timeZones.map((z) => (
                    <option key={z} value={z} />
                ))}
            </datalist>
            <datalist id="op-currencies">
                {COMMON_CURRENCIES.map((c) => (
                    <option key={c} value={c} />
                ))}
            </datalist>
            <Field
                name="amenities"
                label="Amenities"
                defaultValue={v.amenities}
                error={errors.amenities}
                hint="Separated by commas, e.g. wifi, pool, breakfast, parking."
            />
            <fieldset className={policyError ? 'field field-invalid' : 'field'} aria-describedby="policy-hint">
                <legend>Cancellation policy</legend>
                <p className="field-hint" id="policy-hint">
                    Guests cancelling earlier than the hours before check-in get everything back; later, the percentage. 0 hours means no free
                    cancellation.
                </p>
                <div className="op-grid">
                    <Field
                        id="f-free-hours"
                        name="cancellation_policy.free_cancellation_hours"
                        label="Free cancellation until (hours before check-in)"
                        defaultValue={v['cancellation_policy.free_cancellation_hours']}
                        error={errors['cancellation_policy.free_cancellation_hours']}
                        inputMode="numeric"
                    />
                    <Field
                        id="f-refund-after"
                        name="cancellation_policy.refund_percent_after"
                        label="Refund after that (%)"
                        defaultValue={v['cancellation_policy.refund_percent_after']}
                        error={errors['cancellation_policy.refund_percent_after']}
                        inputMode="numeric"
                    />
                </div>
                {policyError && <p className="field-error">{policyError}</p>}
            </fieldset>
            <TextArea
                name="photos"
                label="Photo URLs"
                defaultValue={v.photos}
                error={errors.photos}
                rows={3}
                hint="Optional. One per line: https://… or a path on this site such as /demo/photos/hotel-2.svg."
            />
            <button type="submit" className="button button-primary" disabled={pending} aria-busy={pending}>
                {pending ? (mode === 'create' ? 'Creating…' : 'Saving…') : mode === 'create' ? 'Create listing' : 'Save changes'}
            </button>
        </form>
    );
}
