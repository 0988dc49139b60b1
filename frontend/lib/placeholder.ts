// Generated SVG pictures for the demo catalogue's photo paths
// (/demo/photos/<kind>-<n>.svg) and for listings without photos: a calm
// landscape whose colours follow the name, so each path always looks the same.

function hash(s: string): number {
    let h = 2166136261;
    for (let i = 0; i < s.length; i++) {
        h ^= s.charCodeAt(i);
        h = Math.imul(h, 16777619);
    }
    return h >>> 0;
}

const LABELS: Record<string, string> = { hotel: 'Hotel', apartment: 'Apartment', tour: 'Tour', activity: 'Activity', city: '' };

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function placeholderSvg(name: string, caption?: string): string {
    const h = hash(name);
    const hue = h % 360;
    const hue2 = (hue + 40 + (h >> 9) % 60) % 360;
    const kind = name.split('-')[0];
    const label = caption ?? LABELS[kind] ?? '';
    const sunX = 120 + ((h >> 3) % 560);
    const ridge = 230 + ((h >> 11) % 60);
    return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 500" width="800" height="500" role="img" aria-label="${escapeXml(label || 'Photo')}">
<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="hsl(${hue} 65% 72%)"/><stop offset="1" stop-color="hsl(${hue2} 70% 88%)"/></linearGradient></defs>
<rect width="800" height="500" fill="url(#sky)"/>
<circle cx="${sunX}" cy="130" r="48" fill="hsl(${(hue + 180) % 360} 90% 92%)" opacity="0.9"/>
<path d="M0 ${ridge + 60} L160 ${ridge} L300 ${ridge + 50} L470 ${ridge - 40} L620 ${ridge + 30} L800 ${ridge - 10} L800 500 L0 500Z" fill="hsl(${hue2} 35% 45%)"/>
<path d="M0 ${ridge + 130} L220 ${ridge + 80} L420 ${ridge + 120} L600 ${ridge + 70} L800 ${ridge + 110} L800 500 L0 500Z" fill="hsl(${hue2} 40% 32%)"/>
${label ? `<text x="400" y="468" text-anchor="middle" font-family="system-ui, sans-serif" font-size="30" font-weight="600" fill="#fff" opacity="0.9">${escapeXml(label)}</text>` : ''}
</svg>`;
}

/** A photo URL for a listing: its own, or a generated one named after it. */
export function photoUrl(url: string | null | undefined, seed: string): string {
    if (url && (url.startsWith('/') || /^https?:\/\//.test(url))) return url;
    return `/demo/photos/listing-${seed.replace(/[^a-z0-9]/gi, '').slice(0, 12).toLowerCase()}.svg`;
}
