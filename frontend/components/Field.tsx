// A labelled input whose error sits next to it and is announced with it.
import type { InputHTMLAttributes } from 'react';

interface Props extends InputHTMLAttributes<HTMLInputElement> {
    name: string;
    label: string;
    error?: string;
    hint?: string;
}

export function Field({ name, label, error, hint, id, ...input }: Props) {
    const inputId = id ?? `f-${name}`;
    const describedBy = [hint ? `${inputId}-hint` : null, error ? `${inputId}-error` : null].filter(Boolean).join(' ');
    return (
        <div className={error ? 'field field-invalid' : 'field'}>
            <label htmlFor={inputId}>{label}</label>
            {hint && (
                <p className="field-hint" id={`${inputId}-hint`}>
                    {hint}
                </p>
            )}
            <input
                id={inputId}
                name={name}
                aria-invalid={error ? true : undefined}
                aria-describedby={describedBy || undefined}
                {...input}
            />
            {error && (
                <p className="field-error" id={`${inputId}-error`}>
                    {error}
                </p>
            )}
        </div>
    );
}
