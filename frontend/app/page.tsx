import Link from 'next/link';
import { SearchForm } from '@/components/SearchForm';
import { todayIso } from '@/lib/dates';

const FEATURED = [
    { city: 'Paris', country: 'France' },
    { city: 'Lisbon', country: 'Portugal' },
    { city: 'Rome', country: 'Italy' },
    { city: 'Barcelona', country: 'Spain' },
    { city: 'Amsterdam', country: 'Netherlands' },
    { city: 'New York', country: 'United States' },
    { city: 'Zürich', country: 'Switzerland' },
    { city: 'Edinburgh', country: 'United Kingdom' },
];

export default function Home() {
    const today = todayIso();
    return (
        <>
            <section className="hero">
                <div className="container">
                    <h1>Stays and experiences, priced for your dates</h1>
                    <p>Hotels, apartments, tours and activities from local operators. The price you see is the price for the whole stay.</p>
                    <SearchForm today={today} />
                </div>
            </section>
            <section className="section container" aria-labelledby="featured">
                <h2 id="featured">Popular destinations</h2>
                <ul className="destinations">
                    {FEATURED.map((d) => (
                        <li key={d.city}>
                            <Link className="destination" href={`/search?city=${encodeURIComponent(d.city)}`}>
                                <img src={`/demo/photos/city-${encodeURIComponent(d.city.toLowerCase().replace(/[^a-z]/g, ''))}.svg?label=${encodeURIComponent(d.city)}`} alt="" />
                                <span>
                                    {d.city}
                                    <small>{d.country}</small>
                                </span>
                            </Link>
                        </li>
                    ))}
                </ul>
            </section>
        </>
    );
}
