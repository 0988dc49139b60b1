// My trips: the caller's bookings grouped as a traveller thinks of them.

export interface TripLike {
    id: string;
    status: string;
    check_in: string; // YYYY-MM-DD
    check_out: string; // YYYY-MM-DD
}

export interface TripGroups<T> {
    upcoming: T[];
    past: T[];
    cancelled: T[];
}

/** Groups bookings by status and dates relative to `today` (YYYY-MM-DD). Cancelled and expired ones go to
 *  `cancelled`; completed ones and any whose check-out has passed to `past`; the rest (pending, failed payment,
 *  confirmed, including a stay in progress) to `upcoming`. Upcoming is soonest first, the others newest first. */
export function groupTrips<T extends TripLike>(bookings: readonly T[], today: string): TripGroups<T> {
    const groups: TripGroups<T> = { upcoming: [], past: [], cancelled: [] };
    for (const b of bookings) {
        if (b.status === 'cancelled' || b.status === 'expired') groups.cancelled.push(b);
        else if (b.status === 'completed' || b.check_out <= today) groups.past.push(b);
        else groups.upcoming.push(b);
    }
    const asc = (a: T, b: T) => (a.check_in < b.check_in ? -1 : a.check_in > b.check_in ? 1 : 0);
    groups.upcoming.sort(asc);
    groups.past.sort((a, b) => asc(b, a));
    groups.cancelled.sort((a, b) => asc(b, a));
    return groups;
}
