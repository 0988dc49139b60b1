// The whole story of issue 6 in one browser session per person, against the
// real stack: a traveller signs up, searches a city, books, is declined, pays,
// sees the booking confirmed and notified, cancels and sees the refund; an
// operator signs up, creates a listing with a unit and a price through the
// operator pages, and it appears in search; the traveller books a stay in it
// starting today and pays; the operator marks it checked out; the traveller
// reviews it from My trips and the review is on the listing page.
//
// Screenshots of the main pages at desktop (1280x800) and phone (390x844)
// widths go to WEB_SCREENSHOTS when it is set (tests/integration/test_webapp.py
// sets it and prints the folder).
import { expect, test, type Locator, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const city = process.env.WEB_CITY ?? '';
const title = process.env.WEB_TITLE ?? '';
const shots = process.env.WEB_SCREENSHOTS ?? '';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

function day(n: number): string {
    const d = new Date();
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
}

const unique = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

/** The page as it is now, full length, at both widths; back to desktop width afterwards. */
async function shoot(page: Page, name: string) {
    if (!shots) return;
    mkdirSync(shots, { recursive: true });
    for (const [label, size] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
        await page.setViewportSize(size);
        // Let the layout settle at the new width (no animations to wait for; one frame is enough).
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
        await page.screenshot({ path: path.join(shots, `${name}-${label}.png`), fullPage: true });
    }
    await page.setViewportSize(DESKTOP);
}

/** Fills a text field or chooses an option of a select, whichever the label names. */
async function setField(field: Locator, value: string) {
    const tag = await field.evaluate((e) => e.tagName);
    if (tag === 'SELECT') await field.selectOption(value);
    else await field.fill(value);
}

async function signUp(page: Page, name: string, email: string, operator = false) {
    await page.goto('/signup');
    await page.getByLabel('Your name').fill(name);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('correct horse battery');
    if (operator) await page.getByRole('radio', { name: /list my stays/ }).check();
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByText('Signed in as')).toContainText(name);
}

async function fillCard(page: Page, number: string) {
    await page.getByLabel('Card number').fill(number);
    await page.getByLabel('Expiry month').fill('12');
    await page.getByLabel('Expiry year').fill(String(new Date().getUTCFullYear() + 3));
    await page.getByLabel('CVC').fill('123');
}

/** Pays with a succeeding card and waits for "Confirmed" to arrive without a reload. */
async function payAndSeeConfirmed(page: Page) {
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    await page.getByRole('button', { name: /^Pay/ }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Confirmed' })).toBeVisible({ timeout: 30_000 });
    // The rest of the page follows: the status badge, no more hold countdown or card form.
    await expect(page.getByTestId('booking-status')).toHaveText('Confirmed');
    await expect(page.getByRole('timer')).toHaveCount(0);
    await expect(page.getByLabel('Card number')).toHaveCount(0);
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
}

test('the whole journey: book, decline, pay, cancel; an operator lists a stay; check out; review', async ({ browser }) => {
    test.skip(!city || !title, 'WEB_CITY and WEB_TITLE not set');
    test.setTimeout(300_000);
    const traveller = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    const operator = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    const travellerName = `Tess Traveller ${unique()}`;

    await test.step('a traveller signs up and searches a city', async () => {
        await traveller.goto('/');
        await shoot(traveller, '01-home');
        await signUp(traveller, travellerName, `tess-${unique()}@example.com`);
        await traveller.goto('/');
        await traveller.getByRole('combobox', { name: 'Where to?' }).fill(city);
        await traveller.getByLabel('Check-in').fill(day(30));
        await traveller.getByLabel('Check-out').fill(day(33));
        await traveller.getByLabel('Guests').fill('2');
        await traveller.getByRole('button', { name: 'Search' }).click();
        await expect(traveller).toHaveURL(/\/search\?/);
        await expect(traveller.getByRole('link', { name: title })).toBeVisible();
        await expect(traveller.getByText('€360.00').first()).toBeVisible();
        await shoot(traveller, '02-results');
    });

    await test.step('opens the listing and books', async () => {
        await traveller.getByRole('link', { name: title }).click();
        await expect(traveller.getByRole('heading', { level: 1, name: title })).toBeVisible();
        await expect(traveller.getByText('total for your stay').first()).toBeVisible();
        await shoot(traveller, '03-listing');
        await traveller.getByRole('button', { name: 'Reserve' }).first().click();
        await expect(traveller).toHaveURL(/\/bookings\/[0-9a-f-]{36}$/);
        await expect(traveller.getByTestId('booking-total')).toHaveText('€360.00');
        await expect(traveller.getByRole('timer')).toBeVisible();
    });

    await test.step('is declined with 4000 0000 0000 0002, keeps the expiry, pays with 4242 4242 4242 4242', async () => {
        await fillCard(traveller, '4000000000000002');
        await traveller.getByRole('button', { name: /^Pay/ }).click();
        await expect(traveller.locator('.alert-error[role=alert]')).toContainText('declined');
        // The expiry survives the decline; the card number and CVC are typed again.
        await expect(traveller.getByLabel('Expiry month')).toHaveValue('12');
        await expect(traveller.getByLabel('Card number')).toHaveValue('');
        await shoot(traveller, '04-booking-declined');
        await traveller.getByLabel('Card number').fill('4242424242424242');
        await traveller.getByLabel('CVC').fill('123');
        await payAndSeeConfirmed(traveller);
        await shoot(traveller, '05-booking-confirmed');
        // On the same page, cancelling now offers the refund of a paid booking (it was nothing while unpaid).
        await traveller.getByRole('button', { name: 'Cancel booking…' }).click();
        await expect(traveller.getByText('If you cancel now, you will be refunded')).toContainText('€360.00');
        await traveller.getByRole('button', { name: 'Keep it' }).click();
    });

    await test.step('sees the notification', async () => {
        await expect(async () => {
            await traveller.goto('/notifications');
            await expect(traveller.getByRole('list', { name: 'Notifications' })).toContainText(/confirmed/i, { timeout: 1000 });
        }).toPass({ timeout: 30_000 });
        await expect(traveller.getByTestId('unread-badge')).toHaveText(/^[1-9]/);
        await shoot(traveller, '06-notifications');
    });

    let cancelledUrl = '';
    await test.step('cancels and sees the refund', async () => {
        await traveller.getByRole('link', { name: 'View booking' }).first().click();
        await expect(traveller).toHaveURL(/\/bookings\/[0-9a-f-]{36}$/);
        cancelledUrl = new URL(traveller.url()).pathname;
        await traveller.getByRole('button', { name: 'Cancel booking…' }).click();
        await expect(traveller.getByText('If you cancel now, you will be refunded')).toContainText('€360.00');
        await traveller.getByRole('button', { name: 'Yes, cancel' }).click();
        await expect(traveller.getByRole('status')).toContainText('Your booking is cancelled. You will be refunded €360.00.');
        await expect(traveller.getByTestId('booking-status')).toHaveText('Cancelled');
        // A cancelled stay has nothing to review, even by its URL.
        await traveller.goto(`${cancelledUrl.replace('/bookings/', '/trips/')}/review`);
        await expect(traveller.getByText('Only completed stays can be reviewed.')).toBeVisible();
        await expect(traveller.getByRole('button', { name: 'Post review' })).toHaveCount(0);
    });

    const newCity = `Journeyton ${unique()}`;
    const newTitle = `Olive Grove Rooms ${unique()}`;
    let newListingUrl = '';

    await test.step('an operator signs up and creates a listing with a unit and a price', async () => {
        await signUp(operator, 'Olga Operator', `olga-${unique()}@example.com`, true);
        await operator.goto('/operator');
        await operator.getByRole('link', { name: 'New listing' }).click();
        await expect(operator).toHaveURL(/\/operator\/listings\/new$/);
        await setField(operator.getByLabel('Title', { exact: true }), newTitle);
        await setField(operator.getByLabel('Type', { exact: true }), 'hotel');
        await setField(operator.getByLabel('Description', { exact: true }), 'Six rooms among the olive trees, breakfast from the garden.');
        await setField(operator.getByLabel('Address', { exact: true }), '1 Grove Lane');
        await setField(operator.getByLabel('City', { exact: true }), newCity);
        await setField(operator.getByLabel('Country', { exact: true }), 'PT');
        await setField(operator.getByLabel('Time zone', { exact: true }), 'UTC');
        await setField(operator.getByLabel('Currency', { exact: true }), 'EUR');
        await operator.getByRole('button', { name: 'Create listing' }).click();
        await expect(operator).toHaveURL(/\/operator\/listings\/[0-9a-f-]{36}(\?.*)?$/);
        const listingId = new URL(operator.url()).pathname.split('/').pop() as string;
        newListingUrl = `/listings/${listingId}`;

        await setField(operator.getByLabel('Unit name', { exact: true }), 'Garden room');
        await setField(operator.getByLabel('Max guests', { exact: true }), '2');
        await setField(operator.getByLabel('Quantity', { exact: true }), '2');
        await setField(operator.getByLabel('Base price', { exact: true }), '95');
        await operator.getByRole('button', { name: 'Add unit' }).click();
        await expect(operator.getByText('Garden room').first()).toBeVisible();
        await operator.goto('/operator');
        await expect(operator.getByText(newTitle)).toBeVisible();
        await shoot(operator, '07-operator-dashboard');
    });

    await test.step('the new listing appears in search with its price', async () => {
        await traveller.goto(`/search?city=${encodeURIComponent(newCity)}&check_in=${day(0)}&check_out=${day(1)}&guests=2`);
        await expect(traveller.getByRole('link', { name: newTitle })).toBeVisible();
        await expect(traveller.getByText('€95.00').first()).toBeVisible();
    });

    let reference = '';
    let bookingUrl = '';
    await test.step('the traveller books a night starting today and pays', async () => {
        await traveller.getByRole('link', { name: newTitle }).click();
        await expect(traveller.getByRole('heading', { level: 1, name: newTitle })).toBeVisible();
        await traveller.getByRole('button', { name: 'Reserve' }).first().click();
        await expect(traveller).toHaveURL(/\/bookings\/[0-9a-f-]{36}$/);
        bookingUrl = new URL(traveller.url()).pathname;
        await expect(traveller.getByTestId('booking-total')).toHaveText('€95.00');
        reference = ((await traveller.getByText(/Booking RM-/).textContent()) ?? '').match(/RM-[A-Z0-9]+/)?.[0] ?? '';
        expect(reference).not.toBe('');
        await fillCard(traveller, '4242 4242 4242 4242');
        await payAndSeeConfirmed(traveller);
    });

    await test.step('the operator marks the stay checked out', async () => {
        await operator.goto('/operator/bookings');
        const row = operator.getByRole('row').filter({ hasText: reference });
        await expect(row).toContainText(travellerName);
        await shoot(operator, '08-operator-bookings');
        await row.getByRole('button', { name: 'Mark checked out' }).click();
        await expect(operator.getByRole('row').filter({ hasText: reference })).toContainText('Completed');
    });

    await test.step('the traveller reviews the stay from My trips', async () => {
        await traveller.goto('/trips');
        const past = traveller.getByRole('region', { name: 'Past' });
        await expect(past).toContainText(newTitle);
        await expect(past).toContainText('Completed');
        await shoot(traveller, '09-trips');
        // At phone width the review button sits right under its trip (no gap from the wide-screen layout).
        await traveller.setViewportSize(PHONE);
        const trip = await past.getByRole('link', { name: newTitle, exact: true }).boundingBox();
        const write = await past.getByRole('link', { name: `Write a review of ${newTitle}` }).boundingBox();
        expect(trip && write && write.y - (trip.y + trip.height)).toBeLessThan(120);
        expect(write && write.x + write.width).toBeLessThanOrEqual(PHONE.width);
        await traveller.setViewportSize(DESKTOP);
        await past.getByRole('link', { name: `Write a review of ${newTitle}` }).click();
        await expect(traveller.getByRole('heading', { name: 'Review your stay' })).toBeVisible();

        // Nothing chosen yet: the form says so next to the stars and sends nothing.
        await traveller.getByRole('button', { name: 'Post review' }).click();
        await expect(traveller.locator('#rv-rating-error')).toHaveText('Choose a rating from 1 to 5 stars.');
        // The stars are radio buttons: the arrow keys move along them.
        await traveller.getByRole('radio', { name: /^1 star/ }).focus();
        for (let i = 0; i < 4; i++) await traveller.keyboard.press('ArrowRight');
        await expect(traveller.getByRole('radio', { name: /^5 stars/ })).toBeChecked();
        await traveller.getByLabel('Title').fill('Breakfast under the olive trees');
        await traveller.getByLabel('Your review').fill('A calm room, a warm welcome and the best figs I have ever had.');
        await expect(traveller.getByText('62 of 5000 characters')).toBeVisible();
        await shoot(traveller, '10-write-review');
        await traveller.getByRole('button', { name: 'Post review' }).click();

        await expect(traveller).toHaveURL(/\/trips\?reviewed=/);
        await expect(traveller.getByRole('status')).toContainText(`Thank you! Your review of ${newTitle} is posted.`);
        await expect(traveller.getByRole('region', { name: 'Past' }).getByText('Reviewed', { exact: true })).toBeVisible();
        await expect(traveller.getByRole('link', { name: `Write a review of ${newTitle}` })).toHaveCount(0);
    });

    await test.step('the review is on the listing page', async () => {
        await traveller.getByRole('link', { name: 'See it on the listing' }).click();
        await expect(traveller).toHaveURL(new RegExp(`${newListingUrl}#reviews$`));
        const reviews = traveller.getByRole('region', { name: 'Reviews' });
        await expect(reviews.getByRole('heading', { name: /Breakfast under the olive trees/ })).toBeVisible();
        await expect(reviews).toContainText(travellerName);
        await expect(reviews.getByTestId('review-summary')).toContainText('5.0 out of 5 · 1 review');
        await expect(reviews.getByText('5 stars: 1 review (100%)')).toBeAttached();
        // The rating under the title agrees at once (not "No reviews yet" until the listing's copy catches up).
        await expect(traveller.locator('.listing-head')).toContainText('Rated 5.0 out of 5');
        await shoot(traveller, '11-listing-reviewed');
    });

    await test.step('the booking page says Reviewed and the form is not offered twice', async () => {
        await traveller.goto(bookingUrl);
        await expect(traveller.getByRole('region', { name: 'Your review' })).toContainText('Reviewed');
        await traveller.goto(`${bookingUrl.replace('/bookings/', '/trips/')}/review`);
        await expect(traveller.getByText('You have already reviewed this stay.')).toBeVisible();
        await expect(traveller.getByRole('button', { name: 'Post review' })).toHaveCount(0);
    });
});
