// GET /bookings/{id}/status: the booking's status for the confirmation poller, with the session cookie's token.
import { api, ApiError } from '@/lib/api';
import { accessToken } from '@/lib/auth';

export async function GET(_req: Request, { params }: { params: Promise<{ id: string }> }) {
    const { id } = await params;
    const token = await accessToken();
    if (!token) return Response.json({ code: 'unauthorized' }, { status: 401 });
    try {
        const b = await api.booking(token, id);
        return Response.json({ status: b.status }, { headers: { 'Cache-Control': 'no-store' } });
    } catch (err) {
        const status = err instanceof ApiError ? err.status : 502;
        return Response.json({ code: err instanceof ApiError ? err.code : 'upstream_unavailable' }, { status });
    }
}
