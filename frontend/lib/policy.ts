import type { Listing } from './api';

/** The cancellation policy in plain words. */
export function describePolicy(l: Pick<Listing, 'cancellation_policy' | 'type'>): string {
    const { free_cancellation_hours: hours, refund_percent_after: pct } = l.cancellation_policy;
    const after = pct === 0 ? 'after that, there is no refund' : pct === 100 ? 'after that, you still get a full refund' : `after that, you get ${pct}% back`;
    if (hours <= 0) return pct === 100 ? 'Cancel any time before check-in for a full refund.' : `No free cancellation: if you cancel, ${pct === 0 ? 'there is no refund' : `you get ${pct}% back`}.`;
    const when = hours % 24 === 0 ? `${hours / 24} ${hours === 24 ? 'day' : 'days'}` : `${hours} hours`;
    return `Free cancellation until ${when} before the start date (midnight, local time); ${after}.`;
}
