'use client';
// The booking flow's client pieces: the Reserve button on a listing, the hold
// countdown, the card form, the confirmation poller and the cancel form.
import { useRouter } from 'next/navigation';
import { useActionState, useEffect, useState, type FormEvent } from 'react';
import { cancelBooking, pay, reserve, type CancelState, type PayState } from '@/app/actions/booking';
import { checkCard } from '@/lib/card';
import { formatCountdown, msLeft } from '@/lib/countdown';
import type { FormState } from '@/lib/forms';
import { Field } from './Field';

interface ReserveProps {
    listingId: string;
    unitId: string;
    checkIn: string;
    checkOut: string;
    guests: number;
    quantity: number;
    idempotencyKey: string;
}

export function ReserveForm(p: ReserveProps) {
    const [state, action, pending] = useActionState(reserve, { errors: {} } as FormState);
    const fieldMsgs = Object.entries(state.errors);
    return (
        <form action={action} className="reserve-form">
            <input type="hidden" name="idempotency_key" value={state.nextKey ?? p.idempotencyKey} />
            <input type="hidden" name="listing_id" value={p.listingId} />
            <input type="hidden" name="unit_id" value={p.unitId} />
            <input type="hidden" name="check_in" value={p.checkIn} />
            <input type="hidden" name="check_out" value={p.checkOut} />
            <input type="hidden" name="guests" value={p.guests} />
            <input type="hidden" name="quantity" value={p.quantity} />
            {state.message && (
                <div className="alert alert-error" role="alert">
                    {state.message}
                    {fieldMsgs.length > 0 && (
                        <ul>
                            {fieldMsgs.map(([f, m]) => (
                                <li key={f}>
                                    {f.replace(/_/g, ' ')}: {m}
                                </li>
                            ))}
                        </ul>
                    )}
                </div>
            )}
            <button type="submit" className="button button-primary" disabled={pending} aria-busy={pending}>
                {pending ? 'Reserving…' : 'Reserve'}
            </button>
        </form>
    );
}

/** Counts down to the end of the hold; says so when it has run out. */
export function HoldCountdown({ expiresAt }: { expiresAt: string }) {
    const [now, setNow] = useState<number | null>(null);
    useEffect(() => {
        setNow(Date.now());
        const t = setInterval(() => setNow(Date.now()), 1000);
        return () => clearInterval(t);
    }, []);
    const left = now === null ? null : msLeft(expiresAt, now);
    if (left === 0) {
        return (
            <div className="alert alert-error" role="status">
                Your hold has expired and the room is back on sale. Please book again.
            </div>
        );
    }
    return (
        <div className="alert alert-info" role="timer" aria-live="off">
            We hold this for you for <strong>{left === null ? '…' : formatCountdown(left)}</strong>. Pay before then to confirm.
        </div>
    );
}

/** Polls the app's status route every second, up to 30 s, until the booking is confirmed. */
export function ConfirmationPoller({ bookingId, initial }: { bookingId: string; initial: string }) {
    const [status, setStatus] = useState(initial);
    const [gaveUp, setGaveUp] = useState(false);
    const router = useRouter();
    // Once the booking has moved on, the page around the poller is out of date (status badge, hold countdown, the
    // refund a cancellation would give): render it again from the server, without reloading the document.
    useEffect(() => {
        if (status !== 'pending_payment' && status !== 'payment_failed') router.refresh();
    }, [status, router]);
    useEffect(() => {
        if (status !== 'pending_payment' && status !== 'payment_failed') return;
        const started = Date.now();
        let stopped = false;
        const t = setInterval(async () => {
            if (stopped) return;
            if (Date.now() - started > 30000) {
                clearInterval(t);
                setGaveUp(true);
                return;
            }
            try {
                const res = await fetch(`/bookings/${bookingId}/status`, { cache: 'no-store' });
                if (res.ok) {
                    const body = (await res.json()) as { status: string };
                    if (body.status !== 'pending_payment' && body.status !== 'payment_failed') {
                        stopped = true;
                        clearInterval(t);
                    }
                    setStatus(body.status);
                }
            } catch {
                // A dropped poll: the next one tries again.
            }
        }, 1000);
        return () => clearInterval(t);
    }, [bookingId, status]);
    if (status === 'confirmed') {
        return (
            <div className="alert alert-success" role="status">
                <strong>Confirmed</strong>. Your booking is confirmed; a confirmation email is on its way.
            </div>
        );
    }
    if (gaveUp) {
        return (
            <div className="alert alert-info" role="status">
                Payment received. Confirmation is taking longer than usual; refresh this page in a minute.
            </div>
        );
    }
    return (
        <div className="alert alert-info" role="status">
            Confirming…
        </div>
    );
}

export function PayForm({ bookingId, idempotencyKey, amount, status, payAction = pay }: { bookingId: string; idempotencyKey: string; amount: string; status: string; payAction?: typeof pay }) {
    const [state, action, pending] = useActionState(payAction, { errors: {} } as PayState);
    const [clientErrors, setClientErrors] = useState<Record<string, string> | null>(null);
    // The expiry is controlled, so that it survives a decline (React resets a form after its action); the card
    // number and CVC are not kept: they are typed again for the next attempt.
    const [expMonth, setExpMonth] = useState('');
    const [expYear, setExpYear] = useState('');
    if (state.paid) return <ConfirmationPoller bookingId={bookingId} initial={status} />;
    const errors = clientErrors && Object.keys(clientErrors).length ? clientErrors : state.errors;
    const onSubmit = (e: FormEvent<HTMLFormElement>) => {
        const f = new FormData(e.currentTarget);
        const s = (k: string) => String(f.get(k) ?? '');
        const errs = checkCard({ number: s('number'), exp_month: s('exp_month'), exp_year: s('exp_year'), cvc: s('cvc') });
        setClientErrors(errs);
        if (Object.keys(errs).length) e.preventDefault();
    };
    return (
        <form action={action} onSubmit={onSubmit} noValidate aria-labelledby="pay-heading" className="pay-form">
            <input type="hidden" name="idempotency_key" value={state.nextKey ?? idempotencyKey} />
            <input type="hidden" name="booking_id" value={bookingId} />
            {state.message && (
                <div className="alert alert-error" role="alert">
                    {state.message}
                </div>
            )}
            <Field name="number" label="Card number" error={errors['card.number']} inputMode="numeric" autoComplete="cc-number"
                hint="Sandbox test cards: 4242 4242 4242 4242 and 5555 5555 5555 4444 succeed, 4000 0000 0000 0002 is declined, 4000 0000 0000 9995 has insufficient funds. Any future expiry, any CVC." />
            <div className="field-row">
                <Field name="exp_month" label="Expiry month" error={errors['card.exp_month']} inputMode="numeric" autoComplete="cc-exp-month" placeholder="MM"
                    value={expMonth} onChange={(e) => setExpMonth(e.target.value)} />
                <Field name="exp_year" label="Expiry year" error={errors['card.exp_year']} inputMode="numeric" autoComplete="cc-exp-year" placeholder="YYYY"
                    value={expYear} onChange={(e) => setExpYear(e.target.value)} />
                <Field name="cvc" label="CVC" error={errors['card.cvc']} inputMode="numeric" autoComplete="cc-csc" />
            </div>
            <button type="submit" className="button button-primary" disabled={pending} aria-busy={pending}>
                {pending ? 'Paying…' : `Pay ${amount}`}
            </button>
        </form>
    );
}

export function CancelForm({ bookingId, refund }: { bookingId: string; refund: string }) {
    const [state, action, pending] = useActionState(cancelBooking, {} as CancelState);
    const [asking, setAsking] = useState(false);
    if (!asking) {
        return (
            <button type="button" className="button" onClick={() => setAsking(true)}>
                Cancel booking…
            </button>
        );
    }
    return (
        <form action={action}>
            <input type="hidden" name="booking_id" value={bookingId} />
            <p>
                If you cancel now, you will be refunded <strong>{refund}</strong>. Cancel this booking?
            </p>
            {state.message && (
                <div className="alert alert-error" role="alert">
                    {state.message}
                </div>
            )}
            <button type="submit" className="button button-primary" disabled={pending}>
                {pending ? 'Cancelling…' : 'Yes, cancel'}
            </button>{' '}
            <button type="button" className="button button-quiet" onClick={() => setAsking(false)}>
                Keep it
            </button>
        </form>
    );
}
