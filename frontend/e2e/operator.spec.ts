// The operator's back office in a real browser: an operator signs up, finds
// the Dashboard, creates a listing (a mistake is shown next to its field and
// what was typed is kept), adds a unit with a price, sees both on the
// dashboard, and sets a price over a range of dates in the calendar editor.
// A traveller's booking shows as held in the calendar (lowering the quantity
// below it is refused in plain words), the operator marks the stay checked
// out and replies to the guest's review. A traveller gets a clear 403, an
// anonymous visitor the log-in page.
import { expect, test, type Page } from '@playwright/test';

function day(n: number): string {
    const d = new Date();
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
}

const unique = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

async function signUp(page: Page, name: string, operator: boolean) {
    await page.goto('/signup');
    await page.getByLabel('Your name').fill(name);
    await page.getByLabel('Email').fill(`${operator ? 'op' : 'tr'}-${unique()}@example.com`);
    await page.getByLabel('Password').fill('correct horse battery');
    if (operator) await page.getByRole('radio', { name: /list my stays/ }).check();
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByText('Signed in as')).toContainText(name);
}

test('an operator creates a listing with a unit and a price, and sets a price over a range', async ({ page }) => {
    test.setTimeout(120_000);
    const title = `Casa Operadora ${unique()}`;
    await signUp(page, 'Otto Operator', true);
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await expect(page).toHaveURL(/\/operator$/);
    await expect(page.getByText('No listings yet')).toBeVisible();
    await page.getByRole('link', { name: 'New listing' }).click();

    await page.getByLabel('Title', { exact: true }).fill(title);
    await page.getByLabel('Type', { exact: true }).selectOption('apartment');
    await page.getByLabel('Description', { exact: true }).fill('Two bedrooms over the river, a balcony for breakfast.');
    await page.getByLabel('Address', { exact: true }).fill('Rua do Rio 7');
    await page.getByLabel('City', { exact: true }).fill('Porto');
    await page.getByLabel('Country', { exact: true }).fill('PT');
    await page.getByLabel('Time zone', { exact: true }).fill('Mars/Olympus_Mons');
    await page.getByLabel('Currency', { exact: true }).fill('EUR');
    await page.getByLabel('Latitude', { exact: true }).fill('41.1407');
    await page.getByLabel('Longitude', { exact: true }).fill('-8.6110');
    await page.getByLabel('Amenities', { exact: true }).fill('wifi, Balcony, wifi');
    await page.getByLabel('Free cancellation until (hours before check-in)').fill('48');
    await page.getByLabel('Refund after that (%)').fill('50');
    await page.getByRole('button', { name: 'Create listing' }).click();

    // The API refuses the time zone: the message is next to that field and what was typed is still there.
    await expect(page.locator('#f-timezone-error')).toContainText('time zone');
    await expect(page.getByLabel('Time zone', { exact: true })).toHaveAttribute('aria-invalid', 'true');
    await expect(page.getByLabel('Title', { exact: true })).toHaveValue(title);
    await expect(page.getByLabel('Type', { exact: true })).toHaveValue('apartment');
    await expect(page.getByLabel('Latitude', { exact: true })).toHaveValue('41.1407');
    await page.getByLabel('Time zone', { exact: true }).fill('Europe/Lisbon');
    await page.getByRole('button', { name: 'Create listing' }).click();
    await expect(page).toHaveURL(/\/operator\/listings\/[0-9a-f-]{36}\?created=1$/);
    const listingId = new URL(page.url()).pathname.split('/').pop() as string;
    await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();
    await expect(page.getByText('wifi, balcony')).toBeVisible();

    // A price with too many decimals is caught; then the unit is added with 95.50 euros (9550 cents).
    await page.getByLabel('Unit name', { exact: true }).fill('River apartment');
    await page.getByLabel('Max guests', { exact: true }).fill('4');
    await page.getByLabel('Quantity', { exact: true }).fill('2');
    await page.getByLabel('Base price', { exact: true }).fill('95.505');
    await page.getByRole('button', { name: 'Add unit' }).click();
    await expect(page.locator('#f-base_price-error')).toContainText('2 decimal places');
    await expect(page.getByLabel('Unit name', { exact: true })).toHaveValue('River apartment');
    await page.getByLabel('Base price', { exact: true }).fill('95.50');
    await page.getByRole('button', { name: 'Add unit' }).click();
    const units = page.getByTestId('units');
    await expect(units.getByRole('row').filter({ hasText: 'River apartment' })).toContainText('€95.50');

    await page.getByRole('link', { name: 'Dashboard' }).click();
    const row = page.getByTestId('operator-listings').getByRole('row').filter({ hasText: title });
    await expect(row).toContainText('Active');
    await expect(row).toContainText('Porto, PT');
    await expect(row.getByRole('cell').last()).toHaveText('1');

    // The calendar editor: 120 euros from day+3 to day+5 (both included); the days around keep 95.50.
    await row.getByRole('link', { name: title, exact: true }).click();
    await page.getByRole('link', { name: 'Calendar of River apartment' }).click();
    await expect(page).toHaveURL(new RegExp(`/operator/listings/${listingId}/units/[0-9a-f-]{36}/calendar$`));
    const cal = page.getByTestId('calendar');
    await expect(cal.locator(`tr[data-date="${day(3)}"]`)).toContainText('€95.50');
    await page.getByLabel('From', { exact: true }).fill(day(3));
    await page.getByLabel('To', { exact: true }).fill(day(5));
    await page.getByLabel('Price', { exact: true }).fill('120');
    await page.getByRole('button', { name: 'Apply to range' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Updated 3 dates' })).toBeVisible();
    for (const n of [3, 4, 5]) await expect(cal.locator(`tr[data-date="${day(n)}"]`)).toContainText('€120.00');
    await expect(cal.locator(`tr[data-date="${day(2)}"]`)).toContainText('€95.50');
    await expect(cal.locator(`tr[data-date="${day(6)}"]`)).toContainText('€95.50');

    // Close one date; "To" before "From" is refused next to the field.
    await page.getByLabel('From', { exact: true }).fill(day(10));
    await page.getByLabel('To', { exact: true }).fill(day(9));
    await page.getByRole('button', { name: 'Apply to range' }).click();
    await expect(page.locator('#f-to-error')).toContainText('cannot be before');
    await page.getByLabel('To', { exact: true }).fill(day(10));
    await page.getByLabel('Closed', { exact: true }).check();
    await page.getByRole('button', { name: 'Apply to range' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Updated 1 date' })).toBeVisible();
    await expect(cal.locator(`tr[data-date="${day(10)}"]`)).toContainText('Closed');

    // The public listing page quotes the new price for those nights.
    await page.goto(`/listings/${listingId}?check_in=${day(3)}&check_out=${day(5)}&guests=2`);
    await expect(page.getByText('€240.00').first()).toBeVisible();

    // Edit: the form starts from the listing; a new title and no coordinates are saved.
    await page.goto(`/operator/listings/${listingId}`);
    await page.getByRole('link', { name: 'Edit listing' }).click();
    await expect(page.getByLabel('Title', { exact: true })).toHaveValue(title);
    await expect(page.getByLabel('Time zone', { exact: true })).toHaveValue('Europe/Lisbon');
    await expect(page.getByLabel('Currency', { exact: true })).toHaveAttribute('readonly');
    await page.getByLabel('Title', { exact: true }).fill(`${title} (renovated)`);
    await page.getByLabel('Latitude', { exact: true }).fill('');
    await page.getByLabel('Longitude', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect(page).toHaveURL(new RegExp(`/operator/listings/${listingId}\\?saved=1$`));
    await expect(page.getByRole('heading', { level: 1, name: `${title} (renovated)` })).toBeVisible();
    await expect(page.getByText('Rua do Rio 7, Porto, PT', { exact: true })).toBeVisible();

    // Archive asks first; afterwards the dashboard says Archived.
    await page.locator('summary', { hasText: 'Archive' }).click();
    await page.getByRole('button', { name: 'Yes, archive this listing' }).click();
    await expect(page.getByTestId('listing-status')).toHaveText('Archived');
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await expect(page.getByTestId('operator-listings').getByRole('row').filter({ hasText: title })).toContainText('Archived');
});

test('a traveller gets a 403 page, an anonymous visitor the log-in page', async ({ page }) => {
    await page.goto('/operator/bookings');
    await expect(page).toHaveURL(/\/login\?next=%2Foperator%2Fbookings$/);
    await signUp(page, 'Tara Traveller', false);
    await expect(page.getByRole('link', { name: 'Dashboard' })).toHaveCount(0);
    await page.goto('/operator');
    await expect(page.getByRole('heading', { name: 'Operators only' })).toBeVisible();
    await expect(page.locator('.alert[role=alert]')).toContainText('403');
});

/** A listing in UTC with one unit of two at 80 euros, through the operator pages; returns its id. */
async function newListing(page: Page, title: string): Promise<string> {
    await page.goto('/operator/listings/new');
    await page.getByLabel('Title', { exact: true }).fill(title);
    await page.getByLabel('Description', { exact: true }).fill('A quiet room by the park.');
    await page.getByLabel('City', { exact: true }).fill('Braga');
    await page.getByLabel('Country', { exact: true }).fill('Portugal');
    await page.getByLabel('Time zone', { exact: true }).fill('UTC');
    await page.getByLabel('Currency', { exact: true }).fill('EUR');
    await page.getByRole('button', { name: 'Create listing' }).click();
    await expect(page).toHaveURL(/\/operator\/listings\/[0-9a-f-]{36}\?created=1$/);
    await page.getByLabel('Unit name', { exact: true }).fill('Park room');
    await page.getByLabel('Quantity', { exact: true }).fill('2');
    await page.getByLabel('Base price', { exact: true }).fill('80');
    await page.getByRole('button', { name: 'Add unit' }).click();
    await expect(page.getByTestId('units')).toContainText('€80.00');
    return new URL(page.url()).pathname.split('/').pop() as string;
}

test('held and booked units, a refused quantity, Mark checked out, and a reply to the review', async ({ browser }) => {
    test.setTimeout(180_000);
    const op = await (await browser.newContext()).newPage();
    const guest = await (await browser.newContext()).newPage();
    const title = `Parque ${unique()}`;
    await signUp(op, 'Paula Operator', true);
    const listingId = await newListing(op, title);

    // The traveller reserves tonight (held until paid).
    await signUp(guest, 'Gil Guest', false);
    await guest.goto(`/listings/${listingId}?check_in=${day(0)}&check_out=${day(1)}&guests=2`);
    await guest.getByRole('button', { name: 'Reserve' }).first().click();
    await expect(guest).toHaveURL(/\/bookings\/[0-9a-f-]{36}$/);
    const reference = ((await guest.getByText(/Booking RM-/).textContent()) ?? '').match(/RM-[A-Z0-9]+/)?.[0] ?? '';
    expect(reference).not.toBe('');

    await op.getByRole('link', { name: 'Calendar of Park room' }).click();
    const tonight = op.getByTestId('calendar').locator(`tr[data-date="${day(0)}"]`);
    await expect(tonight.locator('td[data-label="Held"]')).toHaveText('1');
    await expect(tonight.locator('td[data-label="Left to sell"]')).toHaveText('1');
    await op.getByLabel('From', { exact: true }).fill(day(0));
    await op.getByLabel('To', { exact: true }).fill(day(1));
    await op.getByLabel('Quantity', { exact: true }).fill('0');
    await op.getByRole('button', { name: 'Apply to range' }).click();
    await expect(op.locator('.alert[role=alert]')).toContainText('Nothing was changed');
    await expect(op.locator('.alert[role=alert]')).toContainText('held or booked');
    await expect(tonight.locator('td[data-label="Quantity"]')).toHaveText('2');

    // Paid: the booking is confirmed, and the operator marks the stay checked out.
    await guest.getByLabel('Card number').fill('4242 4242 4242 4242');
    await guest.getByLabel('Expiry month').fill('12');
    await guest.getByLabel('Expiry year').fill(String(new Date().getUTCFullYear() + 3));
    await guest.getByLabel('CVC').fill('123');
    await guest.getByRole('button', { name: /^Pay/ }).click();
    await expect(guest.getByRole('status').filter({ hasText: 'Confirmed' })).toBeVisible({ timeout: 30_000 });

    await op.reload();
    await expect(tonight.locator('td[data-label="Booked"]')).toHaveText('1');
    await expect(tonight.locator('td[data-label="Held"]')).toHaveText('0');
    await op.getByRole('link', { name: 'Bookings', exact: true }).click();
    const row = op.getByRole('row').filter({ hasText: reference });
    await expect(row).toContainText('Gil Guest');
    await expect(row).toContainText('Confirmed');
    await expect(row).toContainText('€80.00');
    await row.getByRole('button', { name: 'Mark checked out' }).click();
    await expect(op.getByRole('row').filter({ hasText: reference })).toContainText('Completed');
    await expect(op.getByRole('row').filter({ hasText: reference }).getByRole('button', { name: 'Mark checked out' })).toHaveCount(0);
    // The status filter finds it among the completed ones.
    await op.getByLabel('Status').selectOption('completed');
    await op.getByRole('button', { name: 'Show' }).click();
    await expect(op).toHaveURL(/status=completed/);
    await expect(op.getByRole('row').filter({ hasText: reference })).toBeVisible();

    // The guest reviews the stay; the operator replies from Reviews; the reply is on the listing page.
    await guest.goto('/trips');
    await guest.getByRole('link', { name: `Write a review of ${title}` }).click();
    await guest.getByRole('radio', { name: /^1 star/ }).focus();
    for (let i = 0; i < 3; i++) await guest.keyboard.press('ArrowRight');
    await expect(guest.getByRole('radio', { name: /^4 stars/ })).toBeChecked();
    await guest.getByLabel('Title').fill('Green and quiet');
    await guest.getByLabel('Your review').fill('Birdsong in the morning, a friendly welcome.');
    await guest.getByRole('button', { name: 'Post review' }).click();
    await expect(guest).toHaveURL(/\/trips\?reviewed=/);

    await op.getByRole('link', { name: 'Reviews', exact: true }).click();
    const review = op.getByRole('article', { name: 'Green and quiet' });
    await expect(review).toContainText('Gil Guest');
    await review.getByLabel('Your reply').fill('Thank you, Gil! Come back in spring.');
    await review.getByRole('button', { name: 'Post reply' }).click();
    await expect(op.getByRole('article', { name: 'Green and quiet' })).toContainText('Thank you, Gil! Come back in spring.');
    await expect(op.getByRole('article', { name: 'Green and quiet' }).getByRole('button', { name: 'Post reply' })).toHaveCount(0);
    await guest.goto(`/listings/${listingId}`);
    await expect(guest.getByText('Thank you, Gil! Come back in spring.')).toBeVisible();
});

test.describe('without JavaScript', () => {
    test.use({ javaScriptEnabled: false });

    test('the operator forms post to server actions and answer in the page', async ({ page }) => {
        await page.goto('/signup');
        await page.getByLabel('Your name').fill('Nora NoScript');
        await page.getByLabel('Email').fill(`nojs-${unique()}@example.com`);
        await page.getByLabel('Password').fill('correct horse battery');
        await page.getByRole('radio', { name: /list my stays/ }).check();
        await page.getByRole('button', { name: 'Create account' }).click();
        await page.goto('/operator/listings/new');
        await page.getByLabel('Title', { exact: true }).fill('Quiet House');
        await page.getByLabel('Description', { exact: true }).fill('No scripts needed.');
        await page.getByLabel('City', { exact: true }).fill('Faro');
        await page.getByLabel('Country', { exact: true }).fill('PT');
        await page.getByLabel('Time zone', { exact: true }).fill('Bad/Zone');
        await page.getByRole('button', { name: 'Create listing' }).click();
        await expect(page.locator('#f-timezone-error')).toContainText('time zone');
        await expect(page.getByLabel('Title', { exact: true })).toHaveValue('Quiet House');
        await page.getByLabel('Time zone', { exact: true }).fill('UTC');
        await page.getByRole('button', { name: 'Create listing' }).click();
        await expect(page).toHaveURL(/\?created=1$/);
        await page.getByLabel('Unit name', { exact: true }).fill('Room');
        await page.getByLabel('Base price', { exact: true }).fill('70');
        await page.getByRole('button', { name: 'Add unit' }).click();
        await expect(page.getByTestId('units')).toContainText('€70.00');
        await page.getByRole('link', { name: 'Calendar of Room' }).click();
        await page.getByLabel('Price', { exact: true }).fill('75');
        await page.getByRole('button', { name: 'Apply to range' }).click();
        await expect(page.getByText('Updated 7 dates.')).toBeVisible();
        await expect(page.getByTestId('calendar').locator(`tr[data-date="${day(0)}"]`)).toContainText('€75.00');
    });
});
