'use client';
// Sign-up and log-in forms. They post to server actions, so they work
// without JavaScript; with it, the browser checks the same rules first and
// shows each problem next to its field.
import { useActionState, useState, type FormEvent } from 'react';
import { logIn, signUp } from '@/app/actions/auth';
import { validateLogin, validateSignup, type FieldErrors, type FormState } from '@/lib/forms';
import { Field } from './Field';

const initial: FormState = { errors: {} };

function useClientCheck(check: (form: FormData) => FieldErrors) {
    const [clientErrors, setClientErrors] = useState<FieldErrors | null>(null);
    const onSubmit = (e: FormEvent<HTMLFormElement>) => {
        const errors = check(new FormData(e.currentTarget));
        setClientErrors(errors);
        if (Object.keys(errors).length) {
            e.preventDefault();
            const first = e.currentTarget.querySelector<HTMLElement>(`[name="${Object.keys(errors)[0]}"]`);
            first?.focus();
        }
    };
    return { clientErrors, onSubmit, reset: () => setClientErrors(null) };
}

const str = (f: FormData, k: string) => String(f.get(k) ?? '');

function Summary({ message }: { message?: string }) {
    if (!message) return null;
    return (
        <div className="alert alert-error" role="alert">
            {message}
        </div>
    );
}

export function SignUpForm({ next = '/', action = signUp }: { next?: string; action?: typeof signUp }) {
    const [state, formAction, pending] = useActionState(action, initial);
    const { clientErrors, onSubmit } = useClientCheck((f) =>
        validateSignup({ name: str(f, 'name'), email: str(f, 'email'), password: str(f, 'password') }),
    );
    const errors = clientErrors && Object.keys(clientErrors).length ? clientErrors : state.errors;
    const v = state.values ?? {};
    return (
        <form action={formAction} onSubmit={onSubmit} noValidate className="auth-form">
            <Summary message={clientErrors && Object.keys(clientErrors).length ? undefined : state.message} />
            <input type="hidden" name="next" value={next} />
            <Field name="name" label="Your name" autoComplete="name" defaultValue={v.name} error={errors.name} required />
            <Field name="email" label="Email" type="email" autoComplete="email" defaultValue={v.email} error={errors.email} required />
            <Field
                name="password"
                label="Password"
                type="password"
                autoComplete="new-password"
                hint="At least 10 characters."
                error={errors.password}
                required
            />
            <fieldset className="field">
                <legend>I want to</legend>
                <label className="radio">
                    <input type="radio" name="role" value="traveller" defaultChecked={v.role !== 'operator'} /> book trips
                </label>
                <label className="radio">
                    <input type="radio" name="role" value="operator" defaultChecked={v.role === 'operator'} /> list my stays
                    and tours
                </label>
                {errors.role && <p className="field-error">{errors.role}</p>}
            </fieldset>
            <button type="submit" className="button button-primary" disabled={pending}>
                {pending ? 'Creating your account…' : 'Create account'}
            </button>
        </form>
    );
}

export function LogInForm({ next = '/', action = logIn }: { next?: string; action?: typeof logIn }) {
    const [state, formAction, pending] = useActionState(action, initial);
    const { clientErrors, onSubmit } = useClientCheck((f) => validateLogin({ email: str(f, 'email'), password: str(f, 'password') }));
    const errors = clientErrors && Object.keys(clientErrors).length ? clientErrors : state.errors;
    return (
        <form action={formAction} onSubmit={onSubmit} noValidate className="auth-form">
            <Summary message={clientErrors && Object.keys(clientErrors).length ? undefined : state.message} />
            <input type="hidden" name="next" value={next} />
            <Field name="email" label="Email" type="email" autoComplete="email" defaultValue={state.values?.email} error={errors.email} required />
            <Field name="password" label="Password" type="password" autoComplete="current-password" error={errors.password} required />
            <button type="submit" className="button button-primary" disabled={pending}>
                {pending ? 'Logging in…' : 'Log in'}
            </button>
        </form>
    );
}
