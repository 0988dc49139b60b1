import type { Metadata } from 'next';
import Link from 'next/link';
import { Forbidden, operatorContext } from '@/components/operator/guard';
import { ListingForm } from '@/components/operator/ListingForm';
import { timeZoneNames } from '@/components/operator/timezones';

export const metadata: Metadata = { title: 'New listing' };

export default async function NewListingPage() {
    const ctx = await operatorContext('/operator/listings/new');
    if (!ctx) return <Forbidden />;
    return (
        <div className="container op-page">
            <p>
                <Link href="/operator">← Your listings</Link>
            </p>
            <h1>New listing</h1>
            <p className="muted">It goes live in search as soon as it has a unit with a price.</p>
            <ListingForm mode="create" timeZones={timeZoneNames()} />
        </div>
    );
}
