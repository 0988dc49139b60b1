// GET /search/more?<the search>&cursor=: the next page of results for "Load more results".
import { api, ApiError } from '@/lib/api';
import { todayIso } from '@/lib/dates';
import { parseSearch, type RawQuery } from '@/lib/search';

export async function GET(req: Request) {
    const raw: RawQuery = Object.fromEntries(new URL(req.url).searchParams);
    const { params, errors } = parseSearch(raw, todayIso());
    if (Object.keys(errors).length > 0 || !params.cursor) return Response.json({ code: 'validation_failed' }, { status: 422 });
    try {
        const page = await api.searchListings(params);
        return Response.json({ items: page.items, next_cursor: page.next_cursor }, { headers: { 'Cache-Control': 'no-store' } });
    } catch (err) {
        const status = err instanceof ApiError && err.status < 500 ? err.status : 503;
        return Response.json({ code: err instanceof ApiError ? err.code : 'upstream_unavailable' }, { status });
    }
}
