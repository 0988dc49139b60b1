// Destination suggestions for the search box, fetched by the browser from
// the web app (the gateway's address stays on the server).
import { api, ApiError } from '@/lib/api';

export async function GET(request: Request) {
    const q = new URL(request.url).searchParams.get('q')?.trim() ?? '';
    if (!q) return Response.json({ items: [] });
    try {
        const body = await api.suggest(q.slice(0, 100));
        return Response.json(body, { headers: { 'Cache-Control': 'public, max-age=60' } });
    } catch (err) {
        const status = err instanceof ApiError && err.status < 500 ? err.status : 503;
        return Response.json({ items: [] }, { status });
    }
}
