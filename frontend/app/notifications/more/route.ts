// GET /notifications/more?cursor=: the next page of the caller's notifications for "Load more".
import { api, ApiError } from '@/lib/api';
import { accessToken } from '@/lib/auth';

export async function GET(req: Request) {
    const token = await accessToken();
    if (!token) return Response.json({ code: 'unauthorized' }, { status: 401 });
    const cursor = new URL(req.url).searchParams.get('cursor') || undefined;
    try {
        const page = await api.notifications(token, { limit: 20, cursor });
        return Response.json({ items: page.items, next_cursor: page.next_cursor }, { headers: { 'Cache-Control': 'no-store' } });
    } catch (err) {
        const status = err instanceof ApiError && err.status < 500 ? err.status : 503;
        return Response.json({ code: err instanceof ApiError ? err.code : 'upstream_unavailable' }, { status });
    }
}
