import type { Metadata } from 'next';
import Link from 'next/link';
import { redirect } from 'next/navigation';
import { SignUpForm } from '@/components/AuthForms';
import { currentUser } from '@/lib/auth';

export const metadata: Metadata = { title: 'Create an account' };

export default async function SignupPage({ searchParams }: { searchParams: Promise<{ next?: string }> }) {
    const { next } = await searchParams;
    const target = next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
    if (await currentUser()) redirect(target);
    return (
        <div className="auth-page container">
            <h1>Create your account</h1>
            <SignUpForm next={target} />
            <p>
                Already have an account? <Link href={`/login${next ? `?next=${encodeURIComponent(target)}` : ''}`}>Log in</Link>
            </p>
        </div>
    );
}
