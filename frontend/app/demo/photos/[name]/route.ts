// Placeholder photos for the demo catalogue: /demo/photos/hotel-3.svg and the like.
import { placeholderSvg } from '@/lib/placeholder';

export async function GET(_request: Request, { params }: { params: Promise<{ name: string }> }) {
    const { name } = await params;
    const m = /^([a-z0-9-]{1,64})\.svg$/.exec(name);
    if (!m) return new Response('Not found', { status: 404 });
    const caption = new URL(_request.url).searchParams.get('label') ?? undefined;
    return new Response(placeholderSvg(m[1], caption?.slice(0, 40)), {
        headers: { 'Content-Type': 'image/svg+xml; charset=utf-8', 'Cache-Control': 'public, max-age=86400' },
    });
}
