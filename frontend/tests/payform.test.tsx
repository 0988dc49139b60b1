import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { PayForm } from '@/components/BookingForms';

// Rendering is slow on a busy machine (the first render of a file starts jsdom): no flakes from the 5 s default.
vi.setConfig({ testTimeout: 30_000 });

describe('card form after a decline', () => {
    it('keeps the expiry, clears the card number and CVC, and sends a fresh key next time', async () => {
        const payAction = vi.fn(async () => ({ errors: {}, message: 'The card was declined. Try another card.', nextKey: 'key-2' }));
        render(<PayForm bookingId="b" idempotencyKey="key-1" amount="€240.00" status="pending_payment" payAction={payAction} />);
        fireEvent.change(screen.getByLabelText('Card number'), { target: { value: '4000 0000 0000 0002' } });
        fireEvent.change(screen.getByLabelText('Expiry month'), { target: { value: '12' } });
        fireEvent.change(screen.getByLabelText('Expiry year'), { target: { value: '2031' } });
        fireEvent.change(screen.getByLabelText('CVC'), { target: { value: '123' } });
        fireEvent.click(screen.getByRole('button', { name: /^Pay/ }));
        expect(await screen.findByRole('alert')).toHaveTextContent('declined');
        expect((payAction.mock.calls[0] as unknown as [unknown, FormData])[1].get('idempotency_key')).toBe('key-1');
        await waitFor(() => expect(screen.getByLabelText('Card number')).toHaveValue(''));
        expect(screen.getByLabelText('CVC')).toHaveValue('');
        expect(screen.getByLabelText('Expiry month')).toHaveValue('12');
        expect(screen.getByLabelText('Expiry year')).toHaveValue('2031');
        expect(document.querySelector('input[name="idempotency_key"]')).toHaveValue('key-2');
    });
});

describe("Reserve's answers about the stay", () => {
    it('names only the fields in the URL and words them on the page', async () => {
        const { ApiError } = await import('@/lib/api');
        const { reserveErrorFields, stayErrorsFromQuery, STAY_ERROR_TEXT } = await import('@/lib/stay-errors');
        const err = new ApiError(422, 'validation_failed', 'x', [
            { field: 'guests', message: 'exceeds max_guests × quantity' },
            { field: 'quantity', message: 'too many' },
            { field: 'check_in', message: 'must not be in the past' },
        ]);
        expect(reserveErrorFields(err)).toEqual(['guests', 'check_in']);
        expect(reserveErrorFields(new ApiError(409, 'sold_out', 'x'))).toEqual([]);
        expect(stayErrorsFromQuery('check_in,guests')).toEqual({ check_in: STAY_ERROR_TEXT.check_in, guests: STAY_ERROR_TEXT.guests });
        expect(stayErrorsFromQuery('<script>,toString')).toEqual({});
        expect(stayErrorsFromQuery(undefined)).toEqual({});
    });
});
