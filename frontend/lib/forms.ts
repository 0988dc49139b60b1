// Client-side checks that mirror the auth service's 422 rules
// (docs/conventions.md, "Accounts and tokens"), so that most mistakes are
// shown before a round trip; the server's field errors are shown the same way.

export type FieldErrors = Record<string, string>;

export interface FormState {
    errors: FieldErrors;
    message?: string;
    values?: Record<string, string>;
    /** A fresh Idempotency-Key after an answer the API stored (a decline, a 409, a 422): the next attempt is a new
     *  request, not a replay of the failed one. */
    nextKey?: string;
}

const chars = (s: string) => Array.from(s).length;

export function validateEmail(email: string): string | undefined {
    const e = email.trim();
    if (!e) return 'Enter your email address.';
    if (chars(e) > 254) return 'An email address has at most 254 characters.';
    const at = e.split('@');
    if (at.length !== 2 || !at[0] || /\s|[\u0000-\u001f\u007f]/.test(e)) return 'Enter an email address like name@example.com.';
    const labels = at[1].split('.');
    if (labels.length < 2 || labels.some((l) => !l)) return 'Enter an email address like name@example.com.';
    return undefined;
}

export function validateSignup(input: { name: string; email: string; password: string }): FieldErrors {
    const errors: FieldErrors = {};
    const name = input.name.trim();
    if (!name) errors.name = 'Enter your name.';
    else if (chars(name) > 100) errors.name = 'A name has at most 100 characters.';
    else if (/[\u0000-\u001f\u007f]/.test(name)) errors.name = 'A name cannot contain control characters.';
    const email = validateEmail(input.email);
    if (email) errors.email = email;
    const pw = chars(input.password);
    if (pw < 10) errors.password = 'Use at least 10 characters.';
    else if (pw > 128) errors.password = 'Use at most 128 characters.';
    return errors;
}

export function validateLogin(input: { email: string; password: string }): FieldErrors {
    const errors: FieldErrors = {};
    if (!input.email.trim()) errors.email = 'Enter your email address.';
    if (!input.password) errors.password = 'Enter your password.';
    return errors;
}
