'use client';
// The review form of a completed stay: a star rating made of real radio
// buttons (arrow keys move between them), a title and a text with character
// counts against the review service's limits. It posts to a server action,
// so it works without JavaScript; with it, the same rules are checked first.
import { useActionState, useState, type FormEvent } from 'react';
import { postReview } from '@/app/actions/review';
import type { FieldErrors, FormState } from '@/lib/forms';
import { BODY_MAX, charCount, TITLE_MAX, validateReview } from '@/lib/reviews';
import './traveller.css';

const WORDS = ['', 'Poor', 'Fair', 'Good', 'Very good', 'Excellent'];

interface Props {
    bookingId: string;
    listingId: string;
    action?: typeof postReview;
}

/** A star drawn as SVG, so that it has the same size and shape whatever fonts the device has. */
function StarIcon({ filled }: { filled: boolean }) {
    return (
        <svg viewBox="0 0 24 24" width="32" height="32" aria-hidden="true" focusable="false">
            <path
                d="M12 2.5l2.9 6.1 6.6.8-4.9 4.6 1.3 6.6L12 17.3l-5.9 3.3 1.3-6.6-4.9-4.6 6.6-.8z"
                fill={filled ? 'currentColor' : 'none'}
                stroke="currentColor"
                strokeWidth="1.6"
                strokeLinejoin="round"
            />
        </svg>
    );
}

function Counter({ id, count, max }: { id: string; count: number; max: number }) {
    const over = count > max;
    return (
        <p id={id} className={over ? 'char-count char-count-over' : 'char-count'}>
            {count} of {max} characters{over ? `: ${count - max} too many` : ''}
        </p>
    );
}

/** The action's state with a count of answers: the radios remount after each one (see below). */
interface Answered extends FormState {
    answers: number;
}

export function ReviewForm({ bookingId, listingId, action = postReview }: Props) {
    const [state, formAction, pending] = useActionState(
        async (prev: Answered, form: FormData): Promise<Answered> => ({ ...(await action(prev, form)), answers: prev.answers + 1 }),
        { errors: {}, answers: 0 },
    );
    const [clientErrors, setClientErrors] = useState<FieldErrors | null>(null);
    // Controlled fields: what was typed survives an answer from the server (React resets uncontrolled forms).
    const [rating, setRating] = useState(state.values?.rating ?? '');
    const [title, setTitle] = useState(state.values?.title ?? '');
    const [body, setBody] = useState(state.values?.body ?? '');
    // After a submit the browser refused, the checks run again as one types, so a fixed field loses its error.
    const live = clientErrors && Object.keys(clientErrors).length ? validateReview({ rating, title, body }) : null;
    const errors = live ?? state.errors;
    const showServerMessage = !live;

    const onSubmit = (e: FormEvent<HTMLFormElement>) => {
        const errs = validateReview({ rating, title, body });
        setClientErrors(errs);
        if (Object.keys(errs).length) {
            e.preventDefault();
            const first = Object.keys(errs)[0];
            e.currentTarget.querySelector<HTMLElement>(first === 'rating' ? 'input[name="rating"]' : `[name="${first}"]`)?.focus();
        }
    };
    const describe = (name: string, extra: string) => [extra, errors[name] ? `rv-${name}-error` : null].filter(Boolean).join(' ');

    return (
        <form action={formAction} onSubmit={onSubmit} noValidate className="review-form" aria-label="Write a review">
            <input type="hidden" name="booking_id" value={bookingId} />
            <input type="hidden" name="listing_id" value={listingId} />
            {showServerMessage && state.message && (
                <div className="alert alert-error" role="alert">
                    {state.message}
                </div>
            )}
            <fieldset className={errors.rating ? 'field field-invalid star-field' : 'field star-field'} aria-describedby={errors.rating ? 'rv-rating-error' : undefined}>
                <legend>Your rating</legend>
                <div className="stars">
                    {[1, 2, 3, 4, 5].map((n) => (
                        // React resets a form after its action and does not re-check a controlled radio button;
                        // a new key per answer mounts the radios again with the chosen rating.
                        <span key={`${n}-${state.answers}`} className="star-option">
                            <input
                                type="radio"
                                id={`rv-rating-${n}`}
                                name="rating"
                                value={n}
                                checked={rating === String(n)}
                                onChange={() => setRating(String(n))}
                                className="visually-hidden"
                            />
                            <label htmlFor={`rv-rating-${n}`} className={Number(rating) >= n ? 'star star-on' : 'star'} title={WORDS[n]}>
                                <StarIcon filled={Number(rating) >= n} />
                                <span className="visually-hidden">
                                    {n} {n === 1 ? 'star' : 'stars'}, {WORDS[n].toLowerCase()}
                                </span>
                            </label>
                        </span>
                    ))}
                    <span className="star-word" aria-hidden="true">
                        {rating ? WORDS[Number(rating)] : 'Choose 1 to 5 stars'}
                    </span>
                </div>
                {errors.rating && (
                    <p className="field-error" id="rv-rating-error">
                        {errors.rating}
                    </p>
                )}
            </fieldset>
            <div className={errors.title ? 'field field-invalid' : 'field'}>
                <label htmlFor="rv-title">Title</label>
                <input
                    id="rv-title"
                    name="title"
                    value={title}
                    onChange={(e) => setTitle(e.target.value)}
                    aria-invalid={errors.title ? true : undefined}
                    aria-describedby={describe('title', 'rv-title-count')}
                    placeholder="Sum up your stay in a few words"
                />
                <Counter id="rv-title-count" count={charCount(title)} max={TITLE_MAX} />
                {errors.title && (
                    <p className="field-error" id="rv-title-error">
                        {errors.title}
                    </p>
                )}
            </div>
            <div className={errors.body ? 'field field-invalid' : 'field'}>
                <label htmlFor="rv-body">Your review</label>
                <textarea
                    id="rv-body"
                    name="body"
                    rows={7}
                    value={body}
                    onChange={(e) => setBody(e.target.value)}
                    aria-invalid={errors.body ? true : undefined}
                    aria-describedby={describe('body', 'rv-body-count')}
                    placeholder="What did you like? What could be better?"
                />
                <Counter id="rv-body-count" count={charCount(body)} max={BODY_MAX} />
                {errors.body && (
                    <p className="field-error" id="rv-body-error">
                        {errors.body}
                    </p>
                )}
            </div>
            <button type="submit" className="button button-primary" disabled={pending} aria-busy={pending}>
                {pending ? 'Posting…' : 'Post review'}
            </button>
        </form>
    );
}
