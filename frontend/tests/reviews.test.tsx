import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ReviewForm } from '@/components/ReviewForm';
import { moreReviewsHref, ReviewList } from '@/components/ReviewList';
import { ApiError, type Review } from '@/lib/api';
import type { FormState } from '@/lib/forms';
import { averageText, charCount, findReviewed, histogramRows, reviewFailureMessage, validateReview } from '@/lib/reviews';

// Rendering is slow on a busy machine (the first render of a file starts jsdom): no flakes from the 5 s default.
vi.setConfig({ testTimeout: 30_000 });

describe('review checks', () => {
    const ok = { rating: '4', title: 'Lovely', body: 'Quiet room.' };

    it('accepts a rating of 1 to 5 and nothing else', () => {
        expect(validateReview(ok)).toEqual({});
        for (const r of ['1', '5']) expect(validateReview({ ...ok, rating: r })).toEqual({});
        for (const r of ['', '0', '6', '4.5', 'four']) expect(validateReview({ ...ok, rating: r }).rating).toBeDefined();
    });

    it('counts characters as the service does: code points, after trimming ASCII spaces', () => {
        expect(charCount('  héllo \n')).toBe(5);
        expect(charCount('😀😀')).toBe(2);
        // A line break is one character whether the browser sends LF or CRLF.
        expect(charCount('a\r\nb')).toBe(3);
        expect(validateReview({ ...ok, title: 'é'.repeat(120) })).toEqual({});
        expect(validateReview({ ...ok, title: 'é'.repeat(121) }).title).toBe('Use at most 120 characters (now 121).');
        expect(validateReview({ ...ok, body: '😀'.repeat(5000) })).toEqual({});
        expect(validateReview({ ...ok, body: 'x'.repeat(5001) }).body).toBe('Use at most 5000 characters (now 5001).');
    });

    it('refuses empty or blank text and control characters the service refuses', () => {
        expect(validateReview({ ...ok, title: '   ' }).title).toBe('Give your review a title.');
        expect(validateReview({ ...ok, body: '\n\t ' }).body).toBe('Tell other guests about your stay.');
        expect(validateReview({ ...ok, title: 'two\tparts' }).title).toBeDefined();
        expect(validateReview({ ...ok, body: 'line one\r\n\tline two' })).toEqual({});
        expect(validateReview({ ...ok, body: 'bell\u0007' }).body).toBeDefined();
    });

    it('says what the service answered in plain words', () => {
        expect(reviewFailureMessage(new ApiError(403, 'not_eligible', 'x'))).toMatch(/cannot be reviewed yet/);
        expect(reviewFailureMessage(new ApiError(409, 'already_reviewed', 'x'))).toBe('You have already reviewed this stay. Thank you!');
        expect(reviewFailureMessage(new ApiError(503, 'upstream_unavailable', 'x'))).toMatch(/not reachable/);
    });
});

describe('review summary', () => {
    it('gives each row its share and a sentence for screen readers', () => {
        const rows = histogramRows({ '1': 0, '2': 0, '3': 1, '4': 0, '5': 2 }, 3);
        expect(rows.map((r) => r.stars)).toEqual([5, 4, 3, 2, 1]);
        expect(rows[0]).toEqual({ stars: 5, count: 2, percent: 67, label: '5 stars: 2 reviews (67%)' });
        expect(rows[2].label).toBe('3 stars: 1 review (33%)');
        expect(rows[4].label).toBe('1 star: 0 reviews (0%)');
        expect(histogramRows({}, 0).every((r) => r.percent === 0)).toBe(true);
    });

    it('writes the average with one decimal', () => {
        expect(averageText(4)).toBe('4.0 out of 5');
        expect(averageText(null)).toBe('No rating yet');
    });
});

describe('which stays are reviewed', () => {
    const review = (booking_id: string, created_at: string) => ({ booking_id, created_at });

    it('finds reviews on later pages and stops at reviews older than the stays', async () => {
        const pages: Record<string, { items: { booking_id: string; created_at: string }[]; next_cursor: string | null }> = {
            start: { items: [review('x', '2026-11-20T10:00:00Z'), review('b1', '2026-11-19T10:00:00Z')], next_cursor: 'p2' },
            p2: { items: [review('y', '2026-10-20T10:00:00Z')], next_cursor: 'p3' },
            p3: { items: [review('b2', '2026-10-01T10:00:00Z')], next_cursor: null },
        };
        const fetchPage = vi.fn(async (c: string | undefined) => pages[c ?? 'start']);
        const found = await findReviewed(['b1', 'b2'], '2026-11-01T00:00:00Z', fetchPage);
        expect([...found]).toEqual(['b1']);
        // p2 holds a review older than the first completion: nothing further back can be ours.
        expect(fetchPage).toHaveBeenCalledTimes(2);
    });

    it('stops as soon as every stay is found, and after a page limit', async () => {
        const fetchPage = vi.fn(async () => ({ items: [review('b1', '2026-11-20T10:00:00Z')], next_cursor: 'more' }));
        expect([...(await findReviewed(['b1'], '2026-11-01T00:00:00Z', fetchPage))]).toEqual(['b1']);
        expect(fetchPage).toHaveBeenCalledTimes(1);
        const endless = vi.fn(async () => ({ items: [review('other', '2026-11-20T10:00:00Z')], next_cursor: 'more' }));
        expect((await findReviewed(['b1'], '2026-11-01T00:00:00Z', endless, 3)).size).toBe(0);
        expect(endless).toHaveBeenCalledTimes(3);
    });
});

describe('review form', () => {
    const noAction = () => vi.fn(async (): Promise<FormState> => ({ errors: {} }));

    it('has a star rating made of labelled radio buttons', () => {
        render(<ReviewForm bookingId="b" listingId="l" action={noAction()} />);
        const stars = screen.getAllByRole('radio');
        expect(stars).toHaveLength(5);
        expect(screen.getByRole('radio', { name: /^4 stars/ })).not.toBeChecked();
        fireEvent.click(screen.getByRole('radio', { name: /^4 stars/ }));
        expect(screen.getByRole('radio', { name: /^4 stars/ })).toBeChecked();
        expect(screen.getByRole('group', { name: 'Your rating' })).toBeInTheDocument();
    });

    it('counts characters as one types and shows mistakes next to the fields without sending', async () => {
        const action = noAction();
        render(<ReviewForm bookingId="b" listingId="l" action={action} />);
        fireEvent.change(screen.getByLabelText('Title'), { target: { value: 'x'.repeat(125) } });
        expect(screen.getByText('125 of 120 characters: 5 too many')).toBeInTheDocument();
        fireEvent.change(screen.getByLabelText('Your review'), { target: { value: 'Great.' } });
        expect(screen.getByLabelText('Your review')).toHaveAccessibleDescription('6 of 5000 characters');
        fireEvent.click(screen.getByRole('button', { name: 'Post review' }));
        expect(await screen.findByText('Choose a rating from 1 to 5 stars.')).toBeInTheDocument();
        expect(screen.getByLabelText('Title')).toHaveAccessibleDescription('125 of 120 characters: 5 too many Use at most 120 characters (now 125).');
        expect(screen.getAllByRole('radio')[0]).toHaveFocus();
        expect(action).not.toHaveBeenCalled();
        // Fixing a field takes its error away at once; the others stay until fixed.
        fireEvent.change(screen.getByLabelText('Title'), { target: { value: 'Lovely' } });
        expect(screen.queryByText(/Use at most 120 characters/)).toBeNull();
        expect(screen.getByText('Choose a rating from 1 to 5 stars.')).toBeInTheDocument();
    });

    it("shows the service's answer and keeps what was typed", async () => {
        const action = vi.fn(async (): Promise<FormState> => ({
            errors: {},
            message: 'You have already reviewed this stay. Thank you!',
            values: { rating: '5', title: 'Again', body: 'Still lovely.' },
        }));
        render(<ReviewForm bookingId="b" listingId="l" action={action} />);
        fireEvent.click(screen.getByRole('radio', { name: /^5 stars/ }));
        fireEvent.change(screen.getByLabelText('Title'), { target: { value: 'Again' } });
        fireEvent.change(screen.getByLabelText('Your review'), { target: { value: 'Still lovely.' } });
        fireEvent.click(screen.getByRole('button', { name: 'Post review' }));
        expect(await screen.findByRole('alert')).toHaveTextContent('You have already reviewed this stay.');
        await waitFor(() => expect(action).toHaveBeenCalledTimes(1));
        const sent = (action.mock.calls[0] as unknown as [FormState, FormData])[1];
        expect(sent.get('rating')).toBe('5');
        expect(sent.get('booking_id')).toBe('b');
        expect(screen.getByLabelText('Title')).toHaveValue('Again');
        expect(screen.getByRole('radio', { name: /^5 stars/ })).toBeChecked();
    });
});

describe('review list', () => {
    const r = (id: string, extra: Partial<Review> = {}): Review => ({
        id, listing_id: 'l', booking_id: `b-${id}`, user_id: 'u', author_name: 'Marta', rating: 4, title: `Title ${id}`, body: 'Body',
        reply: null, created_at: '2026-11-20T10:00:00Z', ...extra,
    });

    it('shows the reply under its review and appends the next page on "More reviews"', async () => {
        const fetchMock = vi.fn(async () => new Response(JSON.stringify({ items: [r('2'), r('3')], next_cursor: null }), { status: 200 }));
        vi.stubGlobal('fetch', fetchMock);
        try {
            render(<ReviewList listingId="l" sort="newest" pageHref="/listings/l?check_in=2026-12-01" nextCursor="c1"
                initial={[r('1', { reply: { body: 'Thanks, Marta!', created_at: '2026-11-21T10:00:00Z' } })]} />);
            expect(screen.getByText('Thanks, Marta!')).toBeInTheDocument();
            const more = screen.getByRole('link', { name: 'More reviews' });
            expect(more).toHaveAttribute('href', '/listings/l?check_in=2026-12-01&reviews_cursor=c1#reviews');
            fireEvent.click(more);
            expect(await screen.findByText('Title 3')).toBeInTheDocument();
            expect(screen.getByText('Title 1')).toBeInTheDocument();
            expect(fetchMock).toHaveBeenCalledWith('/listings/l/reviews?sort=newest&cursor=c1', { cache: 'no-store' });
            expect(screen.queryByRole('link', { name: 'More reviews' })).toBeNull();
        } finally {
            vi.unstubAllGlobals();
        }
    });

    it('builds the next page link without JavaScript', () => {
        expect(moreReviewsHref('/listings/l', 'a b')).toBe('/listings/l?reviews_cursor=a%20b#reviews');
    });
});
