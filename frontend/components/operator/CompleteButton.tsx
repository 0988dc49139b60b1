'use client';
// "Mark checked out" on one booking row: posts /bookings/{id}/complete through
// a server action; a refusal (409 booking_not_completable) is said in the row.
import { useActionState } from 'react';
import { completeBooking, type RowState } from '@/app/actions/operator';

export function CompleteButton({ bookingId, reference, action = completeBooking }: { bookingId: string; reference: string; action?: typeof completeBooking }) {
    const [state, formAction, pending] = useActionState(action, {} as RowState);
    if (state.done) return <span className="badge status-completed">Completed</span>;
    return (
        <form action={formAction}>
            <input type="hidden" name="booking_id" value={bookingId} />
            <button type="submit" className="button button-quiet" disabled={pending} aria-busy={pending} aria-describedby={state.message ? `complete-${bookingId}` : undefined}
                title={`Booking ${reference}: the guest has checked out`}>
                {pending ? 'Marking…' : 'Mark checked out'}
            </button>
            {state.message && (
                <p className="field-error" role="alert" id={`complete-${bookingId}`}>
                    {state.message}
                </p>
            )}
        </form>
    );
}
