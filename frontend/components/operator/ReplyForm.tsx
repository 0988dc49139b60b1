'use client';
// "Post reply" under a review that has none yet. After posting, the page is
// revalidated and shows the reply in place of the form.
import { useActionState } from 'react';
import { replyToReview } from '@/app/actions/operator';
import type { FormState } from '@/lib/forms';
import { useFocusFirstError } from './useFocusFirstError';
import { FormMessage, TextArea } from './inputs';

export function ReplyForm({ reviewId, action = replyToReview }: { reviewId: string; action?: typeof replyToReview }) {
    const [state, formAction, pending] = useActionState(action, { errors: {} } as FormState);
    const formRef = useFocusFirstError(state);
    const posted = !!state.message && !state.values;
    if (posted) return <FormMessage message={state.message} ok />;
    return (
        <form ref={formRef} action={formAction} noValidate className="op-form" key={JSON.stringify(state.values ?? null)}>
            <FormMessage message={state.message} />
            <input type="hidden" name="review_id" value={reviewId} />
            <TextArea
                id={`reply-${reviewId}`}
                name="body"
                label="Your reply"
                defaultValue={state.values?.body}
                error={state.errors.body}
                rows={3}
                maxLength={5000}
                required
                hint="Shown under the review on your listing’s page. A review gets one reply, which cannot be changed."
            />
            <button type="submit" className="button button-primary" disabled={pending} aria-busy={pending}>
                {pending ? 'Posting…' : 'Post reply'}
            </button>
        </form>
    );
}
