// Labelled textarea and select whose error sits next to them, as Field does for inputs.
import type { SelectHTMLAttributes, TextareaHTMLAttributes } from 'react';

interface Common {
    name: string;
    label: string;
    error?: string;
    hint?: string;
}

function describedBy(id: string, hint?: string, error?: string): string | undefined {
    return [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ') || undefined;
}

function Wrap({ id, label, hint, error, children }: { id: string; label: string; hint?: string; error?: string; children: React.ReactNode }) {
    return (
        <div className={error ? 'field field-invalid' : 'field'}>
            <label htmlFor={id}>{label}</label>
            {hint && (
                <p className="field-hint" id={`${id}-hint`}>
                    {hint}
                </p>
            )}
            {children}
            {error && (
                <p className="field-error" id={`${id}-error`}>
                    {error}
                </p>
            )}
        </div>
    );
}

export function TextArea({ name, label, error, hint, id, ...rest }: Common & TextareaHTMLAttributes<HTMLTextAreaElement>) {
    const fid = id ?? `f-${name.replace(/\./g, '-')}`;
    return (
        <Wrap id={fid} label={label} hint={hint} error={error}>
            <textarea id={fid} name={name} aria-invalid={error ? true : undefined} aria-describedby={describedBy(fid, hint, error)} {...rest} />
        </Wrap>
    );
}

export function Select({ name, label, error, hint, id, options, ...rest }: Common & SelectHTMLAttributes<HTMLSelectElement> & { options: { value: string; label: string }[] }) {
    const fid = id ?? `f-${name.replace(/\./g, '-')}`;
    return (
        <Wrap id={fid} label={label} hint={hint} error={error}>
            <select id={fid} name={name} aria-invalid={error ? true : undefined} aria-describedby={describedBy(fid, hint, error)} {...rest}>
                {options.map((o) => (
                    <option key={o.value} value={o.value}>
                        {o.label}
                    </option>
                ))}
            </select>
        </Wrap>
    );
}

/** The form's general message: an error summary announced at once, or a success note. */
export function FormMessage({ message, ok }: { message?: string; ok?: boolean }) {
    if (!message) return null;
    return (
        <div className={ok ? 'alert alert-success' : 'alert alert-error'} role={ok ? 'status' : 'alert'}>
            {message}
        </div>
    );
}
