import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { CalendarForm } from '@/components/operator/CalendarForm';
import { CompleteButton } from '@/components/operator/CompleteButton';
import { ListingForm } from '@/components/operator/ListingForm';
import { ReplyForm } from '@/components/operator/ReplyForm';
import { UnitForm } from '@/components/operator/UnitForm';
import type { FormState } from '@/lib/forms';

// The first render of a file starts jsdom, which is slow on a busy machine.
vi.setConfig({ testTimeout: 30_000 });

const sent = (action: { mock: { calls: unknown[][] } }, i = 0) => action.mock.calls[i][1] as FormData;

describe('listing form', () => {
    it('shows the API’s 422 errors next to their fields and keeps what was typed', async () => {
        const action = vi.fn(async (_p: FormState, form: FormData): Promise<FormState> => ({
            errors: { timezone: 'Must be an IANA time zone name such as "Europe/Paris" or "UTC".', amenities: 'Must be a lower-case slug.' },
            message: 'Please check the highlighted fields.',
            values: Object.fromEntries([...form.entries()].map(([k, v]) => [k, String(v)])),
        }));
        render(<ListingForm mode="create" timeZones={['UTC', 'Europe/Lisbon']} action={action} />);
        fireEvent.change(screen.getByLabelText('Title'), { target: { value: 'Casa Azul' } });
        fireEvent.change(screen.getByLabelText('Type'), { target: { value: 'tour' } });
        fireEvent.change(screen.getByLabelText('Description'), { target: { value: 'A walk.' } });
        fireEvent.change(screen.getByLabelText('City'), { target: { value: 'Porto' } });
        fireEvent.change(screen.getByLabelText(/^Country/), { target: { value: 'PT' } });
        fireEvent.change(screen.getByLabelText(/^Time zone/), { target: { value: 'Mars/Base' } });
        fireEvent.click(screen.getByRole('button', { name: 'Create listing' }));
        await waitFor(() => expect(action).toHaveBeenCalledTimes(1));
        expect(sent(action).get('cancellation_policy.free_cancellation_hours')).toBe('24');
        expect(await screen.findByRole('alert')).toHaveTextContent('Please check the highlighted fields.');
        expect(screen.getByLabelText(/^Time zone/)).toHaveAttribute('aria-invalid', 'true');
        expect(screen.getByLabelText(/^Time zone/)).toHaveAccessibleDescription(expect.stringContaining('Must be an IANA time zone name'));
        expect(screen.getByLabelText(/^Amenities/)).toHaveAccessibleDescription(expect.stringContaining('lower-case slug'));
        expect(screen.getByLabelText('Title')).toHaveValue('Casa Azul');
        expect(screen.getByLabelText('Type')).toHaveValue('tour');
        expect(screen.getByLabelText(/^Time zone/)).toHaveValue('Mars/Base');
        // Focus moves to the first field the server found wrong, in the form's order.
        await waitFor(() => expect(screen.getByLabelText(/^Time zone/)).toHaveFocus());
    });

    it('catches missing fields and half a coordinate pair before posting', async () => {
        const action = vi.fn(async (): Promise<FormState> => ({ errors: {} }));
        render(<ListingForm mode="create" timeZones={['UTC']} action={action} />);
        fireEvent.change(screen.getByLabelText(/^Latitude/), { target: { value: '41.1' } });
        fireEvent.click(screen.getByRole('button', { name: 'Create listing' }));
        expect(await screen.findByText('Enter the longitude too, or neither.')).toBeInTheDocument();
        expect(screen.getByLabelText('Title')).toHaveAccessibleDescription('This field is required.');
        expect(screen.getByLabelText('Title')).toHaveFocus();
        expect(action).not.toHaveBeenCalled();
    });

    it('edits with "Save changes" and fixes the currency once there are units', () => {
        const initial = {
            title: 'Casa', type: 'hotel', description: 'd', address: '', city: 'Porto', country: 'PT', timezone: 'Europe/Lisbon', currency: 'EUR',
            latitude: '', longitude: '', amenities: 'wifi', photos: '', cancellation_policy: '',
            'cancellation_policy.free_cancellation_hours': '48', 'cancellation_policy.refund_percent_after': '50',
        };
        render(<ListingForm mode="update" listingId="l1" initial={initial} timeZones={['UTC']} hasUnits />);
        expect(screen.getByRole('button', { name: 'Save changes' })).toBeInTheDocument();
        expect(screen.getByLabelText('Title')).toHaveValue('Casa');
        expect(screen.getByLabelText(/^Currency/)).toHaveAttribute('readonly');
        expect(screen.getByLabelText(/^Free cancellation until/)).toHaveValue('48');
    });
});

describe('add unit form', () => {
    it('posts the listing’s currency with the price as typed and shows the answer', async () => {
        const action = vi.fn(async (): Promise<FormState> => ({ errors: { base_price: 'JPY has no minor unit: enter a whole amount.' }, message: 'Please check the highlighted fields.', values: { name: 'Tatami room', base_price: '15000.5', max_guests: '2', quantity: '3', description: '' } }));
        render(<UnitForm listingId="l1" currency="JPY" action={action} />);
        expect(screen.getByLabelText(/^Base price/)).toHaveAccessibleDescription('JPY, whole amounts, per night or day.');
        fireEvent.change(screen.getByLabelText(/^Unit name/), { target: { value: 'Tatami room' } });
        fireEvent.change(screen.getByLabelText(/^Base price/), { target: { value: '15000.5' } });
        fireEvent.click(screen.getByRole('button', { name: 'Add unit' }));
        await waitFor(() => expect(action).toHaveBeenCalledTimes(1));
        expect(sent(action).get('currency')).toBe('JPY');
        expect(sent(action).get('base_price')).toBe('15000.5');
        expect(await screen.findByText('JPY has no minor unit: enter a whole amount.')).toBeInTheDocument();
        expect(screen.getByLabelText(/^Unit name/)).toHaveValue('Tatami room');
        expect(screen.getByLabelText(/^Quantity/)).toHaveValue('3');
    });
});

describe('calendar range form', () => {
    const props = { listingId: 'l1', unitId: 'u1', currency: 'EUR', timezone: 'UTC', today: '2026-03-10', defaultFrom: '2026-03-10', defaultTo: '2026-03-16' };

    it('refuses To before From and a price with three decimals without posting', async () => {
        const action = vi.fn(async () => ({ errors: {} }));
        render(<CalendarForm {...props} action={action} />);
        fireEvent.change(screen.getByLabelText(/^From/), { target: { value: '2026-03-12' } });
        fireEvent.change(screen.getByLabelText(/^To/), { target: { value: '2026-03-11' } });
        fireEvent.change(screen.getByLabelText(/^Price/), { target: { value: '10.999' } });
        fireEvent.click(screen.getByRole('button', { name: 'Apply to range' }));
        expect(await screen.findByText('The last date cannot be before the first.')).toBeInTheDocument();
        expect(screen.getByLabelText(/^Price/)).toHaveAccessibleDescription(expect.stringContaining('EUR has 2 decimal places'));
        expect(action).not.toHaveBeenCalled();
    });

    it('explains a calendar conflict in plain words', async () => {
        const conflict = 'Nothing was changed: on some of these dates more units are already held or booked than the quantity you asked for.';
        const action = vi.fn(async (_p: unknown, form: FormData) => ({ errors: {}, message: conflict, values: { from: String(form.get('from')), to: String(form.get('to')), quantity: '0', price: '', closed: '' } }));
        render(<CalendarForm {...props} action={action} />);
        fireEvent.change(screen.getByLabelText(/^Quantity/), { target: { value: '0' } });
        fireEvent.click(screen.getByRole('button', { name: 'Apply to range' }));
        expect(await screen.findByRole('alert')).toHaveTextContent('held or booked');
        expect(sent(action).get('from')).toBe('2026-03-10');
        expect(sent(action).get('to')).toBe('2026-03-16');
        expect(sent(action).get('closed')).toBeNull();
        expect(screen.getByLabelText(/^Quantity/)).toHaveValue('0');
    });
});

describe('row actions', () => {
    it('"Mark checked out" says why it was refused, or shows Completed', async () => {
        const refused = vi.fn(async () => ({ message: 'This booking cannot be marked checked out: only a confirmed booking can, from its check-in date on.' }));
        const { unmount } = render(<CompleteButton bookingId="b1" reference="RM-ABC234" action={refused} />);
        fireEvent.click(screen.getByRole('button', { name: 'Mark checked out' }));
        expect(await screen.findByRole('alert')).toHaveTextContent('cannot be marked checked out');
        unmount();
        const ok = vi.fn(async () => ({ done: true }));
        render(<CompleteButton bookingId="b1" reference="RM-ABC234" action={ok} />);
        fireEvent.click(screen.getByRole('button', { name: 'Mark checked out' }));
        expect(await screen.findByText('Completed')).toBeInTheDocument();
        expect(sent(ok).get('booking_id')).toBe('b1');
    });

    it('"Post reply" needs text and then shows that it is posted', async () => {
        const action = vi.fn(async (_p: FormState, form: FormData): Promise<FormState> =>
            String(form.get('body')).trim() ? { errors: {}, message: 'Your reply is posted.' } : { errors: { body: 'Write your reply first.' }, values: { body: '' } });
        render(<ReplyForm reviewId="r1" action={action} />);
        fireEvent.click(screen.getByRole('button', { name: 'Post reply' }));
        expect(await screen.findByText('Write your reply first.')).toBeInTheDocument();
        fireEvent.change(screen.getByLabelText(/^Your reply/), { target: { value: 'Thank you for staying!' } });
        fireEvent.click(screen.getByRole('button', { name: 'Post reply' }));
        expect(await screen.findByRole('status')).toHaveTextContent('Your reply is posted.');
        expect(sent(action, 1).get('review_id')).toBe('r1');
    });
});
