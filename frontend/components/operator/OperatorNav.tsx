'use client';
// The back office's sections; the current one is marked for screen readers too.
import Link from 'next/link';
import { usePathname } from 'next/navigation';

const SECTIONS = [
    { href: '/operator', label: 'Listings' },
    { href: '/operator/bookings', label: 'Bookings' },
    { href: '/operator/reviews', label: 'Reviews' },
];

export function OperatorNav() {
    const path = usePathname() ?? '';
    const current = (href: string) => (href === '/operator' ? path === '/operator' || path.startsWith('/operator/listings') : path.startsWith(href));
    return (
        <nav aria-label="Operator" className="op-nav">
            <ul className="container">
                {SECTIONS.map((s) => (
                    <li key={s.href}>
                        <Link href={s.href} aria-current={current(s.href) ? 'page' : undefined}>
                            {s.label}
                        </Link>
                    </li>
                ))}
            </ul>
        </nav>
    );
}
