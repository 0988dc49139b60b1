// A month of availability as a table: open dates with rooms left, closed or
// sold-out dates struck through, the chosen stay outlined.
import type { AvailabilityDay } from '@/lib/api';
import { monthGrid } from '@/lib/dates';
import { formatMoney } from '@/lib/money';

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export function MonthCalendar({ year, month, days, today, chosen }: { year: number; month: number; days: Map<string, AvailabilityDay[]>; today: string; chosen?: [string, string] }) {
    const title = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(Date.UTC(year, month, 1));
    return (
        <table className="calendar">
            <caption>{title}</caption>
            <thead>
                <tr>
                    {WEEKDAYS.map((d) => (
                        <th key={d} scope="col">
                            {d}
                        </th>
                    ))}
                </tr>
            </thead>
            <tbody>
                {monthGrid(year, month).map((week, i) => (
                    <tr key={i}>
                        {week.map((date, j) => {
                            if (!date) return <td key={j} />;
                            const entries = days.get(date) ?? [];
                            const open = entries.some((e) => !e.closed && e.available > 0);
                            const cheapest = entries.filter((e) => !e.closed && e.available > 0).sort((a, b) => a.price.amount - b.price.amount)[0];
                            const past = date < today;
                            const inStay = chosen && date >= chosen[0] && date < chosen[1];
                            const cls = [past ? 'past' : open ? 'open' : entries.length ? 'closed' : '', inStay ? 'chosen' : ''].join(' ').trim();
                            const label = past ? 'past' : open ? `available from ${formatMoney(cheapest!.price)}` : entries.length ? 'not available' : 'no data';
                            return (
                                <td key={j} className={cls || undefined} title={label}>
                                    <span aria-hidden="true">{Number(date.slice(8))}</span>
                                    <span className="visually-hidden">
                                        {date}: {label}
                                    </span>
                                </td>
                            );
                        })}
                    </tr>
                ))}
            </tbody>
        </table>
    );
}
