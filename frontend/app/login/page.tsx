import type { Metadata } from 'next';
import Link from 'next/link';
import { redirect } from 'next/navigation';
import { LogInForm } from '@/components/AuthForms';
import { currentUser } from '@/lib/auth';

export const metadata: Metadata = { title: 'Log in' };

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ next?: string }> }) {
    const { next } = await searchParams;
    const target = next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
    if (await currentUser()) redirect(target);
    return (
        <div className="auth-page container">
            <h1>Log in</h1>
            <LogInForm next={target} />
            <p>
                New to Roam? <Link href={`/signup${next ? `?next=${encodeURIComponent(target)}` : ''}`}>Create an account</Link>
            </p>
        </div>
    );
}
