import type { Metadata } from 'next';
import Link from 'next/link';
import { Forbidden, operatorContext, ownListing } from '@/components/operator/guard';
import { listingToValues } from '@/components/operator/forms';
import { ListingForm } from '@/components/operator/ListingForm';
import { timeZoneNames } from '@/components/operator/timezones';

export const metadata: Metadata = { title: 'Edit listing' };

type Params = Promise<{ id: string }>;

export default async function EditListingPage({ params }: { params: Params }) {
    const { id } = await params;
    const ctx = await operatorContext(`/operator/listings/${id}/edit`);
    if (!ctx) return <Forbidden />;
    const l = await ownListing(id, ctx.user.id);
    return (
        <div className="container op-page">
            <p>
                <Link href={`/operator/listings/${l.id}`}>← {l.title}</Link>
            </p>
            <h1>Edit listing</h1>
            {l.status === 'archived' && (
                <div className="alert alert-info">This listing is archived: changes matter for bookings already made; it stays out of search.</div>
            )}
            <ListingForm mode="update" listingId={l.id} initial={listingToValues(l)} timeZones={timeZoneNames()} hasUnits={l.units.length > 0} />
        </div>
    );
}
