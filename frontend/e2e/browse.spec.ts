// A traveller finds a listing, opens it and prices a stay; then signs up,
// sees their name in the header and logs out. WEB_CITY and WEB_TITLE name a
// listing the test set-up created through the API.
import { expect, test } from '@playwright/test';

const city = process.env.WEB_CITY ?? 'Lisbon';
const title = process.env.WEB_TITLE ?? '';

function day(n: number): string {
    const d = new Date();
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
}

test('search for a city, open a listing and see the price for the stay', async ({ page }) => {
    await page.goto('/');
    // The destination box suggests cities as one types (keyboard: arrow down, Enter).
    const where = page.getByRole('combobox', { name: 'Where to?' });
    await where.pressSequentially(city.slice(0, 6), { delay: 30 });
    await expect(page.getByRole('option', { name: new RegExp(city) })).toBeVisible();
    await where.press('ArrowDown');
    await where.press('Enter');
    await expect(where).toHaveValue(city);
    await page.getByLabel('Check-in').fill(day(12));
    await page.getByLabel('Check-out').fill(day(15));
    await page.getByLabel('Guests').fill('2');
    await page.getByRole('button', { name: 'Search' }).click();

    await expect(page).toHaveURL(/\/search\?/);
    const url = new URL(page.url());
    expect(url.searchParams.get('city')).toBe(city);
    expect(url.searchParams.get('check_in')).toBe(day(12));
    const card = page.getByRole('link', { name: title });
    await expect(card).toBeVisible();
    await expect(page.getByText('for 3 nights').first()).toBeVisible();
    await card.click();

    await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();
    await expect(page.getByText('total for your stay').first()).toBeVisible();
    await expect(page.getByRole('heading', { name: 'Cancellation' })).toBeVisible();
    await expect(page.getByText(/Free cancellation until 1 day before/)).toBeVisible();
});

test('"Load more results" adds the next page under the first, and without JavaScript links to it', async ({ browser }) => {
    const many = process.env.WEB_MANY_CITY;
    test.skip(!many, 'WEB_MANY_CITY names a city with more listings than one page of results (12)');
    const href = `/search?city=${encodeURIComponent(many!)}&sort=price_asc`;
    const cards = (p: import('@playwright/test').Page) => p.getByRole('list', { name: 'Results' }).getByRole('listitem');

    const withJs = await browser.newPage();
    await withJs.goto(href);
    await expect(cards(withJs)).toHaveCount(12);
    await withJs.getByRole('link', { name: 'Load more results' }).click();
    await expect(cards(withJs)).toHaveCount(23);
    await expect(cards(withJs).first()).toContainText('Manyville Inn 01'); // the first page is still there
    await expect(cards(withJs).last()).toContainText('Manyville Inn 23');
    await expect(withJs.getByRole('link', { name: 'Load more results' })).toHaveCount(0);
    expect(new URL(withJs.url()).searchParams.get('cursor')).toBeNull();

    const context = await browser.newContext({ javaScriptEnabled: false });
    const noJs = await context.newPage();
    await noJs.goto(href);
    await noJs.getByRole('link', { name: 'Load more results' }).click();
    await expect(noJs).toHaveURL(/cursor=/);
    await expect(cards(noJs)).toHaveCount(11);
    await expect(noJs.getByRole('link', { name: 'Back to the first results' })).toBeVisible();
    await context.close();
});

test('a stay that ends before it starts is explained next to the field', async ({ page }) => {
    await page.goto(`/search?city=${encodeURIComponent(city)}&check_in=${day(15)}&check_out=${day(12)}`);
    const checkOut = page.getByLabel('Check-out');
    await expect(checkOut).toHaveAttribute('aria-invalid', 'true');
    await expect(page.locator('#sf-check_out-error')).toHaveText('Check-out must be after check-in.');
});

test('sign up, see your name, log out', async ({ page, context }) => {
    const email = `web-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
    await page.goto('/signup');
    await page.getByLabel('Your name').fill('Wanda Web');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.locator('#f-password-error')).toHaveText('Use at least 10 characters.');

    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByText('Signed in as')).toContainText('Wanda Web');
    const cookies = await context.cookies();
    const at = cookies.find((c) => c.name === 'roam_at');
    expect(at?.httpOnly).toBe(true);
    expect(at?.sameSite).toBe('Lax');
    expect(await page.evaluate(() => document.cookie)).not.toContain('roam_');

    // The same email again: the API's 409 shows next to the email field.
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page.getByRole('link', { name: 'Log in' })).toBeVisible();
    await page.goto('/signup');
    await page.getByLabel('Your name').fill('Wanda Again');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.locator('#f-email-error')).toHaveText('An account with this email already exists.');

    await page.goto('/login');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('wrong password!');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.locator('.alert-error')).toContainText('do not match');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.getByText('Signed in as')).toContainText('Wanda Web');
});

test('an expired access token is refreshed silently', async ({ page, context }) => {
    const email = `refresh-${Date.now()}@example.com`;
    await page.goto('/signup');
    await page.getByLabel('Your name').fill('Rita Refresh');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByText('Signed in as')).toContainText('Rita Refresh');
    const before = (await context.cookies()).find((c) => c.name === 'roam_rt')!;

    // Drop the access token as if it had expired: the refresh cookie alone must keep the session.
    await context.clearCookies({ name: 'roam_at' });
    await page.goto('/');
    await expect(page.getByText('Signed in as')).toContainText('Rita Refresh');
    const after = await context.cookies();
    expect(after.find((c) => c.name === 'roam_at')).toBeDefined();
    expect(after.find((c) => c.name === 'roam_rt')!.value).not.toBe(before.value);
});

test('the results page fits a phone screen', async ({ page }) => {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`/search?city=${encodeURIComponent(city)}`);
    await expect(page.getByRole('link', { name: title })).toBeVisible();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
});
