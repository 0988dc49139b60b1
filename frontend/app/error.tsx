'use client';
import Link from 'next/link';

export default function ErrorPage({ reset }: { error: Error; reset: () => void }) {
    return (
        <div className="container empty" style={{ marginTop: '2rem' }} role="alert">
            <h1>Roam is not reachable right now</h1>
            <p>This is on our side, not yours. Please try again in a moment.</p>
            <p style={{ display: 'flex', gap: '1rem', justifyContent: 'center' }}>
                <button type="button" className="button button-primary" onClick={() => reset()}>
                    Try again
                </button>
                <Link href="/" className="button button-quiet">
                    Home
                </Link>
            </p>
        </div>
    );
}
