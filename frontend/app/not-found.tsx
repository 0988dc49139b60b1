import Link from 'next/link';

export default function NotFound() {
    return (
        <div className="container empty" style={{ marginTop: '2rem' }}>
            <h1>We could not find that page</h1>
            <p>The listing may have been removed, or the address is mistyped.</p>
            <Link href="/" className="button button-primary">
                Search for a place to stay
            </Link>
        </div>
    );
}
