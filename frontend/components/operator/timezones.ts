// The IANA zone names this runtime knows, for the time zone field's suggestions
// (the API accepts the names PostgreSQL knows; the two lists agree on Area/Location names).
export function timeZoneNames(): string[] {
    try {
        const zones = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
        return ['UTC', ...zones.filter((z) => z.includes('/'))];
    } catch {
        return ['UTC'];
    }
}
