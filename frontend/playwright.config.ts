import { defineConfig } from '@playwright/test';

// Browser tests against a running web app (WEB_URL), started with its stack
// by tests/integration/test_webapp.py. Debian's chromium, never a download.
export default defineConfig({
    testDir: './e2e',
    timeout: 60_000,
    retries: 0,
    workers: 1,
    reporter: 'list',
    use: {
        baseURL: process.env.WEB_URL ?? 'http://127.0.0.1:3000',
        launchOptions: {
            executablePath: process.env.ROAM_CHROMIUM ?? '/usr/bin/chromium',
            args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
                '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
        },
        trace: 'off',
    },
});
