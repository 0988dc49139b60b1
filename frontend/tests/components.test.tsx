import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { LogInForm, SignUpForm } from '@/components/AuthForms';
import { Field } from '@/components/Field';
import type { FormState } from '@/lib/forms';

describe('Field', () => {
    it('ties its error and hint to the input', () => {
        render(<Field name="email" label="Email" hint="We never share it." error="Enter an email address." />);
        const input = screen.getByLabelText('Email');
        expect(input).toHaveAttribute('aria-invalid', 'true');
        expect(input).toHaveAccessibleDescription('We never share it. Enter an email address.');
    });

    it('is not marked invalid without an error', () => {
        render(<Field name="name" label="Name" />);
        expect(screen.getByLabelText('Name')).not.toHaveAttribute('aria-invalid');
        expect(screen.getByLabelText('Name')).not.toHaveAttribute('aria-describedby');
    });
});

describe('sign-up form', () => {
    it('shows mistakes next to their fields and does not submit', async () => {
        const action = vi.fn(async (): Promise<FormState> => ({ errors: {} }));
        render(<SignUpForm action={action} />);
        fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'not-an-email' } });
        fireEvent.change(screen.getByLabelText(/^Password/), { target: { value: 'short' } });
        fireEvent.click(screen.getByRole('button', { name: 'Create account' }));
        expect(await screen.findByText('Use at least 10 characters.')).toBeInTheDocument();
        expect(screen.getByLabelText('Your name')).toHaveAccessibleDescription('Enter your name.');
        expect(screen.getByLabelText('Email')).toHaveAccessibleDescription('Enter an email address like name@example.com.');
        expect(screen.getByLabelText('Your name')).toHaveFocus();
        expect(action).not.toHaveBeenCalled();
    });

    it("shows the API's field errors (422, 409) next to the fields", async () => {
        const action = vi.fn(async (): Promise<FormState> => ({
            errors: { email: 'An account with this email already exists.' },
            message: 'An account with this email already exists. Log in instead?',
            values: { name: 'Ada', email: 'ada@example.com', role: 'traveller' },
        }));
        render(<SignUpForm action={action} />);
        fireEvent.change(screen.getByLabelText('Your name'), { target: { value: 'Ada' } });
        fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'ada@example.com' } });
        fireEvent.change(screen.getByLabelText(/^Password/), { target: { value: 'correct horse battery' } });
        fireEvent.click(screen.getByRole('button', { name: 'Create account' }));
        await waitFor(() => expect(action).toHaveBeenCalledTimes(1));
        const sent = (action.mock.calls[0] as unknown as [FormState, FormData])[1];
        expect(sent.get('email')).toBe('ada@example.com');
        expect(sent.get('role')).toBe('traveller');
        expect(await screen.findByRole('alert')).toHaveTextContent('Log in instead?');
        expect(screen.getByLabelText('Email')).toHaveAccessibleDescription('An account with this email already exists.');
        expect(screen.getByLabelText('Email')).toHaveValue('ada@example.com');
    });
});

describe('log-in form', () => {
    it('needs both fields', async () => {
        const action = vi.fn(async (): Promise<FormState> => ({ errors: {} }));
        render(<LogInForm action={action} />);
        fireEvent.click(screen.getByRole('button', { name: 'Log in' }));
        expect(await screen.findByText('Enter your email address.')).toBeInTheDocument();
        expect(screen.getByText('Enter your password.')).toBeInTheDocument();
        expect(action).not.toHaveBeenCalled();
    });
});
