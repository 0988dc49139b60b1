// One unit's calendar as the operator sees it: for each date the price,
// whether it is closed, and how its quantity splits into held, booked and
// still sellable. The API's availability gives price, closed and `available`
// (quantity minus held and booked); held and booked come from the bookings on
// the listing, so quantity = available + held + booked.
import type { AvailabilityDay, Booking, Money } from '@/lib/api';
import { addDays } from '@/lib/dates';

export interface CalendarRow {
    date: string;
    price: Money;
    closed: boolean;
    available: number;
    held: number;
    booked: number;
    quantity: number;
}

/** Units a booking occupies on each of its nights: held while unpaid and its hold runs, booked once confirmed. */
export function occupancy(b: Pick<Booking, 'status' | 'hold_expires_at'>, now: number): 'held' | 'booked' | null {
    if (b.status === 'confirmed' || b.status === 'completed') return 'booked';
    if ((b.status === 'pending_payment' || b.status === 'payment_failed') && b.hold_expires_at && Date.parse(b.hold_expires_at) > now) return 'held';
    return null;
}

export function calendarRows(
    days: AvailabilityDay[],
    bookings: Pick<Booking, 'unit_id' | 'status' | 'hold_expires_at' | 'check_in' | 'check_out' | 'quantity'>[],
    unitId: string,
    now: number = Date.now(),
): CalendarRow[] {
    const held = new Map<string, number>();
    const booked = new Map<string, number>();
    for (const b of bookings) {
        if (b.unit_id !== unitId) continue;
        const kind = occupancy(b, now);
        if (!kind) continue;
        const into = kind === 'held' ? held : booked;
        for (let d = b.check_in; d < b.check_out; d = addDays(d, 1)) into.set(d, (into.get(d) ?? 0) + b.quantity);
    }
    return days
        .filter((d) => d.unit_id === unitId)
        .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0))
        .map((d) => {
            const h = held.get(d.date) ?? 0;
            const k = booked.get(d.date) ?? 0;
            return { date: d.date, price: d.price, closed: d.closed, available: d.available, held: h, booked: k, quantity: d.available + h + k };
        });
}
