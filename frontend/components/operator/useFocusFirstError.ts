'use client';
// After the server answers with field errors, move focus to the first field
// marked invalid, so that keyboard and screen-reader users land on the mistake.
import { useEffect, useRef } from 'react';
import type { FormState } from '@/lib/forms';

export function useFocusFirstError(state: FormState) {
    const ref = useRef<HTMLFormElement>(null);
    useEffect(() => {
        if (!Object.keys(state.errors ?? {}).length) return;
        ref.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
    }, [state]);
    return ref;
}
