// Hold countdown: how long a pending booking stays held, as people read it.

/** Milliseconds left until `expiresAt` (an RFC 3339 time) at `now`; never negative. */
export function msLeft(expiresAt: string, now: number): number {
    const end = Date.parse(expiresAt);
    if (Number.isNaN(end)) return 0;
    return Math.max(0, end - now);
}

/** "14:05" (minutes:seconds) for under an hour, "1:02:03" above; "0:00" once expired. Rounds up to the second. */
export function formatCountdown(ms: number): string {
    const total = Math.max(0, Math.ceil(ms / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const ss = String(s).padStart(2, '0');
    if (h > 0) return `${h}:${String(m).padStart(2, '0')}:${ss}`;
    return `${m}:${ss}`;
}
