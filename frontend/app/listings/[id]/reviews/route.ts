// The next page of a listing's reviews for the listing page's "More reviews"
// (the browser never calls the gateway itself).
import { NextResponse, type NextRequest } from 'next/server';
import { api, ApiError } from '@/lib/api';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SORTS = new Set(['newest', 'rating_desc', 'rating_asc']);

export async function GET(req: NextRequest, { params }: { params: Promise<{ id: string }> }) {
    const { id } = await params;
    if (!UUID_RE.test(id)) return NextResponse.json({ error: 'not_found' }, { status: 404 });
    const sortParam = req.nextUrl.searchParams.get('sort') ?? 'newest';
    const sort = SORTS.has(sortParam) ? sortParam : 'newest';
    const cursor = req.nextUrl.searchParams.get('cursor') ?? undefined;
    try {
        const page = await api.reviews(id, { sort, limit: 10, cursor });
        return NextResponse.json({ items: page.items, next_cursor: page.next_cursor }, { headers: { 'Cache-Control': 'no-store' } });
    } catch (err) {
        const status = err instanceof ApiError && err.status < 500 ? err.status : 503;
        return NextResponse.json({ error: err instanceof ApiError ? err.code : 'internal_error' }, { status });
    }
}
